"""The mock's pacing on trio's mock clock: each content event leaves exactly
when it is due (TTFT, then one gap per token, the stall once), which no
real-clock test can check on a busy machine."""

from __future__ import annotations

import itertools

import orjson
import pytest
import trio

from loadtest.mock import MockConfig
from loadtest.mock._server import MockServer


class TimedSocket:
    """Hands out one request, then EOF; records each write with its time."""

    def __init__(self, request: bytes) -> None:
        self.pieces = [request]
        self.sent: list[tuple[float, bytes]] = []

    async def recv(self, size: int) -> bytes:
        await trio.lowlevel.checkpoint()
        return self.pieces.pop(0) if self.pieces else b""

    async def send(self, data: bytes | memoryview) -> int:
        await trio.lowlevel.checkpoint()
        self.sent.append((trio.current_time(), bytes(data)))
        return len(data)

    def close(self) -> None:
        pass


class TimedStream:
    def __init__(self, request: bytes) -> None:
        self.socket = TimedSocket(request)


def chat_request(max_tokens: int) -> bytes:
    body = orjson.dumps(
        {
            "model": "m",
            "max_tokens": max_tokens,
            "stream": True,
            "messages": [{"role": "user", "content": "hello"}],
        }
    )
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: m\r\ncontent-length: %d\r\n\r\n"
    return head % len(body) + body


async def content_times(config: MockConfig, max_tokens: int) -> list[float]:
    """When each write holding a content event left, from the request's arrival."""
    stream = TimedStream(chat_request(max_tokens))
    started = trio.current_time()
    await MockServer(config).handle(stream)  # type: ignore[arg-type]
    return [
        at - started
        for at, data in stream.socket.sent
        for _ in range(data.count(b'"delta":{"content"'))
    ]


async def test_ttft_and_gaps_are_exact(autojump_clock: trio.testing.MockClock) -> None:
    """--ttft 200ms --itl 20ms: the n-th of 20 tokens leaves at 200 + 20 n ms."""
    times = await content_times(MockConfig(ttft="200ms", itl="20ms", seed=3), 20)
    assert times == pytest.approx([0.2 + 0.02 * n for n in range(20)], abs=1e-9)


async def test_stall_pauses_once(autojump_clock: trio.testing.MockClock) -> None:
    """--stall-rate 1 --stall 300ms, no other delay: one pause of 300 ms, all
    other tokens leave at once."""
    config = MockConfig(stall_rate=1.0, stall="300ms", seed=1)
    times = await content_times(config, 10)
    assert len(times) == 10
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    assert gaps[-1] == pytest.approx(0.3, abs=1e-9)
    assert gaps[:-1] == [0.0] * 8
