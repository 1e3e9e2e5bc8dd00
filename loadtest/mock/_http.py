"""A small HTTP/1.1 server side: request reading and response framing.

Hand-written rather than h11 because the mock must not be the bottleneck of
the gateway it stands behind; bench/README.md has the measured difference.

Rules:
- Requests: a request line, header lines, then a body framed by
  `Content-Length` or `Transfer-Encoding: chunked` (no body without either).
  Keep-alive by default on HTTP/1.1 (`Connection: close` ends it), opt-in on
  HTTP/1.0. `Expect: 100-continue` is answered before the body is read.
  Pipelined requests are answered in order.
- Only the headers the mock acts on are kept: framing, `Connection`,
  `Expect`, and the echoed correlation header.
- A malformed request raises `HttpError`; the server answers it and closes.
- Responses: JSON with `Content-Length`; SSE with `Transfer-Encoding:
  chunked`, one HTTP chunk per piece the server hands over (one per event).
  Header blocks are prebuilt byte strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import trio

if TYPE_CHECKING:
    from trio.socket import SocketType

__all__ = [
    "JSON",
    "LAST_CHUNK",
    "SSE",
    "HttpError",
    "RequestHead",
    "ServerConnection",
    "chunk",
    "parse_head",
    "response",
    "stream_head",
]

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
RECV_BYTES = 64 * 1024

JSON = b"application/json"
SSE = b"text/event-stream"
LAST_CHUNK = b"0\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    529: "Site Overloaded",
}
_STATUS_LINES: dict[int, bytes] = {}


class HttpError(Exception):
    """The request cannot be read; answer `status` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@attrs.define(slots=True)
class RequestHead:
    """The parts of a request head the mock acts on. `echo` is the raw value
    of the echoed correlation header, None when absent."""

    method: str
    path: str
    keep_alive: bool = True
    http10: bool = False
    content_length: int | None = None
    chunked: bool = False
    expect_continue: bool = False
    echo: bytes | None = None


def _request_line(line: bytes) -> RequestHead:
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise HttpError(505, f"unsupported HTTP version {version.decode('latin-1')!r}")
    http10 = version == b"HTTP/1.0"
    path = target.partition(b"?")[0].decode("latin-1")
    return RequestHead(method.decode("ascii"), path, keep_alive=not http10, http10=http10)


def _apply_header(req: RequestHead, name: bytes, value: bytes, echo_name: bytes) -> None:
    if name == b"content-length":
        if not value.isdigit():
            raise HttpError(400, "invalid Content-Length")
        length = int(value)
        if req.content_length is not None and req.content_length != length:
            raise HttpError(400, "conflicting Content-Length headers")
        req.content_length = length
    elif name == b"transfer-encoding":
        if value.lower() != b"chunked":
            raise HttpError(501, "only the chunked transfer-coding is supported")
        req.chunked = True
    elif name == b"connection":
        tokens = {token.strip() for token in value.lower().split(b",")}
        if b"close" in tokens:
            req.keep_alive = False
        elif b"keep-alive" in tokens:
            req.keep_alive = True
    elif name == b"expect":
        req.expect_continue = value.lower() == b"100-continue"
    if name == echo_name:
        req.echo = value


def parse_head(head: bytes, echo_name: bytes = b"") -> RequestHead:
    """Parse a request head (without its final blank line). `echo_name` is the
    lower-case name of the header whose value to keep in `RequestHead.echo`."""
    lines = head.split(b"\r\n")
    req = _request_line(lines[0])
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name[-1:] in b" \t" or name[:1] in b" \t":
            raise HttpError(400, "malformed header line")
        _apply_header(req, name.lower(), value.strip(b" \t"), echo_name)
    if req.chunked and req.content_length is not None:
        raise HttpError(400, "both Content-Length and Transfer-Encoding")
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        raise HttpError(413, f"request body over {MAX_BODY_BYTES} bytes")
    return req


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        reason = _REASONS.get(status, "Error")
        line = f"HTTP/1.1 {status} {reason}\r\nserver: loadtest-mock\r\n".encode()
        _STATUS_LINES[status] = line
    return line


def response(status: int, body: bytes, extra: bytes = b"", content_type: bytes = JSON) -> bytes:
    """A whole response with a `Content-Length` body. `extra` is ready-made
    header lines, each ending in CRLF."""
    return b"%scontent-type: %s\r\ncontent-length: %d\r\n%s\r\n%s" % (
        _status_line(status),
        content_type,
        len(body),
        extra,
        body,
    )


def stream_head(extra: bytes = b"", chunked: bool = True) -> bytes:
    """The head of a 200 SSE response; `chunked=False` (HTTP/1.0 clients)
    leaves the body to be delimited by closing the connection (`extra` then
    says `connection: close`)."""
    framing = b"transfer-encoding: chunked\r\n" if chunked else b""
    return b"%scontent-type: text/event-stream\r\ncache-control: no-cache\r\n%s%s\r\n" % (
        _status_line(200),
        framing,
        extra,
    )


def chunk(data: bytes) -> bytes:
    """One HTTP chunk carrying `data` (which must not be empty)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


class ServerConnection:
    """One client connection: a receive buffer over a connected trio socket."""

    def __init__(self, sock: SocketType) -> None:
        self.sock = sock
        self.buf = bytearray()

    async def _fill(self) -> bool:
        data = await self.sock.recv(RECV_BYTES)
        self.buf += data
        return bool(data)

    async def wait_closed(self) -> None:
        """Return once the client has closed the connection (end of file, or
        an error on it). Bytes it sends meanwhile (a pipelined request) stay
        buffered for `read_request`; past `MAX_HEAD_BYTES` of them the
        connection is no longer watched. Checkpoint."""
        try:
            while len(self.buf) <= MAX_HEAD_BYTES:
                if not await self._fill():
                    return
        except OSError:
            return
        await trio.sleep_forever()

    async def read_request(self, echo_name: bytes) -> tuple[RequestHead, bytes] | None:
        """The next request and its body; None when the client closed the
        connection between requests. Checkpoint."""
        head = await self._read_head()
        if head is None:
            return None
        req = parse_head(head, echo_name)
        if req.chunked:
            body = await self._read_chunked(req)
        else:
            body = await self._read_exactly(req, req.content_length or 0)
        return req, body

    async def _read_head(self) -> bytes | None:
        searched = 0
        while True:
            while self.buf[:2] == b"\r\n":  # stray CRLFs between requests
                del self.buf[:2]
            end = self.buf.find(b"\r\n\r\n", searched)
            if end >= 0:
                head = bytes(self.buf[:end])
                del self.buf[: end + 4]
                return head
            if len(self.buf) > MAX_HEAD_BYTES:
                raise HttpError(431, f"request head over {MAX_HEAD_BYTES} bytes")
            searched = max(0, len(self.buf) - 3)
            if not await self._fill():
                if self.buf:
                    raise HttpError(400, "connection closed inside a request head")
                return None

    async def _read_exactly(self, req: RequestHead, size: int) -> bytes:
        if req.expect_continue and len(self.buf) < size:
            req.expect_continue = False
            await self.send(_CONTINUE)
        while len(self.buf) < size:
            if not await self._fill():
                raise HttpError(400, "connection closed inside a request body")
        body = bytes(self.buf[:size])
        del self.buf[:size]
        return body

    async def _read_line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            if len(self.buf) > MAX_HEAD_BYTES:
                raise HttpError(400, "chunk header too long")
            if not await self._fill():
                raise HttpError(400, "connection closed inside a chunked body")
        line = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return line

    async def _read_chunked(self, req: RequestHead) -> bytes:
        if req.expect_continue:
            req.expect_continue = False
            await self.send(_CONTINUE)
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = (await self._read_line()).partition(b";")[0].strip()
            if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                raise HttpError(400, "invalid chunk size")
            size = int(size_text, 16)
            if size == 0:
                while await self._read_line():  # trailer fields, up to a blank line
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise HttpError(413, f"request body over {MAX_BODY_BYTES} bytes")
            data = await self._read_exactly(req, size + 2)
            if data[-2:] != b"\r\n":
                raise HttpError(400, "chunk data not followed by CRLF")
            parts.append(data[:-2])

    async def send(self, data: bytes) -> None:
        """Send all of `data`. Checkpoint."""
        sent = await self.sock.send(data)
        if sent < len(data):
            view = memoryview(data)[sent:]
            while view:
                view = view[await self.sock.send(view) :]
