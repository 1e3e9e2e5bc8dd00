"""The transport over real loopback sockets (the raw-socket path): timeouts,
the keep-alive retry, refused connections."""

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
    def __init__(self) -> None:
        self.status: int | None = None
        self.body = b""

    def on_head(self, head: Any, now: float) -> None:
        self.status = head.status

    def on_body(self, data: bytes, now: float) -> None:
        self.body += data


async def serve(nursery: trio.Nursery, handler: Any) -> int:
    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    port: int = listeners[0].socket.getsockname()[1]
    return port


async def send(pool: ConnectionPool, port: int, deadline_s: float = 30.0) -> Collect:
    collect = Collect()
    now = trio.current_time()
    exchange = Exchange(started=now)
    await pool.send(("http", "127.0.0.1", port), REQUEST, collect, exchange, now + deadline_s)
    return collect


async def test_keepalive_race_is_retried_on_a_fresh_connection(nursery: trio.Nursery) -> None:
    """A server that answers once and then closes a keep-alive connection:
    the next request's EOF before any byte is retried on a new connection."""

    async def once(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        await stream.send_all(ANSWER)
        await stream.aclose()

    port = await serve(nursery, once)
    pool = ConnectionPool(TransportConfig())
    for _ in range(3):
        assert (await send(pool, port)).body == b"ok"
    assert pool.opened == 3
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


async def test_refused_connection(nursery: trio.Nursery) -> None:
    """Nothing listening: conn_refused."""
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TransportFailure) as refused:
        await send(ConnectionPool(TransportConfig()), port)
    assert refused.value.error_class == "conn_refused"
