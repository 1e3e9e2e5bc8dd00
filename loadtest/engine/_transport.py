"""The transport: the only module that touches connections, sockets and httpcore.

Rules:
- Connections are opened through an httpcore `AsyncNetworkBackend` (real
  TCP/TLS by default, with connect timeouts; tests inject a memory backend).
  DNS is resolved separately when the backend is the real one, so a turn can
  report DNS, connect and TLS times apart.
- No `httpcore.AsyncConnectionPool` (NOTES.md: O(N²) per request). Idle
  connections wait on a LIFO stack per origin: taking and returning one is
  O(1). A connection is reused only when the last response said it may be,
  and not when the socket turned readable while idle (the server closed it).
- HTTP/1.1 framing is `_http1`'s (a sans-IO reader); this module only moves
  bytes and stamps times with trio's clock.
- Failures become `TransportFailure(error_class)` with a class from the
  fixed taxonomy; this is the one place where httpcore, trio and OS
  exceptions are translated. A request that fails on a reused connection
  before any response byte arrived is retried once on a fresh connection:
  that is a keep-alive race with the server's idle timeout, not a failure.
- Cancellation (the stage's end, a total timeout) closes the connection in a
  shielded scope and propagates.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
from typing import TYPE_CHECKING, Protocol

import attrs
import httpcore
import trio

from loadtest import taxonomy
from loadtest.engine._http1 import Http1Error, IncompleteResponse, ResponseHead, ResponseReader

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = [
    "Connection",
    "ConnectionPool",
    "Exchange",
    "ResponseHandler",
    "TransportConfig",
    "TransportFailure",
]

Origin = tuple[str, str, int]
_READ_SIZE = 65536


@attrs.frozen
class TransportConfig:
    """Connection behaviour, from the profile's `timeouts` and `http` blocks."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    keepalive: bool = True
    verify: bool = True
    ca_bundle: str | None = None
    max_connections: int | None = None


class TransportFailure(Exception):
    """A request failed in transport; `error_class` is from the taxonomy."""

    def __init__(self, error_class: str, detail: str, *, response_started: bool = False) -> None:
        super().__init__(detail)
        self.error_class = error_class
        self.detail = detail
        self.response_started = response_started


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


class Connection:
    """One open connection to one origin."""

    __slots__ = ("origin", "stream", "turns")

    def __init__(self, origin: Origin, stream: httpcore.AsyncNetworkStream) -> None:
        self.origin = origin
        self.stream = stream
        self.turns = 0

    async def aclose(self) -> None:
        # Shielded: a cancelled turn still closes its socket. Closing a broken
        # socket may fail; it is gone either way.
        with trio.CancelScope(shield=True), contextlib.suppress(Exception):
            await self.stream.aclose()


# --- exception mapping (the one boundary) -----------------------------------

_ERRNO_CLASSES = {
    errno.ECONNREFUSED: taxonomy.CONN_REFUSED,
    errno.ECONNRESET: taxonomy.CONN_RESET,
    errno.EPIPE: taxonomy.CONN_RESET,
    errno.ECONNABORTED: taxonomy.CONN_RESET,
    errno.EADDRNOTAVAIL: taxonomy.GEN_PORT_EXHAUSTION,
    errno.EADDRINUSE: taxonomy.GEN_PORT_EXHAUSTION,
    errno.EMFILE: taxonomy.GEN_FD_EXHAUSTION,
    errno.ENFILE: taxonomy.GEN_FD_EXHAUSTION,
    errno.ETIMEDOUT: taxonomy.TIMEOUT_CONNECT,
}


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it was raised from, depth first."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        current = stack.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        stack.extend(getattr(current, "exceptions", ()))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return seen


def classify_connect_error(exc: BaseException, where: str) -> TransportFailure:
    """The taxonomy class of a failure to open a connection."""
    causes = _causes(exc)
    for cause in causes:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return TransportFailure(taxonomy.TLS, f"TLS handshake with {where} failed: {cause}")
        if isinstance(cause, socket.gaierror):
            return TransportFailure(taxonomy.DNS, f"cannot resolve {where}: {cause}")
    for cause in causes:
        if isinstance(cause, httpcore.ConnectTimeout | trio.TooSlowError):
            return TransportFailure(taxonomy.TIMEOUT_CONNECT, f"connecting to {where} timed out")
        code = getattr(cause, "errno", None)
        if code in _ERRNO_CLASSES:
            return TransportFailure(_ERRNO_CLASSES[code], f"connecting to {where}: {cause}")
    return TransportFailure(taxonomy.CONN_REFUSED, f"cannot connect to {where}: {exc}")


def _read_failure(exc: BaseException, response_started: bool) -> TransportFailure:
    if isinstance(exc, httpcore.ReadTimeout):
        return TransportFailure(
            taxonomy.TIMEOUT_READ, "no bytes within the read timeout", response_started=True
        )
    error_class = taxonomy.STREAM_TRUNCATED if response_started else taxonomy.CONN_RESET
    return TransportFailure(
        error_class, f"connection lost while reading: {exc}", response_started=response_started
    )


# --- resolving and connecting -----------------------------------------------


def _is_ip_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


async def resolve_host(host: str, port: int) -> str:
    """The first address `host` resolves to."""
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return str(infos[0][4][0])


def _ssl_context(config: TransportConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.ca_bundle)
    if not config.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


# --- the pool -----------------------------------------------------------------


class _StaleConnection(Exception):
    """A reused connection failed before any response byte: retry on a new one."""


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
        self._backend = backend if backend is not None else httpcore.TrioBackend()
        self._resolve: Callable[[str, int], Awaitable[str]] | None = (
            resolve_host if backend is None else None
        )
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
        self, origin: Origin, payload: bytes, handler: ResponseHandler, exchange: Exchange
    ) -> None:
        """Send `payload` to `origin` and feed the response to `handler`.

        Fills `exchange` with times; raises `TransportFailure` on failure.
        A checkpoint; cancellation closes the connection and propagates.
        """
        limit = self._limit(origin)
        if limit is None:
            await self._send(origin, payload, handler, exchange)
            return
        async with limit:
            await self._send(origin, payload, handler, exchange)

    def _limit(self, origin: Origin) -> trio.Semaphore | None:
        cap = self._config.max_connections
        if cap is None:
            return None
        limit = self._limits.get(origin)
        if limit is None:
            limit = self._limits[origin] = trio.Semaphore(cap)
        return limit

    async def _send(
        self, origin: Origin, payload: bytes, handler: ResponseHandler, exchange: Exchange
    ) -> None:
        conn = await self._take_idle(origin)
        fresh = conn is None
        if conn is None:
            conn = await self._open(origin, exchange)
        try:
            try:
                reusable = await self._exchange(conn, payload, handler, exchange, fresh)
            except _StaleConnection:
                await self._discard(conn)
                conn = await self._open(origin, exchange)
                reusable = await self._exchange(conn, payload, handler, exchange, True)
        except BaseException:
            await self._discard(conn)
            raise
        if reusable:
            conn.turns += 1
            self._idle.setdefault(origin, []).append(conn)
        else:
            await self._discard(conn)

    async def _take_idle(self, origin: Origin) -> Connection | None:
        stack = self._idle.get(origin)
        while stack:
            conn = stack.pop()
            # Readable while idle means the server closed it (or sent junk).
            if not conn.stream.get_extra_info("is_readable"):
                return conn
            await self._discard(conn)
        return None

    async def _open(self, origin: Origin, exchange: Exchange) -> Connection:
        scheme, host, port = origin
        where = f"{host}:{port}"
        timeout_s = self._config.connect_timeout_s
        now = self._now
        try:
            with trio.fail_after(timeout_s):
                address = host
                if self._resolve is not None and not _is_ip_literal(host):
                    started = now()
                    address = await self._resolve(host, port)
                    exchange.dns_us = round((now() - started) * 1e6)
                started = now()
                stream = await self._backend.connect_tcp(address, port, timeout=timeout_s)
                exchange.connect_us = round((now() - started) * 1e6)
                if scheme == "https":
                    started = now()
                    stream = await stream.start_tls(
                        self._ssl_context(), server_hostname=host, timeout=timeout_s
                    )
                    exchange.tls_us = round((now() - started) * 1e6)
        except Exception as exc:
            raise classify_connect_error(exc, where) from None
        self.opened += 1
        return Connection(origin, stream)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = _ssl_context(self._config)
        return self._ssl

    async def _exchange(
        self,
        conn: Connection,
        payload: bytes,
        handler: ResponseHandler,
        exchange: Exchange,
        fresh: bool,
    ) -> bool:
        now = self._now
        timeout_s = self._config.read_timeout_s
        started = now()
        try:
            await conn.stream.write(payload, timeout=timeout_s)
        except Exception as exc:
            if not fresh:
                raise _StaleConnection from exc
            raise TransportFailure(
                taxonomy.CONN_RESET, f"sending the request failed: {exc}"
            ) from None
        exchange.sent = now()
        exchange.write_us = round((exchange.sent - started) * 1e6)
        return await self._read_response(conn, handler, exchange, fresh)

    async def _read_response(
        self, conn: Connection, handler: ResponseHandler, exchange: Exchange, fresh: bool
    ) -> bool:
        now = self._now
        read = conn.stream.read
        timeout_s = self._config.read_timeout_s
        reader = ResponseReader()
        head_seen = got_bytes = False
        while True:
            try:
                data = await read(_READ_SIZE, timeout_s)
            except Exception as exc:
                if not got_bytes and not fresh:
                    raise _StaleConnection from exc
                raise _read_failure(exc, got_bytes) from None
            stamp = now()
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
