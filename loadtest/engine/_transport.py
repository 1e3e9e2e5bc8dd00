"""The transport: the only module (with `_connection`) that touches sockets.

Rules:
- No `httpcore.AsyncConnectionPool` (O(N²) per request). Idle
  connections wait on a LIFO stack per origin: taking and returning one is
  O(1). A connection is reused only when the last response said it may be,
  and not when it is readable just before the request is written (the
  server closed it while it was idle: it is closed, a new one is opened).
- HTTP/1.1 framing is `_http1`'s (a sans-IO reader); this module moves
  bytes and stamps times with trio's clock (the shared reader: the
  kernel's receive time, taken to trio's clock). TTFB is the read that carried
  the first byte of the final head: a `100 Continue` before it is not the
  answer.
- One cancel scope per exchange enforces both timeouts: its deadline is
  the turn's total deadline or the read timeout after the last read,
  whichever is sooner. Reads do not move it (moving a deadline costs trio a
  context manager and a heap entry, at every event of a stream): each read
  notes its time, and when the scope's deadline passes while the real one
  (last read + read timeout) is later, a new scope takes the reading on to
  that one. Timeouts fire exactly when they did with a deadline moved per
  read.
- Each read's effect on the response is `_reading.Reading.take`, whoever
  reads. On plain-TCP connections of the real backend (Linux), a turn
  reads the head itself and hands a body that goes on to the pool's shared
  reader (`_reactor`), which reads every such body from one task and wakes
  the turn when its response ends; elsewhere the turn reads to the end.
  Timeouts and cancellation are the turn's scope either way.
- A request is sent twice only when the first copy provably did not reach
  the server: its write failed on a reused connection. It is then resent
  once on a new connection and counted (`Exchange.retries`). A request
  that was written is never resent, whatever happens next: the server may
  have started a paid generation.
- When the handler says the protocol's answer is complete (its terminal or
  error event) before the body ended, the rest of the body gets
  `COMPLETION_GRACE_S`; if it does not end by then (or the connection
  breaks, or the framing goes wrong) the response still counts as complete
  and the connection is closed, never reused.
- At most `max_response_bytes` body bytes per response: one more fails the
  request with `response_too_large` and closes the connection.
- Cancellation (the stage's end) closes the connection in a shielded scope
  and propagates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import attrs
import httpcore
import trio

from loadtest import taxonomy
from loadtest.engine._connection import (
    IO_ERRORS,
    Connection,
    Origin,
    TransportConfig,
    TransportFailure,
    classify_connect_error,
    is_ip_literal,
    read_failure,
    resolve_host,
    ssl_context,
)
from loadtest.engine._reactor import SharedReader
from loadtest.engine._reading import COMPLETION_GRACE_S, Reading

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

    from loadtest.engine._http1 import ResponseHead

__all__ = [
    "COMPLETION_GRACE_S",
    "Connection",
    "ConnectionPool",
    "Exchange",
    "ResponseHandler",
    "TransportConfig",
    "TransportFailure",
]

#: A request as written: its bytes, or its pieces (head, body) in order.
Payload = bytes | tuple[bytes, ...]


class ResponseHandler(Protocol):
    """Receives one response as it arrives (sync: it must not block)."""

    def on_head(self, head: ResponseHead, now: float) -> None: ...

    def on_body(self, data: bytes, now: float) -> bool:
        """Take body bytes; return whether the answer is complete as the
        protocol defines it (nothing later can change it)."""
        ...


@attrs.define
class Exchange:
    """Times of one request/response, trio clock seconds (µs for phases).

    `first_byte` is the read that began the final head; `completed` the read
    that completed the protocol's answer before the body ended (0 if none);
    `ended` the read that ended the body, or `completed` when the body did
    not end properly after it. `retries` counts resends (0 or 1)."""

    started: float = 0.0
    sent: float = 0.0
    first_byte: float = 0.0
    completed: float = 0.0
    ended: float = 0.0
    retries: int = 0
    dns_us: int | None = None
    connect_us: int | None = None
    tls_us: int | None = None
    write_us: int = 0


class _StaleConnection(Exception):
    """Writing to a reused connection failed: the server never got the request."""


def _timed_out(deadline: float, now: float, read_timeout_s: float) -> TransportFailure:
    if now >= deadline:
        return TransportFailure(taxonomy.TIMEOUT_TOTAL, "turn exceeded the total timeout")
    return TransportFailure(
        taxonomy.TIMEOUT_READ, f"no bytes for the read timeout ({read_timeout_s:g}s)"
    )


class ConnectionPool:
    """Opens, reuses and closes connections; sends requests over them.

    One pool may serve every task of a run: `send` takes an idle connection
    of the origin (LIFO) or opens one, and puts it back afterwards.
    """

    def __init__(
        self,
        config: TransportConfig,
        backend: httpcore.AsyncNetworkBackend | None = None,
        now: Callable[[], float] = trio.current_time,
        *,
        shared_reader: bool = True,
    ) -> None:
        self._config = config
        self._real = backend is None
        self._reader = (
            SharedReader(now) if shared_reader and self._real and SharedReader.available() else None
        )
        self._backend = backend if backend is not None else httpcore.TrioBackend()
        self._now = now
        self._idle: dict[Origin, list[Connection]] = {}
        self._limits: dict[Origin, trio.Semaphore] = {}
        self._ssl: ssl.SSLContext | None = None
        self.opened = 0
        self.closed = 0

    @property
    def open_connections(self) -> int:
        return self.opened - self.closed

    async def send(
        self,
        origin: Origin,
        payload: Payload,
        handler: ResponseHandler,
        exchange: Exchange,
        deadline: float,
    ) -> None:
        """Send `payload` to `origin` and feed the response to `handler`,
        by trio time `deadline` at the latest. Fills `exchange` with times;
        raises `TransportFailure`. A checkpoint; cancellation closes the
        connection and propagates."""
        limit = self._limit(origin)
        if limit is None:
            await self._send(origin, payload, handler, exchange, deadline)
            return
        with trio.move_on_at(deadline):
            async with limit:
                await self._send(origin, payload, handler, exchange, deadline)
                return
        raise TransportFailure(
            taxonomy.TIMEOUT_TOTAL, "no connection free within the total timeout"
        )

    def _limit(self, origin: Origin) -> trio.Semaphore | None:
        cap = self._config.max_connections
        if cap is None:
            return None
        limit = self._limits.get(origin)
        if limit is None:
            limit = self._limits[origin] = trio.Semaphore(cap)
        return limit

    async def _send(
        self,
        origin: Origin,
        payload: Payload,
        handler: ResponseHandler,
        exchange: Exchange,
        deadline: float,
    ) -> None:
        conn = await self._take_idle(origin)
        fresh = conn is None
        if conn is None:
            conn = await self._open(origin, exchange, deadline)
        try:
            try:
                reusable = await self._exchange(conn, payload, handler, exchange, fresh, deadline)
            except _StaleConnection:
                stale, conn = conn, None
                await self._discard(stale)
                exchange.retries += 1
                conn = await self._open(origin, exchange, deadline)
                reusable = await self._exchange(conn, payload, handler, exchange, True, deadline)
        except BaseException:
            if conn is not None:
                await self._discard(conn)
            raise
        if reusable:
            self._idle.setdefault(origin, []).append(conn)
        else:
            await self._discard(conn)

    async def _take_idle(self, origin: Origin) -> Connection | None:
        stack = self._idle.get(origin)
        while stack:
            conn = stack.pop()
            if not conn.looks_closed():
                return conn
            await self._discard(conn)
        return None

    async def _open(self, origin: Origin, exchange: Exchange, deadline: float) -> Connection:
        scheme, host, port = origin
        connect_timeout_s = self._config.connect_timeout_s
        now = self._now
        with trio.CancelScope(deadline=min(now() + connect_timeout_s, deadline)) as scope:
            try:
                stream = await self._connect(origin, exchange)
            except TransportFailure:
                raise
            except Exception as exc:
                raise classify_connect_error(exc, f"{host}:{port}") from None
            self.opened += 1
            conn = Connection(origin, stream, raw=self._real and scheme == "http")
            if self._reader is not None and conn.raw is not None:
                self._reader.prepare(conn.raw)
            return conn
        if now() >= deadline:
            raise TransportFailure(taxonomy.TIMEOUT_TOTAL, "turn exceeded the total timeout")
        assert scope.cancelled_caught
        raise TransportFailure(taxonomy.TIMEOUT_CONNECT, f"connecting to {host}:{port} timed out")

    async def _connect(self, origin: Origin, exchange: Exchange) -> httpcore.AsyncNetworkStream:
        scheme, host, port = origin
        if scheme == "https" and self._ssl is None:
            # Before connecting, so that a failure (gen_tls_setup) leaks no socket.
            self._ssl = ssl_context(self._config)
        now = self._now
        address = host
        if self._real and not is_ip_literal(host):
            started = now()
            address = await resolve_host(host, port)
            exchange.dns_us = round((now() - started) * 1e6)
        started = now()
        stream = await self._backend.connect_tcp(address, port)
        exchange.connect_us = round((now() - started) * 1e6)
        if scheme == "https":
            assert self._ssl is not None
            started = now()
            stream = await stream.start_tls(self._ssl, server_hostname=host)
            exchange.tls_us = round((now() - started) * 1e6)
        return stream

    async def _exchange(
        self,
        conn: Connection,
        payload: Payload,
        handler: ResponseHandler,
        exchange: Exchange,
        fresh: bool,
        deadline: float,
    ) -> bool:
        now = self._now
        config = self._config
        read_s = config.read_timeout_s
        started = now()
        reading = Reading(
            handler,
            exchange,
            started,
            deadline,
            max_bytes=config.max_response_bytes,
            keepalive=config.keepalive,
        )
        with trio.CancelScope(deadline=min(deadline, started + read_s)) as scope:
            try:
                await conn.send_all((payload,) if isinstance(payload, bytes) else payload)
            except IO_ERRORS as exc:
                if not fresh:
                    raise _StaleConnection from exc
                raise TransportFailure(
                    taxonomy.CONN_RESET, f"sending the request failed: {exc}"
                ) from None
            exchange.sent = now()
            exchange.write_us = round((exchange.sent - started) * 1e6)
            return await self._read_or_complete(conn, scope, reading)
        # The scope's deadline is not moved per read: when it passes, the
        # reads since its start may have moved the real one later. Then a
        # new scope carries on from where the reading stopped.
        while now() < reading.due(read_s):
            with trio.CancelScope(deadline=reading.due(read_s)) as scope:
                return await self._read_or_complete(conn, scope, reading)
        if exchange.completed:
            return self._complete_early(exchange)
        raise _timed_out(deadline, now(), read_s)

    async def _read_or_complete(
        self, conn: Connection, scope: trio.CancelScope, reading: Reading
    ) -> bool:
        """Read the response; a transport failure after the protocol said the
        answer was complete ends the response there instead of failing it."""
        reading.scope = scope
        try:
            return await self._read_response(conn, reading)
        except TransportFailure:
            if not reading.exchange.completed:
                raise
            return self._complete_early(reading.exchange)

    @staticmethod
    def _complete_early(exchange: Exchange) -> bool:
        """The answer was complete but its body did not end properly: the
        response ends at its completion, and the connection is not reused."""
        exchange.ended = exchange.completed
        return False

    async def _read_response(self, conn: Connection, reading: Reading) -> bool:
        """Read until the response ends: the turn reads the head itself, and
        hands a body that goes on to the shared reader when there is one."""
        now = self._now
        receive = conn.receive
        take = reading.take
        raw = conn.raw
        reader = self._reader if raw is not None else None
        while True:
            if reader is not None and reading.head_seen:
                assert raw is not None
                return await reader.read(raw, reading)
            try:
                data = await receive()
            except IO_ERRORS as exc:
                raise read_failure(exc, reading.head_seen) from None
            ended = take(data, now())
            if ended is not None:
                return ended

    async def _discard(self, conn: Connection) -> None:
        self.closed += 1
        await conn.aclose()

    async def aclose(self) -> None:
        """Close every idle connection (those in use close with their turn)
        and stop the shared reader when it reads nothing."""
        if self._reader is not None:
            self._reader.close()
        for stack in self._idle.values():
            while stack:
                await self._discard(stack.pop())
