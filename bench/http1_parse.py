"""Micro-benchmark: loadtest's sans-IO HTTP/1.1 response reader against h11.

Two workloads, both pure CPU (no sockets):
- a 595-byte JSON answer framed by Content-Length, fed whole: µs per response;
- an SSE stream of 129 HTTP chunks (128 events padded to 262 bytes, then
  `[DONE]`), fed one chunk per call as a gateway sends them: µs per chunk
  (the zero-size last chunk is fed after the timed loop).

For h11 the client connection and its request are set up outside the timed
region; per chunk, h11 does `receive_data()` then `next_event()` until it needs
data, as a client does. Each figure is the best of several rounds, because the
machine is noisy (see bench/README.md). Run: `.venv/bin/python bench/http1_parse.py`.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import h11

from loadtest.engine._http1 import ResponseReader

if TYPE_CHECKING:
    from collections.abc import Callable

RESPONSE_BYTES = 595
EVENTS = 128
EVENT_BYTES = 262
ROUNDS = 7
LAST_CHUNK = b"0\r\n\r\n"


def json_response() -> bytes:
    """A Content-Length response of exactly RESPONSE_BYTES bytes, nginx-like head."""
    head = (
        "HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Sat, 28 Nov 2026 10:00:00 GMT\r\n"
        "Content-Type: application/json\r\nContent-Length: {length}\r\n"
        "Connection: keep-alive\r\nx-request-id: 7f7c2b4e-9d1a-4c55-a3f0-6c2f0b7d9e11\r\n\r\n"
    )
    document = {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! " * 8},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 16, "total_tokens": 28},
    }
    body = json.dumps(document).encode()
    padding = RESPONSE_BYTES - len(head.format(length=len(body))) - len(body)
    body = json.dumps({**document, "pad": "x" * (padding - len(', "pad": ""'))}).encode()
    raw = head.format(length=len(body)).encode() + body
    if len(raw) != RESPONSE_BYTES:
        raise SystemExit(f"the JSON response is {len(raw)} bytes, not {RESPONSE_BYTES}")
    return raw


def sse_stream() -> tuple[bytes, list[bytes]]:
    """The head and the 129 data chunks (the zero-size last chunk is `LAST_CHUNK`)."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    )
    delta = {"id": "chatcmpl-123", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    chunks = []
    for index in range(EVENTS):
        event = {**delta, "choices": [{"index": 0, "delta": {"content": f"tok{index:04d}"}}]}
        data = f"data: {json.dumps(event)}\n\n".encode().ljust(EVENT_BYTES, b" ")
        chunks.append(b"%x\r\n%s\r\n" % (len(data), data))
    chunks.append(b"e\r\ndata: [DONE]\n\n\r\n")
    return head, chunks


def h11_client(method: str = "GET") -> h11.Connection:
    """A client connection that has sent its request and waits for the response."""
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method=method, target="/v1/chat", headers=[("Host", "gw")]))
    connection.send(h11.EndOfMessage())
    return connection


def h11_drain(connection: h11.Connection) -> bytes:
    """Body bytes from every event h11 can produce now."""
    body = b""
    while True:
        event = connection.next_event()
        if type(event) is h11.Data:
            body += event.data
        elif event is h11.NEED_DATA or type(event) is h11.EndOfMessage:
            return body


def best_us(run: Callable[[], float], rounds: int = ROUNDS) -> float:
    """The fastest of `rounds` runs of a function returning µs per unit."""
    return min(run() for _ in range(rounds))


def per_response_us(raw: bytes, responses: int = 5000) -> tuple[float, float]:
    """µs per whole response fed at once: (ours, h11)."""

    def ours() -> float:
        start = time.perf_counter_ns()
        for _ in range(responses):
            reader = ResponseReader()
            reader.feed(raw)
        return (time.perf_counter_ns() - start) / responses / 1000

    def theirs() -> float:
        connections = [h11_client() for _ in range(responses)]
        start = time.perf_counter_ns()
        for connection in connections:
            connection.receive_data(raw)
            h11_drain(connection)
        return (time.perf_counter_ns() - start) / responses / 1000

    return best_us(ours), best_us(theirs)


def per_chunk_us(head: bytes, chunks: list[bytes], streams: int = 100) -> tuple[float, float]:
    """µs per chunk, each chunk fed on its own after the head: (ours, h11)."""

    def ours() -> float:
        elapsed_ns = 0
        for _ in range(streams):
            reader = ResponseReader()
            reader.feed(head)
            start = time.perf_counter_ns()
            for chunk in chunks:
                reader.feed(chunk)
            elapsed_ns += time.perf_counter_ns() - start
            reader.feed(LAST_CHUNK)
        return elapsed_ns / streams / len(chunks) / 1000

    def theirs() -> float:
        elapsed_ns = 0
        for _ in range(streams):
            connection = h11_client()
            connection.receive_data(head)
            h11_drain(connection)
            start = time.perf_counter_ns()
            for chunk in chunks:
                connection.receive_data(chunk)
                h11_drain(connection)
            elapsed_ns += time.perf_counter_ns() - start
            connection.receive_data(LAST_CHUNK)
            h11_drain(connection)
        return elapsed_ns / streams / len(chunks) / 1000

    return best_us(ours), best_us(theirs)


def check_same_body(head: bytes, chunks: list[bytes]) -> None:
    """Both readers must de-frame the stream to the same bytes, or timing means nothing."""
    reader, connection = ResponseReader(), h11_client()
    ours = reader.feed(head) + b"".join(reader.feed(chunk) for chunk in [*chunks, LAST_CHUNK])
    connection.receive_data(head + b"".join(chunks) + LAST_CHUNK)
    theirs = h11_drain(connection) + h11_drain(connection)
    if not (reader.done and reader.keep_alive and ours == theirs):
        raise SystemExit("ResponseReader and h11 disagree on the SSE stream")


def report(title: str, ours_us: float, h11_us: float) -> None:
    """Print one workload: both timings and how many times faster ours is."""
    print(title)
    print(f"  ours {ours_us:7.2f}   h11 {h11_us:7.2f}   h11/ours {h11_us / ours_us:5.1f}x")


def main() -> None:
    raw = json_response()
    head, chunks = sse_stream()
    check_same_body(head, chunks)
    report(
        f"Content-Length response, {len(raw)} bytes fed whole (µs per response):",
        *per_response_us(raw),
    )
    report(
        f"Chunked SSE, {len(chunks)} chunks of {EVENT_BYTES} data bytes, one per feed (µs/chunk):",
        *per_chunk_us(head, chunks),
    )


if __name__ == "__main__":
    main()
