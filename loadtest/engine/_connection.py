"""One connection: opening it (DNS, TCP, TLS) and moving bytes over it, with
every OS, trio and httpcore exception translated into the taxonomy here.

Rules:
- Connections are opened through an httpcore `AsyncNetworkBackend`: the real
  one (trio TCP/TLS) by default, an injected one in tests. With the real
  backend, DNS is resolved separately so a turn can report DNS, connect and
  TLS times apart.
- Plain-TCP connections of the real backend move bytes with the raw trio
  socket's `send`/`recv`: httpcore's stream wraps every call in an exception
  map and a `fail_after` scope (~10 µs per request measured, bench/README.md).
  Timeouts are the caller's one cancel scope per exchange instead. TLS and
  injected backends use the httpcore stream.
- A raw read waits for readability first and then calls `recv` once on the
  non-blocking socket (trio's `recv` tries first, fails at a real pace, waits,
  tries again, then yields once more): one wake-up and one syscall per
  arrival. The wait is the read's checkpoint.
- A request is written as pieces (head, body), in order, with no copy to
  join them: a raw write is one `sendmsg` of all that is left on the
  non-blocking socket, after a cancellation check and without a yield
  (trio's `send` yields after every write, one scheduler turn per request);
  it waits for writability only when the socket is full. The read that
  follows is the exchange's yield.
- `TransportFailure(error_class)` is the only exception that leaves this
  module and `_transport` for a failed request.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import ssl
from typing import TYPE_CHECKING

import attrs
import httpcore
import trio
from trio.lowlevel import checkpoint_if_cancelled, wait_readable, wait_writable

from loadtest import taxonomy

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_RESPONSE_BYTES",
    "Connection",
    "Origin",
    "TransportConfig",
    "TransportFailure",
    "classify_connect_error",
    "is_ip_literal",
    "resolve_host",
    "ssl_context",
]

Origin = tuple[str, str, int]
READ_SIZE = 65536
#: The default of `http.max_response_bytes`: body bytes one response may carry.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@attrs.frozen
class TransportConfig:
    """Connection behaviour, from the profile's `timeouts` and `http` blocks."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    keepalive: bool = True
    verify: bool = True
    ca_bundle: str | None = None
    max_connections: int | None = None
    max_response_bytes: int = MAX_RESPONSE_BYTES


class TransportFailure(Exception):
    """A request failed in transport; `error_class` is from the taxonomy."""

    def __init__(
        self, error_class: taxonomy.ErrorClass, detail: str, *, response_started: bool = False
    ) -> None:
        super().__init__(detail)
        self.error_class = error_class
        self.detail = detail
        self.response_started = response_started


class Connection:
    """One open connection to one origin."""

    __slots__ = ("_poller", "_raw", "origin", "sock", "stream")

    def __init__(
        self, origin: Origin, stream: httpcore.AsyncNetworkStream, raw: bool = False
    ) -> None:
        self.origin = origin
        self.stream = stream
        self.sock: trio.socket.SocketType | None = stream.get_extra_info("socket") if raw else None
        # The stdlib socket under trio's (non-blocking): read without trio's wrapper.
        self._raw: socket.socket | None = getattr(self.sock, "_sock", None)
        self._poller: select.poll | None = None

    @property
    def raw(self) -> socket.socket | None:
        """The stdlib socket of a plain-TCP connection of the real backend."""
        return self._raw

    async def send_all(self, pieces: Sequence[bytes]) -> None:
        """Write `pieces`, one after the other, whole. Raises Cancelled
        before writing when the task is cancelled, OSError/httpcore errors
        when the write fails."""
        raw = self._raw
        if raw is None:
            data = b"".join(pieces)
            sock = self.sock
            if sock is None:
                await self.stream.write(data)
                return
            view = memoryview(data)
            sent = await sock.send(view)
            while sent < len(view):
                sent += await sock.send(view[sent:])
            return
        await checkpoint_if_cancelled()
        left: list[bytes | memoryview] = [piece for piece in pieces if piece]
        while left:
            try:
                sent = raw.sendmsg(left)
            except BlockingIOError:  # the socket is full: wait, then go on
                await wait_writable(raw)
                continue
            left = _after(left, sent)

    async def receive(self) -> bytes:
        """The next bytes read (b"" at end of stream). A checkpoint."""
        raw = self._raw
        if raw is None:
            sock = self.sock
            if sock is None:
                return await self.stream.read(READ_SIZE)
            return await sock.recv(READ_SIZE)
        while True:
            await wait_readable(raw)
            try:
                return raw.recv(READ_SIZE)
            except BlockingIOError:  # a spurious wake-up: wait again
                continue

    def looks_closed(self) -> bool:
        """Whether an idle connection turned readable: the server closed it
        (or sent bytes no request asked for). One poll syscall, no wait; the
        raw socket's poll object is made once per connection, where trio's
        `is_readable` makes one per call."""
        sock = self.sock
        if sock is not None:
            poller = self._poller
            if poller is None:
                poller = self._poller = select.poll()
                poller.register(sock.fileno(), select.POLLIN)
            return bool(poller.poll(0))
        return bool(self.stream.get_extra_info("is_readable"))

    async def aclose(self) -> None:
        # Shielded: a cancelled turn still closes its socket. Closing a broken
        # socket may fail; it is gone either way.
        with trio.CancelScope(shield=True), contextlib.suppress(Exception):
            await self.stream.aclose()


def _after(pieces: list[bytes | memoryview], sent: int) -> list[bytes | memoryview]:
    """What is left of `pieces` once their first `sent` bytes are written."""
    for index, piece in enumerate(pieces):
        if sent < len(piece):
            rest = pieces[index:]
            if sent:
                rest[0] = memoryview(piece)[sent:]
            return rest
        sent -= len(piece)
    return []


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

#: What a failed read or write on an open connection can raise.
IO_ERRORS = (OSError, httpcore.ReadError, httpcore.WriteError, trio.BrokenResourceError)


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


def read_failure(exc: BaseException, response_started: bool) -> TransportFailure:
    """A connection lost while reading: truncation once the answer began."""
    error_class = taxonomy.STREAM_TRUNCATED if response_started else taxonomy.CONN_RESET
    return TransportFailure(
        error_class, f"connection lost while reading: {exc}", response_started=response_started
    )


# --- resolving and connecting -----------------------------------------------


def is_ip_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


async def resolve_host(host: str, port: int) -> str:
    """The first address `host` resolves to."""
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return str(infos[0][4][0])


def ssl_context(config: TransportConfig) -> ssl.SSLContext:
    """The client TLS context. A CA bundle that cannot be loaded (validation
    checks it, but it may vanish later) is the generator's failure,
    `gen_tls_setup`, never the server's `tls` or `conn_refused`."""
    try:
        context = ssl.create_default_context(cafile=config.ca_bundle)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise TransportFailure(
            taxonomy.GEN_TLS_SETUP, f"cannot load http.ca_bundle {config.ca_bundle!r}: {exc}"
        ) from None
    if not config.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context
