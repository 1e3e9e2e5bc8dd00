"""The mock's capacity model (`--slots`, `--queue`) on trio's mock clock:
FIFO order, the queue's wait counted in TTFT, 429 beyond the queue, a slot
freed however an answer ends, and a client that leaves while queued."""

from __future__ import annotations

import orjson
import pytest
import trio
import trio.testing

from loadtest.cli._mock import parse_mock_args
from loadtest.errors import ConfigError
from loadtest.mock import MockConfig
from loadtest.mock._server import MockServer
from loadtest.mock._slots import Slots

CONTENT = b'"delta":{"content"'


class FakeSocket:
    """Hands out one request, then EOF; records each write with its time.
    `broken`: every write fails as on a connection the client closed."""

    def __init__(
        self, request: bytes, *, broken: bool = False, close_after_s: float | None = None
    ) -> None:
        self.pieces = [request]
        self.broken = broken
        self.close_after_s = close_after_s
        self.sent: list[tuple[float, bytes]] = []
        self.opened_s = trio.current_time()

    async def recv(self, size: int) -> bytes:
        """The request, then nothing until the client closes (EOF): at once
        once an answer was sent, else `close_after_s` after opening."""
        await trio.lowlevel.checkpoint()
        if self.pieces:
            return self.pieces.pop(0)
        if not self.sent:
            if self.close_after_s is None:
                await trio.sleep_forever()
            await trio.sleep_until(self.opened_s + self.close_after_s)
        return b""

    async def send(self, data: bytes | memoryview) -> int:
        await trio.lowlevel.checkpoint()
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")
        self.sent.append((trio.current_time(), bytes(data)))
        return len(data)

    def close(self) -> None:
        pass

    @property
    def data(self) -> bytes:
        return b"".join(data for _, data in self.sent)

    def content_times(self) -> list[float]:
        return [at for at, data in self.sent for _ in range(data.count(CONTENT))]


class FakeStream:
    def __init__(self, socket: FakeSocket) -> None:
        self.socket = socket


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


async def serve_at(server: MockServer, socket: FakeSocket, arrive_s: float) -> None:
    await trio.sleep_until(arrive_s)
    await server.handle(FakeStream(socket))  # type: ignore[arg-type]


async def serve_all(server: MockServer, sockets: list[FakeSocket], step_s: float = 0.001) -> None:
    """Serve each socket's request, the i-th arriving at i * step_s."""
    start = trio.current_time()
    with trio.fail_after(60):  # a slot never freed would block the rest for good
        async with trio.open_nursery() as nursery:
            for i, socket in enumerate(sockets):
                nursery.start_soon(serve_at, server, socket, start + i * step_s)


# ttft 100 ms, 5 tokens 10 ms apart: a stream holds its slot 140 ms.
TIMED = {"ttft": "100ms", "itl": "10ms", "seed": 1}


async def test_queue_is_fifo_and_its_wait_is_part_of_ttft(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """One slot, three streams arriving 1 ms apart: each starts when the one
    before it ends (140 ms each), in arrival order; its first token comes a
    TTFT after that, the wait included."""
    server = MockServer(MockConfig(slots=1, **TIMED))  # type: ignore[arg-type]
    sockets = [FakeSocket(chat_request(5)) for _ in range(3)]
    start = trio.current_time()
    await serve_all(server, sockets)
    firsts = [s.content_times()[0] - start for s in sockets]
    assert firsts == pytest.approx([0.1, 0.24, 0.38], abs=1e-9)
    for socket in sockets:
        assert len(socket.content_times()) == 5
        assert socket.data.startswith(b"HTTP/1.1 200")
    assert server.slots is not None
    assert server.slots.busy == 0


async def test_queued_request_sends_nothing_until_it_has_a_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = MockServer(MockConfig(slots=1, **TIMED))  # type: ignore[arg-type]
    sockets = [FakeSocket(chat_request(5)) for _ in range(2)]
    start = trio.current_time()
    await serve_all(server, sockets)
    assert sockets[1].sent[0][0] - start == pytest.approx(0.14, abs=1e-9)


async def test_two_slots_serve_two_at_once(autojump_clock: trio.testing.MockClock) -> None:
    server = MockServer(MockConfig(slots=2, **TIMED))  # type: ignore[arg-type]
    sockets = [FakeSocket(chat_request(5)) for _ in range(4)]
    start = trio.current_time()
    await serve_all(server, sockets)
    firsts = [s.content_times()[0] - start for s in sockets]
    assert firsts == pytest.approx([0.1, 0.101, 0.24, 0.241], abs=1e-9)


async def test_429_beyond_the_queue(autojump_clock: trio.testing.MockClock) -> None:
    """One slot, a queue of one: the third request at once gets 429 with
    Retry-After, before anything is planned; the first two are answered."""
    server = MockServer(MockConfig(slots=1, queue=1, **TIMED))  # type: ignore[arg-type]
    sockets = [FakeSocket(chat_request(5)) for _ in range(3)]
    start = trio.current_time()
    await serve_all(server, sockets)
    refused = sockets[2]
    assert refused.data.startswith(b"HTTP/1.1 429")
    assert b"retry-after: 1\r\n" in refused.data
    assert b"at capacity: 1 slots busy and 1 requests queued" in refused.data
    assert refused.sent[0][0] - start == pytest.approx(0.002, abs=1e-9)
    assert [len(s.content_times()) for s in sockets] == [5, 5, 0]


async def test_queue_zero_refuses_whenever_every_slot_is_busy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = MockServer(MockConfig(slots=1, queue=0, **TIMED))  # type: ignore[arg-type]
    sockets = [FakeSocket(chat_request(5)) for _ in range(2)]
    await serve_all(server, sockets)
    assert sockets[0].data.startswith(b"HTTP/1.1 200")
    assert sockets[1].data.startswith(b"HTTP/1.1 429")


async def test_slot_freed_when_the_client_is_gone(autojump_clock: trio.testing.MockClock) -> None:
    """The first client's connection fails on its first write: its slot goes
    at once to the next request, which is not delayed by it."""
    server = MockServer(MockConfig(slots=1, **TIMED))  # type: ignore[arg-type]
    sockets = [FakeSocket(chat_request(5), broken=True), FakeSocket(chat_request(5))]
    start = trio.current_time()
    await serve_all(server, sockets)
    assert sockets[1].content_times()[0] - start == pytest.approx(0.101, abs=1e-9)


async def test_slot_freed_after_an_injected_disconnect(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = MockConfig(slots=1, disconnect_rate=1.0, **TIMED)  # type: ignore[arg-type]
    server = MockServer(config)
    sockets = [FakeSocket(chat_request(5)) for _ in range(3)]
    await serve_all(server, sockets)
    assert all(s.data.startswith(b"HTTP/1.1 200") for s in sockets)
    assert server.slots is not None
    assert (server.slots.busy, server.slots.waiting) == (0, 0)


async def test_injected_error_takes_no_slot(autojump_clock: trio.testing.MockClock) -> None:
    """An injected error is answered at once even when every slot is busy."""
    server = MockServer(MockConfig(slots=1, **TIMED))  # type: ignore[arg-type]
    erring = MockServer(MockConfig(slots=1, error_rate=1.0, **TIMED))  # type: ignore[arg-type]
    erring.slots = server.slots
    busy, refused = FakeSocket(chat_request(5)), FakeSocket(chat_request(5))
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_at, server, busy, start)
        nursery.start_soon(serve_at, erring, refused, start + 0.001)
    assert refused.data.startswith(b"HTTP/1.1 500")
    assert refused.sent[0][0] - start == pytest.approx(0.001, abs=1e-9)


async def test_cancelled_waiter_leaves_the_queue(autojump_clock: trio.testing.MockClock) -> None:
    slots = Slots(1, 1)
    order: list[str] = []

    async def use(name: str, hold_s: float) -> None:
        await slots.acquire()
        try:
            order.append(name)
            await trio.sleep(hold_s)
        finally:
            slots.release()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(use, "first", 1.0)
        await trio.sleep(0.1)
        with trio.move_on_after(0.1):
            await use("cancelled", 1.0)
        assert (slots.busy, slots.waiting) == (1, 0)
        assert slots.admits()
        await use("next", 0.0)
    assert order == ["first", "next"]
    assert (slots.busy, slots.waiting) == (0, 0)


async def test_unbounded_queue_always_admits(autojump_clock: trio.testing.MockClock) -> None:
    slots = Slots(1, None)
    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(_hold_briefly, slots)
        await trio.sleep(0.01)
        assert (slots.busy, slots.waiting) == (1, 4)
        assert slots.admits()


async def _hold_briefly(slots: Slots) -> None:
    await slots.acquire()
    await trio.sleep(1.0)
    slots.release()


def test_no_slots_is_todays_behaviour() -> None:
    assert MockServer(MockConfig()).slots is None
    assert MockConfig().summary()[-1] == "capacity: unlimited"


def test_summary_states_the_capacity() -> None:
    assert MockConfig(slots=4).summary()[-1] == (
        "capacity: 4 slots per worker; FIFO queue unbounded"
    )
    assert MockConfig(slots=4, queue=8).summary()[-1] == (
        "capacity: 4 slots per worker; FIFO queue at most 8, then 429"
    )


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match=r"^slots: expected an integer >= 1"):
        MockConfig(slots=0)
    with pytest.raises(ConfigError, match=r"^queue: expected an integer >= 0"):
        MockConfig(slots=1, queue=-1)
    with pytest.raises(ConfigError, match=r"^queue: a queue needs slots"):
        MockConfig(queue=3)
    assert MockConfig.from_json(MockConfig(slots=2, queue=3).to_json()).queue == 3


def test_flags() -> None:
    config = parse_mock_args(["--slots", "4", "--queue", "2"])
    assert (config.slots, config.queue) == (4, 2)
    with pytest.raises(ConfigError, match=r"^--queue: a queue needs slots"):
        parse_mock_args(["--queue", "2"])


async def test_client_leaving_the_queue_frees_its_place(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """One slot held until 140 ms; the second client closes its connection at
    50 ms while queued: it is sent nothing and leaves the queue, so the third
    gets the slot at 140 ms, not 280 ms."""
    server = MockServer(MockConfig(slots=1, **TIMED))  # type: ignore[arg-type]
    start = trio.current_time()
    sockets = [
        FakeSocket(chat_request(5)),
        FakeSocket(chat_request(5), close_after_s=0.05),
        FakeSocket(chat_request(5)),
    ]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_all, server, sockets)
        await trio.sleep(0.049)
        assert server.slots is not None
        assert server.slots.waiting == 2
        await trio.sleep(0.002)
        assert server.slots.waiting == 1
    assert sockets[1].sent == []
    assert sockets[2].content_times()[0] - start == pytest.approx(0.24, abs=1e-9)


async def test_request_pipelined_while_queued_is_answered_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """What a queued client sends meanwhile (its next request) is kept, not
    taken for a close: both of its requests are answered, in order."""
    server = MockServer(MockConfig(slots=1, **TIMED))  # type: ignore[arg-type]
    busy = FakeSocket(chat_request(5))
    pipelining = FakeSocket(chat_request(5))
    pipelining.pieces.append(chat_request(3))
    start = trio.current_time()
    await serve_all(server, [busy, pipelining])
    times = [at - start for at in pipelining.content_times()]
    assert times == pytest.approx([0.24, 0.25, 0.26, 0.27, 0.28, 0.38, 0.39, 0.4], abs=1e-9)
