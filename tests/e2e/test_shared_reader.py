"""The shared reader (engine/_reactor.py) against the turn's own reads, over
real loopback sockets: the same scripted responses through a pool with it
and a pool without it give the same bodies, outcomes, error classes and
reuse (differential, scripted and fuzzed), and a turn cancelled while the
shared reader holds its response leaves nothing registered.

Servers pause a few milliseconds between writes so that a body arrives in
several reads; nothing asserts on real-clock durations."""

from __future__ import annotations

import gc
import itertools
import socket
import struct
import time
import weakref
from functools import partial
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.engine import ConnectionPool, TransportConfig, TransportFailure
from loadtest.engine._reactor import SharedReader
from loadtest.engine._transport import Exchange

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not SharedReader.available(), reason="the shared reader needs epoll"),
]

REQUEST = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
CHUNKED = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
PAUSE = 0.003

#: A script step: bytes to send, a pause in seconds, or "close", "reset", "hang".
Step = bytes | float | str


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def sse(*events: bytes) -> list[Step]:
    """A chunked SSE response: the head, then one chunk per event, paced."""
    steps: list[Step] = [CHUNKED]
    for event in events:
        steps += [PAUSE, chunk(b"data: " + event + b"\n\n")]
    return steps


LAST = b"0\r\n\r\n"


class Collect:
    """Records the response; calls it complete once `complete_at` arrived."""

    def __init__(self, complete_at: bytes | None) -> None:
        self.status: int | None = None
        self.body = b""
        self.complete_at = complete_at

    def on_head(self, head: Any, now: float) -> None:
        self.status = head.status

    def on_body(self, data: bytes, now: float) -> bool:
        self.body += data
        return self.complete_at is not None and self.complete_at in self.body


async def play(script: list[Step], stream: trio.SocketStream) -> None:
    await stream.receive_some(65536)
    try:
        for step in script:
            if isinstance(step, bytes):
                await stream.send_all(step)
            elif isinstance(step, float):
                await trio.sleep(step)
            elif step == "close":
                await stream.aclose()
                return
            elif step == "reset":  # RST instead of FIN
                stream.socket.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                await stream.aclose()
                return
            else:  # "hang": until the client gives up
                await stream.receive_some(65536)
                return
        await stream.receive_some(65536)  # keep-alive: until the client closes
    except trio.BrokenResourceError:
        pass


async def outcome(
    script: list[Step],
    *,
    shared: bool,
    config: TransportConfig,
    complete_at: bytes | None = None,
) -> tuple[Any, ...]:
    """What one request answered by `script` gives through one pool."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, partial(play, script), 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        pool = ConnectionPool(config, shared_reader=shared)
        collect = Collect(complete_at)
        exchange = Exchange(started=trio.current_time())
        error = None
        try:
            await pool.send(
                ("http", "127.0.0.1", port), REQUEST, collect, exchange, exchange.started + 30
            )
        except TransportFailure as exc:
            error = (exc.error_class, exc.response_started)
        reused = pool.open_connections
        handed = pool._reader.responses if pool._reader is not None else None
        waiting = pool._reader.waiting if pool._reader is not None else 0
        await pool.aclose()
        nursery.cancel_scope.cancel()
    assert waiting == 0
    ended_at_completion = exchange.completed > 0 and exchange.ended == exchange.completed
    result = (collect.status, collect.body, error, exchange.completed > 0, ended_at_completion)
    return (*result, reused, exchange.retries), handed


async def same_both_ways(
    script: list[Step], config: TransportConfig | None = None, complete_at: bytes | None = None
) -> tuple[Any, ...]:
    """The outcome through the turn's own reads and through the shared
    reader, asserted equal; the shared reader asserted used."""
    config = config or TransportConfig()
    own, not_handed = await outcome(script, shared=False, config=config, complete_at=complete_at)
    shared, handed = await outcome(script, shared=True, config=config, complete_at=complete_at)
    assert not_handed is None
    assert shared == own
    return shared, handed


EVENTS = [b'{"n": %d}' % n for n in range(6)]
BODY = b"".join(b"data: " + event + b"\n\n" for event in EVENTS)
HEAD_AND_ONE = CHUNKED + chunk(b"data: x\n\n")

SCRIPTS: dict[str, tuple[list[Step], dict[str, Any], tuple[Any, ...]]] = {
    # name: (script, pool options, (status, error class or None, reused connections))
    "paced stream": ([*sse(*EVENTS), PAUSE, LAST], {}, (200, None, 1)),
    "chunks split across reads": (
        [
            CHUNKED,
            PAUSE,
            b"1",
            PAUSE,
            b"1\r\ndata: 0123",
            PAUSE,
            b"45678\n\n\r",
            PAUSE,
            b"\n0\r\n\r\n",
        ],
        {},
        (200, None, 1),
    ),
    "closed mid-stream": ([*sse(*EVENTS[:2]), PAUSE, "close"], {}, (200, "stream_truncated", 0)),
    "reset mid-stream": ([*sse(*EVENTS[:2]), PAUSE, "reset"], {}, (200, "stream_truncated", 0)),
    "bad chunk mid-stream": ([*sse(*EVENTS[:2]), PAUSE, b"zz\r\n"], {}, (200, "bad_response", 0)),
    "complete, then closed": (
        [*sse(*EVENTS[:2], b"[DONE]"), PAUSE, "close"],
        {"complete_at": b"[DONE]"},
        (200, None, 0),
    ),
    "length body in pieces": (
        [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n012", PAUSE, b"3456", PAUSE, b"789"],
        {},
        (200, None, 1),
    ),
    "body until close": (
        [b"HTTP/1.1 200 OK\r\n\r\nab", PAUSE, b"cd", PAUSE, "close"],
        {},
        (200, None, 0),
    ),
    "too large": (
        [*sse(*EVENTS), PAUSE, LAST],
        {"config": TransportConfig(max_response_bytes=40)},
        (200, "response_too_large", 0),
    ),
    "silent mid-stream": (
        [HEAD_AND_ONE, "hang"],
        {"config": TransportConfig(read_timeout_s=0.2)},
        (200, "timeout_read", 0),
    ),
}


@pytest.mark.parametrize("name", list(SCRIPTS))
async def test_shared_reader_answers_as_the_turn_s_own_reads(name: str) -> None:
    """Each scripted response gives the same status, body, outcome, error
    class, completion and reuse through both paths, and the shared reader
    read it (the head came first, the body went on)."""
    script, options, (status, error_class, reused) = SCRIPTS[name]
    result, handed = await same_both_ways(script, **options)
    assert handed == 1
    assert result[0] == status
    assert (result[2] or (None,))[0] == error_class
    assert result[5] == reused


async def test_a_stream_longer_than_the_first_scope_is_re_handed(nursery: trio.Nursery) -> None:
    """Events paced under the read timeout outlive the exchange's first
    cancel scope: the reading carries on in a new scope, handed over again,
    and the whole body arrives."""
    script: list[Step] = [CHUNKED]
    for event in EVENTS:  # 1.5 s in all, each gap a quarter of the read timeout
        script += [0.25, chunk(b"data: " + event + b"\n\n")]
    script.append(LAST)
    (_, body, error, *_), handed = await outcome(
        script, shared=True, config=TransportConfig(read_timeout_s=1.0)
    )
    assert error is None
    assert body == BODY
    assert handed >= 2


async def test_cancelled_turn_unregisters_and_the_reader_goes_on(nursery: trio.Nursery) -> None:
    """A turn cancelled (the stage's end) while the shared reader holds its
    response: nothing stays registered, the connection is closed, and the
    next response through the same pool is read to its end."""
    hang = partial(play, [HEAD_AND_ONE, "hang"])
    listeners = await nursery.start(partial(trio.serve_tcp, hang, 0, host="127.0.0.1"))
    hang_port = listeners[0].socket.getsockname()[1]
    paced = partial(play, [*sse(*EVENTS), PAUSE, LAST])
    listeners = await nursery.start(partial(trio.serve_tcp, paced, 0, host="127.0.0.1"))
    paced_port = listeners[0].socket.getsockname()[1]
    pool = ConnectionPool(TransportConfig())
    assert pool._reader is not None
    with trio.move_on_after(0.3):
        exchange = Exchange(started=trio.current_time())
        await pool.send(
            ("http", "127.0.0.1", hang_port),
            REQUEST,
            Collect(None),
            exchange,
            exchange.started + 30,
        )
    assert (pool._reader.responses, pool._reader.waiting, pool.open_connections) == (1, 0, 0)
    collect = Collect(None)
    exchange = Exchange(started=trio.current_time())
    await pool.send(
        ("http", "127.0.0.1", paced_port), REQUEST, collect, exchange, exchange.started + 30
    )
    assert collect.body == BODY
    assert pool._reader.responses == 2
    await pool.aclose()


async def test_a_stopped_reader_fails_what_it_held_and_starts_again(nursery: trio.Nursery) -> None:
    """If the reader's task ends while it holds a response (the run ending
    under it), the turn gets `stream_truncated` instead of waiting forever;
    the next response starts a new reader task."""
    hang = partial(play, [HEAD_AND_ONE, "hang"])
    listeners = await nursery.start(partial(trio.serve_tcp, hang, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    pool = ConnectionPool(TransportConfig())
    reader = pool._reader
    assert reader is not None

    async def stop_the_reader() -> None:
        while not reader.waiting:
            await trio.sleep(0.01)
        assert reader._scope is not None
        reader._scope.cancel()

    nursery.start_soon(stop_the_reader)
    exchange = Exchange(started=trio.current_time())
    with pytest.raises(TransportFailure) as stopped:
        await pool.send(
            ("http", "127.0.0.1", port), REQUEST, Collect(None), exchange, exchange.started + 30
        )
    assert stopped.value.error_class == "stream_truncated"
    assert reader.waiting == 0
    assert pool.open_connections == 0
    result, handed = await outcome(
        [*sse(*EVENTS), PAUSE, LAST], shared=True, config=TransportConfig()
    )
    assert result[1] == BODY
    assert handed == 1


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


@settings(max_examples=25)
@given(
    events=st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
    truncate_at=st.none() | st.integers(min_value=0, max_value=10_000),
    ending=st.sampled_from(["close", "reset", "keep"]),
)
def test_fuzzed_responses_read_the_same_both_ways(
    events: list[bytes], cuts: list[int], truncate_at: int | None, ending: str
) -> None:
    """Random chunked bodies, split at random points into paced writes,
    maybe cut short, then closed, reset or kept open: both paths agree."""
    response = CHUNKED + b"".join(chunk(event) for event in events) + LAST
    if truncate_at is not None:
        response = response[: truncate_at % (len(response) + 1)]
    script: list[Step] = []
    for piece in _split(response, cuts):
        script += [piece, PAUSE]
    if ending == "keep":  # a complete response stays open; a cut one closes
        ending = "hang" if truncate_at is None else "close"
    script.append(ending)
    config = TransportConfig(read_timeout_s=1.0)
    trio.run(same_both_ways, script, config)


async def test_reads_are_stamped_when_the_bytes_arrived(nursery: trio.Nursery) -> None:
    """An event that arrives while trio's loop is blocked for 50 ms is
    stamped with its arrival (the kernel's receive time), not with the
    later read. The server is a plain socket the handler writes to
    synchronously, so the event is in before the block begins: a lower
    bound on the gap, which load can only widen."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen()
    server: list[socket.socket] = []
    seen: list[tuple[float, float]] = []

    async def accept() -> None:
        conn, _ = await listener.accept()
        raw = socket.socket(fileno=conn.detach())
        server.append(raw)
        await trio.lowlevel.wait_readable(raw)
        raw.recv(65536)
        raw.sendall(HEAD_AND_ONE)

    class Stamps(Collect):
        def on_body(self, data: bytes, now: float) -> bool:
            seen.append((now, trio.current_time()))
            if len(seen) == 1:  # in the turn's own read: the next event, then a block
                server[0].sendall(chunk(b"data: late\n\n"))
                # Hold trio's loop for 50 ms: the reader reads the event late.
                blocked_until = time.perf_counter() + 0.05
                while time.perf_counter() < blocked_until:
                    pass
            else:
                server[0].sendall(LAST)
            return super().on_body(data, now)

    nursery.start_soon(accept)
    pool = ConnectionPool(TransportConfig())
    collect = Stamps(None)
    exchange = Exchange(started=trio.current_time())
    port = listener.getsockname()[1]
    await pool.send(("http", "127.0.0.1", port), REQUEST, collect, exchange, exchange.started + 30)
    assert collect.body == b"data: x\n\ndata: late\n\n"
    assert pool._reader is not None
    assert pool._reader.responses == 1
    stamp, read_at = seen[1]
    assert read_at - stamp >= 0.04
    assert stamp >= seen[0][0]
    await pool.aclose()
    server[0].close()
    listener.close()


@pytest.mark.parametrize("shared", [False, True])
async def test_a_failed_response_is_freed_without_the_cycle_collector(
    nursery: trio.Nursery, shared: bool
) -> None:
    """A response that fails in the body (here over `max_response_bytes`)
    holds no reference cycle, whichever path read it: once the turn drops
    the error, its handler and the body it buffered are freed at once.
    Cycles wait for the collector, and under a flood of failing answers
    they add up (tests/e2e/test_memory.py)."""
    script: list[Step] = [*sse(*EVENTS), PAUSE, LAST]
    listeners = await nursery.start(
        partial(trio.serve_tcp, partial(play, script), 0, host="127.0.0.1")
    )
    port = listeners[0].socket.getsockname()[1]
    pool = ConnectionPool(TransportConfig(max_response_bytes=40), shared_reader=shared)
    handler = Collect(None)
    freed = weakref.ref(handler)
    error_class = None
    gc.collect()
    gc.disable()
    try:
        exchange = Exchange(started=trio.current_time())
        try:
            await pool.send(
                ("http", "127.0.0.1", port), REQUEST, handler, exchange, exchange.started + 30
            )
        except TransportFailure as exc:
            error_class = exc.error_class
        del handler
        assert freed() is None
    finally:
        gc.enable()
    assert error_class == "response_too_large"
    await pool.aclose()
