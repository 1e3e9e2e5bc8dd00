"""The shared SSE decoder: line endings, fields, dispatch, and the same
events however the bytes are split."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.protocol import ContentDelta
from loadtest.protocol._sse import SSEDecoder, SSEEvent
from loadtest.testing import split_everywhere
from tests.unit.protocol.recorded import cut, stream_parser

# Every rule at once: comments, names, ids, retries, unknown fields, a field
# with no colon, multi-line data, missing space, two spaces, extra blank
# lines, an event without data, invalid UTF-8 passed through as bytes, and
# an unterminated last event.
MIXED = (
    b": keep-alive\n"
    b"\n"
    b"event: greeting\n"
    b"id: 7\n"
    b"retry: 1000\n"
    b'data: {"a":1}\n'
    b"\n"
    b"\n\n"
    b"data:first\n"
    b"data:  second\n"
    b"data\n"
    b"whatever: ignored\n"
    b"\n"
    b"event: nothing-to-say\n"
    b"\n"
    b"data: \xff\xfe\n"
    b"\n"
    b"data: [DONE]"
)
MIXED_EVENTS = [
    (b"greeting", b'{"a":1}'),
    (b"", b"first\n second\n"),
    (b"", b"\xff\xfe"),
    (b"", b"[DONE]"),
]


def decode(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.end()


def test_whole_event_is_decoded_at_once() -> None:
    """`data: {...}\\n\\n` arriving whole yields its event from that feed."""
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"x": 1}\n\n') == [(b"", b'{"x": 1}')]
    assert decoder.end() == []


def test_several_events_in_one_read() -> None:
    """Several events in one read come out in order."""
    events = SSEDecoder().feed(b"data: 1\n\nevent: e\ndata: 2\n\ndata: 3\n\n")
    assert events == [(b"", b"1"), (b"e", b"2"), (b"", b"3")]


def test_every_field_rule() -> None:
    """Comments, id, retry and unknown fields are ignored; data lines join
    with \\n; one leading space is dropped; an event without data is not
    dispatched; a last event without its blank line is flushed by end()."""
    assert decode([MIXED]) == MIXED_EVENTS


def test_event_is_held_until_its_blank_line() -> None:
    """A complete line is not an event until the blank line arrives."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n") == []
    assert decoder.feed(b"\n") == [(b"", b"1")]


def test_empty_reads_change_nothing() -> None:
    """An empty read yields nothing, even right after a read ending in \\r."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n\r\n") == [(b"", b"1")]


def test_crlf_split_between_reads_is_one_line_end() -> None:
    """A \\r ending one read and a \\n opening the next end one line, not two
    (two would dispatch the event early, or an empty one)."""
    assert decode([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == [(b"", b"a\nb")]


def test_lone_cr_line_ends() -> None:
    """Lone \\r line ends work like \\n, also between reads."""
    assert decode([b"event: x\rdata: 1\r", b"\rdata: 2\r\r"]) == [(b"x", b"1"), (b"", b"2")]


def test_end_flushes_a_pending_line_and_resets() -> None:
    """end() dispatches an event still open, and the decoder starts afresh."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: tail\n") == []
    assert decoder.end() == [(b"", b"tail")]
    assert decoder.end() == []
    assert decoder.feed(b"data: next\n\n") == [(b"", b"next")]


def test_blank_line_split_across_reads_with_pending_data() -> None:
    """A blank line whose two \\n arrive in different reads dispatches once,
    including when the event was itself assembled from several reads."""
    assert decode([b"da", b"ta: x", b"\n", b"\ndata: y\n", b"\n"]) == [(b"", b"x"), (b"", b"y")]


def test_split_invariance_at_every_offset() -> None:
    """Every two-read split and byte-by-byte feeding give the same events,
    with \\n, \\r\\n and lone \\r line ends."""
    for data in (MIXED, MIXED.replace(b"\n", b"\r\n"), MIXED.replace(b"\n", b"\r")):
        for chunks in split_everywhere(data):
            assert decode(chunks) == MIXED_EVENTS, chunks


@given(st.data())
def test_split_invariance_at_chosen_offsets(data: st.DataObject) -> None:
    """Any number of reads, cut anywhere (Hypothesis-chosen), gives the same events."""
    body = data.draw(st.sampled_from([MIXED, MIXED.replace(b"\n", b"\r\n")]))
    offsets = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
    assert decode(cut(body, offsets)) == MIXED_EVENTS


def test_event_line_then_data_line() -> None:
    """`event:` then one `data:` line is read in one step; other shapes
    (several data lines, fields in between, no space) give the same events."""
    data = (
        b"event: a\ndata: 1\n\n"
        b"event: b\ndata: 2\ndata: 3\n\n"
        b"event: c\nid: 9\ndata: 4\n\n"
        b"event:d\ndata:5\n\n"
        b"event: e\ndata:6\n\n"
    )
    assert decode([data]) == [
        (b"a", b"1"),
        (b"b", b"2\n3"),
        (b"c", b"4"),
        (b"d", b"5"),
        (b"e", b"6"),
    ]


def reference_decode(data: bytes) -> list[SSEEvent]:
    """A plain reading of the event-stream rules, to check the decoder against."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    events: list[SSEEvent] = []
    name, values = b"", list[bytes]()
    for line in [*lines, b""]:
        if not line:
            if values:
                events.append((name, b"\n".join(values)))
            name, values = b"", []
        elif not line.startswith(b":"):
            field, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if field == b"data":
                values.append(value)
            elif field == b"event":
                name = value
    return events


FIELDS = [b"data: ", b"data:", b"data", b"event: ", b"event:", b"id: 1", b": c", b"retry: 5"]
PIECES = st.sampled_from(
    [*FIELDS, b"x", b"{}", b" ", b"\xc3\xa9", b"\n", b"\n", b"\r", b"\r\n", b"\n\n"]
)


@settings(max_examples=500)
@given(st.lists(PIECES, max_size=40), st.lists(st.integers(0, 200), max_size=8))
def test_matches_the_reference_reading(pieces: list[bytes], offsets: list[int]) -> None:
    """Random streams built from SSE fragments decode, whole and split
    anywhere, to what a plain line-by-line reading of the rules gives."""
    data = b"".join(pieces)
    expected = reference_decode(data)
    assert decode([data]) == expected
    assert decode(cut(data, offsets)) == expected


def test_a_lone_event_is_read_without_the_decoders_work() -> None:
    """The two common shapes, whole in one read with nothing held, come out
    of `lone_event` as `feed` would give them."""
    assert SSEDecoder().lone_event(b'data: {"x": 1}\n\n') == (b"", b'{"x": 1}')
    assert SSEDecoder().lone_event(b"data: \n\n") == (b"", b"")
    assert SSEDecoder().lone_event(b"event: ping\ndata: {}\n\n") == (b"ping", b"{}")


@pytest.mark.parametrize(
    "data",
    [
        b"data: 1\n\ndata: 2\n\n",  # two events
        b"data: 1\n",  # not closed
        b"data: 1\r\n\r\n",  # CRLF
        b"data:1\n\n",  # no space
        b": keep-alive\n\n",  # a comment
        b"data: 1\ndata: 2\n\n",  # two data lines
        b"event: a\nid: 1\ndata: 2\n\n",  # a field in between
        b"event: a\n\n",  # no data
        b"id: 1\ndata: 2\n\n",
        b"\n\n",
        b"",
    ],
)
def test_other_shapes_are_left_to_feed(data: bytes) -> None:
    assert SSEDecoder().lone_event(data) is None


def test_a_lone_event_is_not_taken_while_bytes_are_held() -> None:
    """After a read that left an event open, or ended in CR, the next read
    is the decoder's to join."""
    held = SSEDecoder()
    held.feed(b"data: 1")
    assert held.lone_event(b"data: 2\n\n") is None
    after_cr = SSEDecoder()
    after_cr.feed(b"data: 1\r\r")
    assert after_cr.lone_event(b"data: 2\n\n") is None


TEXT = st.lists(st.sampled_from([b"x", b"{}", b" ", b"\xc3\xa9", b":", b"\r", b"\n"]), max_size=6)
# A read of one of the common shapes (often with a stray byte that makes it
# another), or any bytes.
READS = st.one_of(
    st.lists(PIECES, max_size=12).map(b"".join),
    st.tuples(
        st.sampled_from([b"", b"event: ", b"event:", b"id: "]),
        TEXT.map(b"".join),
        st.sampled_from([b"\n", b"", b"\r\n"]),
        st.sampled_from([b"data: ", b"data:", b": "]),
        TEXT.map(b"".join),
        st.sampled_from([b"\n\n", b"\n", b"\r\n\r\n", b"\n\n\n"]),
    ).map(
        lambda parts: parts[0] + parts[1] + (parts[2] if parts[0] else b"") + b"".join(parts[3:])
    ),
)


@settings(max_examples=500)
@given(st.lists(PIECES, max_size=20), READS, st.lists(PIECES, max_size=8))
def test_lone_event_agrees_with_feed(before: list[bytes], data: bytes, after: list[bytes]) -> None:
    """Whatever was fed before, `lone_event` of a read is None or the one
    event `feed` gives for it, and the decoder goes on the same either way."""
    fast, general = SSEDecoder(), SSEDecoder()
    fast.feed(b"".join(before))
    general.feed(b"".join(before))
    lone = fast.lone_event(data)
    expected = general.feed(data)
    if lone is None:
        assert fast.feed(data) == expected
    else:
        assert [lone] == expected
    rest = b"".join(after)
    assert fast.feed(rest) + fast.end() == general.feed(rest) + general.end()


def test_a_stream_parser_reads_a_lone_event_without_feeding_the_decoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fast path is taken: one whole event per read never reaches
    `SSEDecoder.feed` (whose work it skips); other reads do."""
    fed: list[bytes] = []
    general = SSEDecoder.feed
    monkeypatch.setattr(
        SSEDecoder, "feed", lambda self, data: fed.append(data) or general(self, data)
    )
    parser = stream_parser("openai-chat")
    chunk = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    assert parser.feed(chunk) == [ContentDelta("hi")]
    assert fed == []
    assert parser.feed(chunk + chunk) == [ContentDelta("hi"), ContentDelta("hi")]
    assert fed == [chunk + chunk]
