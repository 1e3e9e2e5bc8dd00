"""The transport: the only module (with `_connection`) that touches sockets.

Rules:
- No `httpcore.AsyncConnectionPool` (NOTES.md: O(N²) per request). Idle
  connections wait on a LIFO stack per origin: taking and returning one is
  O(1). A connection is reused only when the last response said it may be,
  and not when it turned readable while idle (the server closed it).
- HTTP/1.1 framing is `_http1`'s (a sans-IO reader); this module moves
  bytes and stamps times with trio's clock.
- One cancel scope per exchange enforces both timeouts: its deadline is
  the turn's total deadline or the read timeout after the last read,
  whichever is sooner, moved forward after every read (one attribute set,
  not a scope per read).
- A request that fails on a reused connection before any response byte
  arrived is retried once on a fresh connection: that is a keep-alive race
  with the server's idle timeout, not a failure.
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
from loadtest.engine._http1 import Http1Error, IncompleteResponse, ResponseHead, ResponseReader

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

__all__ = [
    "Connection",
    "ConnectionPool",
    "Exchange",
    "ResponseHandler",
    "TransportConfig",
    "TransportFailure",
]


class ResponseHandler(Protocol):
    """Receives one response as it arrives (sync: it must not block)."""

    def on_head(self, head: ResponseHead, now: float) -> None: ...

    def on_body(self, data: bytes, now: float) -> None: ...


@attrs.define
class Exchange:
    """Times of one request/response, trio clock seconds (µs for phases)."""

    started: float = 0.0
    sent: float = 0.0
    first_byte: float = 0.0
    ended: float = 0.0
    dns_us: int | None = None
    connect_us: int | None = None
    tls_us: int | None = None
    write_us: int = 0


class _StaleConnection(Exception):
    """A reused connection failed before any response byte: retry on a new one."""


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
    ) -> None:
        self._config = config
        self._real = backend is None
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
        payload: bytes,
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
        payload: bytes,
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
                await self._discard(conn)
                conn = await self._open(origin, exchange, deadline)
                reusable = await self._exchange(conn, payload, handler, exchange, True, deadline)
        except BaseException:
            await self._discard(conn)
            raise
        if reusable:
            conn.idle_since = self._now()
            self._idle.setdefault(origin, []).append(conn)
        else:
            await self._discard(conn)

    async def _take_idle(self, origin: Origin) -> Connection | None:
        stack = self._idle.get(origin)
        now = self._now()
        while stack:
            conn = stack.pop()
            if not conn.looks_closed(now):
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
            return Connection(origin, stream, raw=self._real and scheme == "http")
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
        payload: bytes,
        handler: ResponseHandler,
        exchange: Exchange,
        fresh: bool,
        deadline: float,
    ) -> bool:
        now = self._now
        read_s = self._config.read_timeout_s
        started = now()
        with trio.CancelScope(deadline=min(deadline, started + read_s)) as scope:
            try:
                await conn.send_all(payload)
            except IO_ERRORS as exc:
                if not fresh:
                    raise _StaleConnection from exc
                raise TransportFailure(
                    taxonomy.CONN_RESET, f"sending the request failed: {exc}"
                ) from None
            exchange.sent = now()
            exchange.write_us = round((exchange.sent - started) * 1e6)
            return await self._read_response(conn, handler, exchange, fresh, scope, deadline)
        raise _timed_out(deadline, now(), read_s)

    async def _read_response(
        self,
        conn: Connection,
        handler: ResponseHandler,
        exchange: Exchange,
        fresh: bool,
        scope: trio.CancelScope,
        deadline: float,
    ) -> bool:
        now = self._now
        read_s = self._config.read_timeout_s
        receive = conn.receive
        reader = ResponseReader()
        head_seen = got_bytes = False
        while True:
            try:
                data = await receive()
            except IO_ERRORS as exc:
                if not got_bytes and not fresh:
                    raise _StaleConnection from exc
                raise read_failure(exc, got_bytes) from None
            stamp = now()
            scope.deadline = min(deadline, stamp + read_s)
            if not got_bytes:
                if not data and not fresh:
                    raise _StaleConnection
                exchange.first_byte = stamp
                got_bytes = True
            try:
                body = reader.feed(data) if data else reader.feed_eof()
            except IncompleteResponse as exc:
                cls = taxonomy.STREAM_TRUNCATED if head_seen else taxonomy.CONN_RESET
                raise TransportFailure(cls, str(exc), response_started=True) from None
            except Http1Error as exc:
                raise TransportFailure(
                    taxonomy.BAD_RESPONSE, f"malformed HTTP response: {exc}", response_started=True
                ) from None
            if not head_seen and reader.head is not None:
                head_seen = True
                handler.on_head(reader.head, stamp)
            if body:
                handler.on_body(body, stamp)
            if reader.done or not data:
                exchange.ended = stamp
                return reader.keep_alive and self._config.keepalive

    async def _discard(self, conn: Connection) -> None:
        self.closed += 1
        await conn.aclose()

    async def aclose(self) -> None:
        """Close every idle connection (those in use close with their turn)."""
        for stack in self._idle.values():
            while stack:
                await self._discard(stack.pop())
