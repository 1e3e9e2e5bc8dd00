"""The streamed response's fast path against the general one, differentially.

One read that is one whole HTTP chunk holding one whole SSE event takes the
fast path: `ResponseReader.feed`'s inline chunk, `SSEDecoder.lone_event`,
the protocol's parse of that one JSON, the listener's inline content. The
reference reading de-frames with h11 and decodes every read with the
general `SSEDecoder.feed`. For the three streaming protocols, random
streams (content, reasoning and tool-call deltas, usage, comments, `event:`
and `id:` lines, several `data:` lines, CRLF, chunk extensions, errors and
malformed JSON mid-stream), cut into chunks and reads anywhere or one event
per chunk per read, must leave the listener with exactly the same times,
gaps, counts, text and outcome, and complete at the same read.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import h11
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest.engine import _http1
from loadtest.engine._http1 import ResponseHead, ResponseReader
from loadtest.engine._reading import Reading
from loadtest.engine._transport import Exchange
from loadtest.engine._turn import _Listener
from loadtest.protocol import Usage, get_adapter
from loadtest.protocol._sse import SSEDecoder, SSEEvent, SSEStreamParser

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROTOCOLS = ("openai-chat", "anthropic", "openai-responses")
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
WORDS = ("hi", " there", "", " é", "\u2603", ' {"x":1}')


class _GeneralDecoder(SSEDecoder):
    """The decoder with its fast path off: every read goes through `feed`."""

    __slots__ = ()

    def lone_event(self, data: bytes) -> SSEEvent | None:
        del data
        return None


def frame(name: str | None, payload: dict[str, Any]) -> bytes:
    data = b"data: " + orjson.dumps(payload) + b"\n\n"
    return data if name is None else f"event: {name}\n".encode() + data


def reasoning(protocol: str, text: str) -> bytes:
    """A reasoning delta in the protocol's shape."""
    if protocol == "openai-chat":
        return frame(None, {"choices": [{"index": 0, "delta": {"reasoning_content": text}}]})
    if protocol == "anthropic":
        delta = {"type": "thinking_delta", "thinking": text}
        return frame(
            "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
        )
    kind = "response.reasoning_text.delta"
    return frame(kind, {"type": kind, "delta": text, "sequence_number": 1})


def running_usage(protocol: str, text: str, tokens: int) -> bytes:
    """A content delta that carries a usage count (vLLM's continuous usage in
    chat; a bare `message_delta` usage for anthropic; an ignored event else)."""
    if protocol == "openai-chat":
        choice = {"index": 0, "delta": {"content": text}}
        return frame(None, {"choices": [choice], "usage": {"completion_tokens": tokens}})
    if protocol == "anthropic":
        return frame("message_delta", {"type": "message_delta", "usage": {"output_tokens": tokens}})
    return frame("response.in_progress", {"type": "response.in_progress", "sequence_number": 2})


def several_data_lines(event: bytes) -> bytes:
    """The event's JSON split over two `data:` lines (joined with a line end,
    it is the same JSON)."""
    head, found, rest = event.partition(b',"')
    return head + b",\ndata: " + b'"' + rest if found else event


@st.composite
def streams(draw: st.DrawFn, protocol: str) -> list[bytes]:
    """One answer's SSE events: the codec's own, mixed with other shapes."""
    codec = get_adapter(protocol)().server_codec()
    assert codec is not None
    renderer = codec.open_stream("id-1", "m", 1, Usage(7, None, 2))
    tool = draw(st.booleans())
    events = [renderer.tool_head("call_1", "f") if tool else renderer.head()]
    for _ in range(draw(st.integers(0, 12))):
        word = draw(st.sampled_from(WORDS))
        kind = draw(st.integers(0, 9))
        if kind <= 3:
            events.append(renderer.tool_delta(word) if tool else renderer.delta(word))
        elif kind == 4:
            events.append(reasoning(protocol, word))
        elif kind == 5:
            events.append(running_usage(protocol, word, draw(st.integers(0, 40))))
        elif kind == 6:
            events.append(b": keep-alive\n\n")
        elif kind == 7:
            events.append(several_data_lines(renderer.delta(word)))
        elif kind == 8:
            events.append(b"id: 5\n" + renderer.delta(word))
        else:
            events.append(renderer.delta(word).replace(b"\n", b"\r\n"))
    ending = draw(st.integers(0, 9))
    if ending == 0:
        events.append(renderer.error("server_error", "boom"))
    elif ending == 1:
        events.append(b"data: {not json\n\n")
    elif ending != 2:  # 2: the body ends without the protocol's end
        events.append(renderer.tail("length" if ending == 3 else "stop", Usage(7, 12, 2)))
    return events


@st.composite
def bodies(draw: st.DrawFn, protocol: str) -> tuple[bytes, list[int]]:
    """The whole HTTP response and where reads start in it: one chunk per
    event per read (often), or chunks and reads cut anywhere."""
    events = draw(streams(protocol))
    sse = b"".join(events)
    if draw(st.booleans()):
        payloads = events
    else:
        cuts = sorted(draw(st.lists(st.integers(1, max(len(sse) - 1, 1)), max_size=8)))
        edges = [0, *cuts, len(sse)]
        payloads = [sse[a:b] for a, b in itertools.pairwise(edges) if b > a]
    extension = draw(st.sampled_from([b"", b";x=1", b";y"]))
    chunks = [
        b"%x%s\r\n%s\r\n" % (len(p), extension if i % 3 == 1 else b"", p)
        for i, p in enumerate(payloads)
    ]
    raw = HEAD + b"".join(chunks) + b"0\r\n\r\n"
    if draw(st.booleans()):  # a read per chunk, as at a real pace
        starts, at = [len(HEAD)], len(HEAD)
        for chunk in chunks:
            at += len(chunk)
            starts.append(at)
        return raw, starts
    return raw, sorted(set(draw(st.lists(st.integers(1, len(raw) - 1), max_size=10))))


def reads_of(raw: bytes, starts: list[int]) -> list[bytes]:
    edges = [0, *starts, len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(edges) if b > a]


def state(listener: _Listener, exchange_completed: float) -> dict[str, Any]:
    return {
        name: getattr(listener, name)
        for name in _Listener.__slots__
        if name not in ("adapter", "parser")
    } | {"completed": exchange_completed}


def ours(protocol: str, reads: list[bytes]) -> dict[str, Any]:
    """The engine's reading: `Reading.take` per read, stamped 0.05 s apart."""
    listener = _Listener(get_adapter(protocol)(), True)
    exchange = Exchange()
    reading = Reading(listener, exchange, 0.0, 1e9, max_bytes=1 << 30, keepalive=True)
    for index, data in enumerate(reads):
        if reading.take(data, 0.05 * (index + 1)) is not None:
            break
    listener.end(exchange.ended)
    return state(listener, exchange.completed)


def reference(protocol: str, reads: list[bytes]) -> dict[str, Any]:
    """h11 de-frames; the general SSE decoder decodes; the same listener."""
    listener = _Listener(get_adapter(protocol)(), True)
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="POST", target="/", headers=[("Host", "gw")]))
    connection.send(h11.EndOfMessage())
    completed = ended = 0.0
    for index, data in enumerate(reads):
        stamp = 0.05 * (index + 1)
        connection.receive_data(data)
        body = b""
        while (event := connection.next_event()) is not h11.NEED_DATA:
            if isinstance(event, h11.Response):
                headers = {k.decode(): v.decode("latin-1") for k, v in event.headers}
                listener.on_head(ResponseHead(event.status_code, "OK", "1.1", headers), stamp)
                parser = listener.parser
                assert isinstance(parser, SSEStreamParser)
                parser._decoder = _GeneralDecoder()
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                ended = stamp
                break
        if body and listener.on_body(body, stamp) and not completed:
            completed = stamp
        if ended:
            break
    listener.end(ended)
    return state(listener, completed)


def check(protocol: str, body: tuple[bytes, list[int]]) -> None:
    raw, starts = body
    reads = reads_of(raw, starts)
    assert ours(protocol, reads) == reference(protocol, reads)


def run_for(protocol: str) -> Callable[[], None]:
    @FUZZ
    @given(bodies(protocol))
    def differential(body: tuple[bytes, list[int]]) -> None:
        check(protocol, body)

    return differential


test_openai_chat_fast_path_matches_the_general_reading = run_for("openai-chat")
test_anthropic_fast_path_matches_the_general_reading = run_for("anthropic")
test_openai_responses_fast_path_matches_the_general_reading = run_for("openai-responses")


def test_the_common_reads_take_the_fast_path() -> None:
    """One event per chunk per read: every event read by `lone_event`, and
    the answer's content counted as the general reading counts it."""
    for protocol in PROTOCOLS:
        codec = get_adapter(protocol)().server_codec()
        assert codec is not None
        renderer = codec.open_stream("id-1", "m", 1, Usage(7, None, 2))
        events = [renderer.head(), *(renderer.delta(w) for w in ("a", "b", "c"))]
        reads = [HEAD] + [b"%x\r\n%s\r\n" % (len(e), e) for e in events]
        listener = _Listener(get_adapter(protocol)(), True)
        reading = Reading(listener, Exchange(), 0.0, 1e9, max_bytes=1 << 30, keepalive=True)
        reading.take(reads[0], 0.01)
        parser = listener.parser
        assert isinstance(parser, SSEStreamParser)
        for data in reads[2:]:
            assert parser._decoder.lone_event(data[data.index(b"\n") + 1 : -2]) is not None
        for index, data in enumerate(reads[1:]):
            assert reading.take(data, 0.05 * (index + 1)) is None
        assert listener.reply == ["a", "b", "c"]
        assert listener.gaps_us == [50_000, 50_000]


def test_short_size_lines_are_looked_up_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain size line seen once (`1a\\r`) is remembered: the next chunks of
    that size, one per read or several in one, skip `_chunk_size`; a size
    line with an extension still goes through it."""
    reader = ResponseReader()
    reader.feed(HEAD)
    assert reader.feed(b"1a\r\n" + b"x" * 26 + b"\r\n") == b"x" * 26
    assert _http1._SIZE_LINES[b"1a\r"] == 26

    def parsed(line: bytes, body_offset: int) -> int:
        calls.append(line)
        return chunk_size(line, body_offset)

    calls: list[bytes] = []
    chunk_size = _http1._chunk_size
    monkeypatch.setattr(_http1, "_chunk_size", parsed)
    chunk = b"1a\r\n" + b"y" * 26 + b"\r\n"
    assert reader.feed(chunk + chunk + b"1a;e=1\r\n" + b"z" * 26 + b"\r\n") == (
        b"y" * 52 + b"z" * 26
    )
    assert calls == [b"1a;e=1\r"]
