"""The shared SSE decoder: line endings, fields, dispatch, and the same
events however the bytes are split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.protocol._sse import SSEDecoder, SSEEvent
from loadtest.testing import split_everywhere
from tests.unit.protocol.recorded import cut

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
