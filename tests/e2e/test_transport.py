"""The transport over real loopback sockets (the raw-socket path): timeouts,
closed idle connections, requests never resent once written, `100 Continue`,
refused connections."""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any

import pytest
import trio

from loadtest.engine import ConnectionPool, TransportConfig, TransportFailure
from loadtest.engine._transport import Exchange

pytestmark = pytest.mark.e2e

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
REQUEST = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"


class Collect:
    """A handler that calls the answer complete once `complete_at` arrived."""

    def __init__(self, complete_at: bytes | None = None) -> None:
        self.status: int | None = None
        self.body = b""
        self.complete_at = complete_at

    def on_head(self, head: Any, now: float) -> None:
        self.status = head.status

    def on_body(self, data: bytes, now: float) -> bool:
        self.body += data
        return self.complete_at is not None and self.complete_at in self.body


async def serve(nursery: trio.Nursery, handler: Any) -> int:
    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    port: int = listeners[0].socket.getsockname()[1]
    return port


async def send_timed(
    pool: ConnectionPool, port: int, deadline_s: float = 30.0, complete_at: bytes | None = None
) -> tuple[Collect, Exchange]:
    collect = Collect(complete_at)
    now = trio.current_time()
    exchange = Exchange(started=now)
    await pool.send(("http", "127.0.0.1", port), REQUEST, collect, exchange, now + deadline_s)
    return collect, exchange


async def send(pool: ConnectionPool, port: int, deadline_s: float = 30.0) -> Collect:
    return (await send_timed(pool, port, deadline_s))[0]


async def test_idle_connection_closed_by_the_server_is_replaced_not_resent(
    nursery: trio.Nursery,
) -> None:
    """A server that answers once and then closes a keep-alive connection:
    the closed idle connection is seen (polled) before the next request is
    written, so a new one is opened; nothing is sent twice or counted as a
    resend."""
    requests = 0
    closed = trio.Event()

    async def once(stream: trio.SocketStream) -> None:
        nonlocal requests
        await stream.receive_some(65536)
        requests += 1
        await stream.send_all(ANSWER)
        await stream.aclose()
        closed.set()

    port = await serve(nursery, once)
    pool = ConnectionPool(TransportConfig())
    for _ in range(3):
        collect, exchange = await send_timed(pool, port)
        assert collect.body == b"ok"
        assert exchange.retries == 0
        await closed.wait()
        closed = trio.Event()
    assert (pool.opened, requests) == (3, 3)
    await pool.aclose()


async def test_request_read_then_dropped_on_a_reused_connection_is_not_resent(
    nursery: trio.Nursery,
) -> None:
    """The server answers the first request, reads the second and closes
    without answering: the second fails as conn_reset and is not resent."""
    requests = 0

    async def answer_then_drop(stream: trio.SocketStream) -> None:
        nonlocal requests
        await stream.receive_some(65536)
        requests += 1
        await stream.send_all(ANSWER)
        await stream.receive_some(65536)
        requests += 1
        await stream.aclose()

    port = await serve(nursery, answer_then_drop)
    pool = ConnectionPool(TransportConfig())
    assert (await send(pool, port)).body == b"ok"
    with pytest.raises(TransportFailure) as dropped:
        await send(pool, port)
    assert dropped.value.error_class == "conn_reset"
    await trio.sleep(0.1)  # a resent copy would have arrived by now
    assert (pool.opened, requests) == (1, 2)
    assert pool.open_connections == 0


async def test_ttfb_is_taken_at_the_final_response_not_100_continue(
    nursery: trio.Nursery,
) -> None:
    """`100 Continue` at once, the answer 0.3 s later: the first byte is the
    answer's (asserted as a lower bound only: the clock is real)."""

    async def continue_then_answer(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        await stream.send_all(b"HTTP/1.1 100 Continue\r\n\r\n")
        await trio.sleep(0.3)
        await stream.send_all(ANSWER)

    port = await serve(nursery, continue_then_answer)
    pool = ConnectionPool(TransportConfig())
    collect, exchange = await send_timed(pool, port)
    assert (collect.status, collect.body) == (200, b"ok")
    assert exchange.first_byte - exchange.sent >= 0.3
    await pool.aclose()


async def test_read_and_total_timeouts_on_a_real_socket(nursery: trio.Nursery) -> None:
    """Silence longer than the read timeout fails as timeout_read; a trickle
    that outlives the total deadline fails as timeout_total. Each server
    outlasts its timeout whatever the machine's load: the silent one never
    answers, and the trickle's pool allows 30 s of silence, so only the
    0.5 s deadline can end it."""

    async def silent(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        await trio.sleep_forever()

    async def trickle(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        # Until the client gives up and closes (however late the test's end comes).
        with contextlib.suppress(trio.BrokenResourceError):
            await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(200):
                await trio.sleep(0.05)
                await stream.send_all(b"x")

    pool = ConnectionPool(TransportConfig(read_timeout_s=0.3))
    with pytest.raises(TransportFailure) as read:
        await send(pool, await serve(nursery, silent))
    assert read.value.error_class == "timeout_read"
    assert pool.open_connections == 0
    patient = ConnectionPool(TransportConfig(read_timeout_s=30.0))
    with pytest.raises(TransportFailure) as total:
        await send(patient, await serve(nursery, trickle), deadline_s=0.5)
    assert total.value.error_class == "timeout_total"
    assert patient.open_connections == 0


STREAM_HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
DONE_CHUNK = b"e\r\ndata: [DONE]\n\n\r\n"


@pytest.mark.parametrize("after_done", ["close", "hang"])
async def test_answer_complete_before_the_body_ends(nursery: trio.Nursery, after_done: str) -> None:
    """The protocol's last event arrives, then the server closes without the
    last chunk, or never sends it: the response is complete (no failure), it
    ends at the last event, and the connection is closed, not reused."""

    async def done_then(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        await stream.send_all(STREAM_HEAD + DONE_CHUNK)
        if after_done == "close":
            await stream.aclose()
        else:
            await trio.sleep(30)

    pool = ConnectionPool(TransportConfig(read_timeout_s=20))
    collect, exchange = await send_timed(
        pool, await serve(nursery, done_then), complete_at=b"[DONE]"
    )
    assert collect.body == b"data: [DONE]\n\n"
    assert exchange.completed > 0
    assert exchange.ended == exchange.completed
    assert pool.open_connections == 0


async def test_refused_connection(nursery: trio.Nursery) -> None:
    """Nothing listening: conn_refused."""
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TransportFailure) as refused:
        await send(ConnectionPool(TransportConfig()), port)
    assert refused.value.error_class == "conn_refused"
