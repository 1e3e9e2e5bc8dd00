"""Sans-IO HTTP/1.1 client framing: request heads out, de-framed response bodies in.

Role: the engine's transport writes `build_request_head(...)` plus the body on a raw
stream, and feeds every byte it reads to a fresh `ResponseReader` per response. This
module holds no socket, no trio and no clock. It exists because h11 spends ~11 µs per
chunk in `next_event()`, where this reader spends well under 1 µs (bench/http1_parse.py).
It is client side only: it never parses requests nor writes responses.

Rules (RFC 9112, RFC 9110):
- Accepted heads: a status line `HTTP/1.<digit> <3 digits>[ <reason>]` (the reason may
  be empty or missing), then `name: value` lines. Names are tokens, lower-cased in
  `ResponseHead.headers`; values lose their surrounding spaces and tabs; obs-fold lines
  are joined with one space; repeated names are joined with ", ". A bare LF ends a
  line as well as CRLF does, in the head and in trailers (as in h11) and also in chunk
  size lines and after chunk data (where h11 insists on CRLF; we accept it because the
  framing stays unambiguous). Values are decoded as Latin-1, so no byte is lost.
- Framing: 1xx interim responses (except 101) are skipped with their headers;
  `head_began` tells the caller which read carried the first byte of the final
  head, so a time to first byte is never taken from an interim response. A HEAD
  request, 204 and 304 have no body. `Transfer-Encoding: chunked` (extensions ignored,
  trailers parsed and dropped) beats Content-Length; Content-Length may repeat one
  value; otherwise the body runs until the peer closes.
- Reuse (`keep_alive`): false after `Connection: close`, for HTTP/1.0 without
  `Connection: keep-alive`, for read-until-close bodies, for Transfer-Encoding sent
  with Content-Length or in HTTP/1.0, when bytes arrive after the response
  (`trailing`; pipelining is never used), after EOF and after any error.
- Rejected with `MalformedResponse`: a head over 64 KiB, a chunk size line over 4 KiB,
  NUL/VT/FF or a bare CR in a head, a bad status line or header line, HTTP major
  versions other than 1, statuses below 100, an unasked-for 101, transfer codings
  other than exactly "chunked", conflicting or non-decimal Content-Length values (not
  examined when the response has no body anyway), a non-hex chunk size, and chunk
  data not followed by a line end. `feed_eof()` in the middle of a response raises
  `IncompleteResponse`. Nothing else escapes `feed()` and `feed_eof()`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from loadtest.config._headers import RESERVED_REQUEST_HEADERS as _RESERVED_REQUEST_HEADERS
from loadtest.config._headers import TOKEN as _TOKEN

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "MAX_CHUNK_LINE_BYTES",
    "MAX_HEAD_BYTES",
    "Http1Error",
    "IncompleteResponse",
    "MalformedResponse",
    "ResponseHead",
    "ResponseReader",
    "build_request_head",
]

#: Largest response head (status line, headers and blank line), and trailer section.
MAX_HEAD_BYTES = 64 * 1024
#: Largest chunk size line, extensions included.
MAX_CHUNK_LINE_BYTES = 4 * 1024
#: Content-Length values with more digits are refused (h11 uses the same bound).
_MAX_CONTENT_LENGTH_DIGITS = 20

_TOKEN_RE = re.compile(_TOKEN)
_VISIBLE_ASCII_RE = re.compile(r"[\x21-\x7e]+")
_STATUS_LINE_RE = re.compile(r"HTTP/([0-9]\.[0-9]) ([0-9]{3})(?: (.*))?")
_FIELD_LINE_RE = re.compile(rf"^({_TOKEN}):(.*)$", re.MULTILINE)
_OBS_FOLD_RE = re.compile(r"\n[ \t]+")
_BLANK_LINE_RE = re.compile(rb"\n\r?\n")
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_ORDINARY_HEAD_BYTES = bytes(set(range(256)) - set(b"\x00\x0b\x0c\r"))

# Reader states; the chunked phases below are only meaningful in _CHUNKED.
_HEAD, _LENGTH, _CHUNKED, _UNTIL_CLOSE, _DONE, _FAILED = range(6)
_SIZE_LINE, _CHUNK_DATA, _CHUNK_END, _TRAILERS = range(4)


class Http1Error(Exception):
    """The response broke HTTP/1.1 framing; the connection must not be reused."""


class MalformedResponse(Http1Error):
    """The bytes received are not a response this reader accepts (see the module rules)."""


class IncompleteResponse(Http1Error):
    """The peer closed the connection before the response was complete."""


class ResponseHead(NamedTuple):
    """The final status line and headers (names lower-cased, repeats joined with ", ")."""

    status: int
    reason: str
    http_version: str
    headers: dict[str, str]


def build_request_head(
    method: str,
    target: str,
    host: str,
    headers: Iterable[tuple[str, str]],
    content_length: int,
) -> bytes:
    """Serialise a request line and headers: Host first, the given headers, Content-Length.

    The head ends with the blank line; the caller sends exactly `content_length` body
    bytes after it. Header values are encoded as UTF-8. Raises ValueError for anything
    that could smuggle a line into the head (CR, LF or NUL anywhere), for names that are
    not tokens, and for Host/Content-Length/Transfer-Encoding among `headers` (this
    function writes the framing headers itself).
    """
    if _TOKEN_RE.fullmatch(method) is None:
        raise ValueError(f"request method {method!r} is not an HTTP token")
    for what, text in (("request target", target), ("host", host)):
        if _VISIBLE_ASCII_RE.fullmatch(text) is None:
            raise ValueError(f"{what} {text!r} must be non-empty visible ASCII (no spaces)")
    if content_length < 0:
        raise ValueError(f"content_length must be >= 0, got {content_length}")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers:
        _check_request_header(name, value)
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _check_request_header(name: str, value: str) -> None:
    """Refuse a header that would inject lines, break the head or fight our framing."""
    if "\r" in name or "\n" in name or "\x00" in name:
        raise ValueError(f"header name {name!r} contains CR, LF or NUL")
    if _TOKEN_RE.fullmatch(name) is None:
        raise ValueError(f"header name {name!r} is not an HTTP token")
    if "\r" in value or "\n" in value or "\x00" in value:
        # The value itself is not shown: it may be a credential.
        raise ValueError(f"value of header {name!r} contains CR, LF or NUL")
    if name.lower() in _RESERVED_REQUEST_HEADERS:
        raise ValueError(f"header {name!r} is written by build_request_head itself")


def _show(data: bytes | str, limit: int = 60) -> str:
    """A short printable rendering of offending input for error messages."""
    if isinstance(data, bytes):
        data = data.decode("latin-1")
    return repr(data if len(data) <= limit else data[:limit] + "…")


def _decode_block(raw: bytes, where: str) -> str:
    """Check a head or trailer block and return it as text without CRs or its blank line."""
    # Deleting every ordinary byte leaves the CRs and NUL/VT/FF: a clean block has
    # exactly one CR per CRLF left, and nothing else.
    if len(raw.translate(None, _ORDINARY_HEAD_BYTES)) != raw.count(b"\r\n"):
        _reject_block(raw, where)
    return raw.decode("latin-1").replace("\r", "")[:-2]


def _reject_block(raw: bytes, where: str) -> None:
    """Raise for the first NUL, VT, FF or bare CR in a head or trailer block."""
    for forbidden, label in ((b"\x00", "NUL"), (b"\x0b", "VT"), (b"\x0c", "FF")):
        if forbidden in raw:
            raise MalformedResponse(f"{label} byte in the {where} at offset {raw.find(forbidden)}")
    offset = raw.replace(b"\r\n", b"\n\n").find(b"\r")
    raise MalformedResponse(f"CR not followed by LF in the {where} at offset {offset}")


def _parse_fields(block: str, where: str) -> dict[str, str]:
    """Parse `name: value` lines (already without CRs) into a lower-cased dict."""
    if not block:
        return {}
    pairs: list[tuple[str, str]] = _FIELD_LINE_RE.findall(block)
    if len(pairs) != block.count("\n") + 1:
        pairs = _parse_unusual_fields(block, where)
    fields = {name.lower(): value.strip(" \t") for name, value in pairs}
    if len(fields) < len(pairs):  # a repeated name: join its values in order
        fields = {}
        for name, value in pairs:
            previous = fields.get(name.lower())
            stripped = value.strip(" \t")
            fields[name.lower()] = stripped if previous is None else f"{previous}, {stripped}"
    return fields


def _parse_unusual_fields(block: str, where: str) -> list[tuple[str, str]]:
    """Field lines with obs-fold continuations (joined with one space), or raise."""
    if block[0] in " \t":
        raise MalformedResponse(f"{where} section starts with a continuation line {_show(block)}")
    block = _OBS_FOLD_RE.sub(" ", block)
    pairs: list[tuple[str, str]] = _FIELD_LINE_RE.findall(block)
    if len(pairs) != block.count("\n") + 1:
        for number, line in enumerate(block.split("\n"), start=1):
            if _FIELD_LINE_RE.fullmatch(line) is None:
                raise MalformedResponse(
                    f"{where} line {number} is not 'name: value', got {_show(line)}"
                )
    return pairs


def _parse_head(raw: bytes) -> ResponseHead:
    """Parse one complete head: status line, header lines and the blank line."""
    status_line, _, block = _decode_block(raw, "response head").partition("\n")
    match = _STATUS_LINE_RE.fullmatch(status_line)
    if match is None:
        raise MalformedResponse(
            f"expected a status line like 'HTTP/1.1 200 OK', got {_show(status_line)}"
        )
    http_version, status_text, reason = match.groups()
    if http_version[0] != "1":
        raise MalformedResponse(f"expected HTTP/1.x, got HTTP/{http_version}")
    status = int(status_text)
    if status < 100:
        raise MalformedResponse(f"status {status_text} is below 100")
    return ResponseHead(status, reason or "", http_version, _parse_fields(block, "header"))


def _parse_content_length(value: str) -> int:
    """The single length in a Content-Length value ("42", or repeats like "42, 42")."""
    if value.isdigit() and value.isascii() and len(value) <= _MAX_CONTENT_LENGTH_DIGITS:
        return int(value)
    lengths = {item.strip(" \t") for item in value.split(",")}
    if len(lengths) != 1:
        raise MalformedResponse(f"conflicting Content-Length values {_show(value)}")
    (length,) = lengths
    if not (length.isascii() and length.isdigit()) or len(length) > _MAX_CONTENT_LENGTH_DIGITS:
        raise MalformedResponse(f"Content-Length {_show(value)} is not a decimal byte count")
    return int(length)


def _allows_reuse(head: ResponseHead) -> bool:
    """Whether the final head's version and Connection header let the connection be reused."""
    connection = head.headers.get("connection")
    if connection is None:
        return head.http_version != "1.0"
    connection = connection.lower()
    if connection == "keep-alive":
        return True
    tokens = {token.strip(" \t") for token in connection.split(",")}
    return "close" not in tokens and (head.http_version != "1.0" or "keep-alive" in tokens)


def _chunk_size(line: bytes, body_offset: int) -> int:
    """The size in one chunk size line (without its LF): hex digits, BWS, `;extensions`."""
    line = line.removesuffix(b"\r")
    semicolon = line.find(b";")
    size_field = (line[:semicolon] if semicolon >= 0 else line).rstrip(b" \t")
    if not size_field or size_field.translate(None, _HEX_DIGITS):
        raise MalformedResponse(
            f"chunk size line {_show(line)} is not hex (at body byte {body_offset})"
        )
    return int(size_field, 16)


#: Short size lines seen, without their LF (`b"f6\r"`), and their sizes: a
#: stream's chunk sizes repeat, so the fast path mostly looks its size up.
#: Only lines of at most `_REMEMBERED_SIZE_LINE_BYTES` (hex digits and CR):
#: 11,154 at most, whatever a server sends.
_SIZE_LINES: dict[bytes, int] = {}
_REMEMBERED_SIZE_LINE_BYTES = 4


def _plain_chunk_size(size_line: bytes) -> int:
    """The size in a size line that is only hex digits and CR (no extension, no
    space), remembered when short; 0 for any other line (`_feed_chunks` reads it)."""
    if size_line[-1] != 13 or size_line.translate(None, _HEX_DIGITS) != b"\r":
        return 0
    size = int(size_line, 16)  # int() ignores the CR
    if len(size_line) <= _REMEMBERED_SIZE_LINE_BYTES:
        _SIZE_LINES[size_line] = size
    return size


class ResponseReader:
    """De-frames one response, fed the bytes read from the connection in any split.

    `head` is None until the final (non-1xx) head has arrived; `head_began` is true
    when the last `feed()` carried the first byte of the head being read (of the final
    head, once `head` is set; never of a 1xx head already skipped); `done` turns true
    when the body is complete; `keep_alive` says whether the connection may carry another
    request once `done` (see the module rules); `trailing` holds bytes that arrived
    after the response. After an `Http1Error` every further call raises it again.
    """

    __slots__ = (
        "_body_offset",
        "_body_remaining",
        "_chunk_phase",
        "_content_length",
        "_error",
        "_head_request",
        "_pending",
        "_received_bytes",
        "_scan_from",
        "_state",
        "done",
        "head",
        "head_began",
        "keep_alive",
        "trailing",
    )

    def __init__(self, head_request: bool = False) -> None:
        self._head_request = head_request
        self._state = _HEAD
        self._pending = b""  # an incomplete head, size line, line end or trailer section
        self._scan_from = 0  # where to resume looking for a blank line in `_pending`
        self._received_bytes = 0  # head bytes of the responses so far (for messages)
        self._body_offset = 0  # framed body bytes consumed before `_pending`
        self._body_remaining = 0  # Content-Length bytes, or bytes left in this chunk
        self._content_length = 0
        self._chunk_phase = _SIZE_LINE
        self._error: Http1Error | None = None
        self.head: ResponseHead | None = None
        self.head_began = False
        self.done = False
        self.keep_alive = True
        self.trailing = b""

    def feed(self, data: bytes) -> bytes:
        """Consume bytes from the connection; return the body bytes they complete.

        Returns b"" when they complete none. `feed(b"")` does nothing: end of stream
        is `feed_eof()`. Raises `MalformedResponse` when the bytes break the framing.
        """
        try:
            state = self._state
            if state == _CHUNKED:
                # The fast path, inline (one call less per read): `data` is exactly one
                # whole chunk, `<hex>CRLF<data>CRLF`. That is how gateways stream (one
                # SSE event per chunk, one chunk per read), so it costs one find, one
                # dict look-up of the size line and two slices. Anything else (several
                # chunks, a split chunk, extensions, bare LFs, the last chunk) goes to
                # `_feed_chunks`.
                if self._chunk_phase == _SIZE_LINE and not self._pending:
                    newline = data.find(b"\n")
                    if 1 < newline <= MAX_CHUNK_LINE_BYTES:
                        size_line = data[:newline]
                        size = _SIZE_LINES.get(size_line)
                        if size is None:
                            size = _plain_chunk_size(size_line)
                        stop = newline + 1 + size
                        if size and len(data) == stop + 2 and data.endswith(b"\r\n"):
                            self._body_offset += len(data)
                            return data[newline + 1 : stop]
                return self._feed_chunks(data)
            if state == _LENGTH:
                return self._feed_length(data)
            if state == _UNTIL_CLOSE:
                return data
            if state == _HEAD:
                return self._feed_head(data)
            if state == _DONE:
                self._keep_trailing(data)
                return b""
            raise self._raised()
        except Http1Error as error:
            self._fail(error)
            raise

    def feed_eof(self) -> bytes:
        """The peer closed the connection: end a read-until-close body, or raise.

        Returns b"" (body bytes are never held back). Raises `IncompleteResponse`,
        saying where the response stopped, unless the response was complete.
        """
        state = self._state
        self.keep_alive = False
        if state in (_UNTIL_CLOSE, _DONE):
            self._finish()
            return b""
        if state == _FAILED:
            raise self._raised()
        error = IncompleteResponse(f"connection closed {self._progress()}")
        self._fail(error)
        raise error

    def _progress(self) -> str:
        """Where the response stopped, for `IncompleteResponse`."""
        state = self._state
        if state == _HEAD:
            if not self._received_bytes and not self._pending:
                return "before any response byte arrived"
            return f"in the response head after {len(self._pending)} bytes"
        if state == _LENGTH:
            received = self._content_length - self._body_remaining
            return f"in the body after {received} of {self._content_length} bytes"
        phase = ("a size line", "chunk data", "a line end", "the trailers")[self._chunk_phase]
        return f"in the chunked body, in {phase}, at body byte {self._body_offset}"

    def _raised(self) -> Http1Error:
        """The error this reader already failed with."""
        assert self._error is not None
        return self._error

    def _fail(self, error: Http1Error) -> None:
        """Remember the error; every later call raises it again."""
        self._state = _FAILED
        self._error = error
        self.keep_alive = False

    def _finish(self) -> None:
        """The response is complete."""
        self._state = _DONE
        self.done = True

    def _keep_trailing(self, data: bytes) -> None:
        """Bytes after a complete response: the connection is out of step, never reuse it."""
        if data:
            self.trailing += data
            self.keep_alive = False

    def _feed_head(self, data: bytes) -> bytes:
        """Collect head bytes; skip 1xx heads; start the body once the final head is in."""
        self.head_began = bool(data) and not self._pending
        buffer = self._pending + data if self._pending else data
        while True:
            match = _BLANK_LINE_RE.search(buffer, max(0, self._scan_from - 2))
            if match is None or match.end() > MAX_HEAD_BYTES:
                self._wait_for_head(buffer)
                return b""
            head = _parse_head(buffer[: match.end()])
            self._received_bytes += match.end()
            buffer = buffer[match.end() :]
            self._pending, self._scan_from = b"", 0
            if head.status == 101:
                raise MalformedResponse("101 Switching Protocols, but no upgrade was asked for")
            if head.status >= 200:
                self.head = head
                self._start_body(head)
                return self.feed(buffer) if buffer else b""
            self.head_began = bool(buffer)  # the next head starts in this read, or later

    def _wait_for_head(self, buffer: bytes) -> None:
        """Keep an incomplete head, refusing it early if it cannot become one."""
        if not (buffer.startswith(b"HTTP/") or b"HTTP/".startswith(buffer)):
            raise MalformedResponse(f"expected a status line 'HTTP/1.1 …', got {_show(buffer)}")
        if len(buffer) > MAX_HEAD_BYTES:
            raise MalformedResponse(f"response head is over {MAX_HEAD_BYTES} bytes")
        self._pending = buffer
        self._scan_from = len(buffer)

    def _start_body(self, head: ResponseHead) -> None:
        """Choose the body framing of the final head (RFC 9112 §6.3) and its reuse."""
        headers = head.headers
        if not _allows_reuse(head):
            self.keep_alive = False
        if self._head_request or head.status in (204, 304):
            self._finish()
            return
        transfer_encoding = headers.get("transfer-encoding")
        if transfer_encoding is not None:
            if transfer_encoding.lower() != "chunked":
                raise MalformedResponse(
                    f"Transfer-Encoding {_show(transfer_encoding)} is not supported, only 'chunked'"
                )
            if "content-length" in headers or head.http_version == "1.0":
                self.keep_alive = False  # RFC 9112 §6.1 and §6.3: faulty framing, then close
            self._state = _CHUNKED
        elif "content-length" in headers:
            self._content_length = _parse_content_length(headers["content-length"])
            self._body_remaining = self._content_length
            self._state = _LENGTH
            if not self._content_length:
                self._finish()
        else:
            self._state = _UNTIL_CLOSE
            self.keep_alive = False

    def _feed_length(self, data: bytes) -> bytes:
        """Content-Length body: pass bytes through until the count is reached."""
        remaining = self._body_remaining
        if len(data) < remaining:
            self._body_remaining = remaining - len(data)
            return data
        self._body_remaining = 0
        self._finish()
        if len(data) > remaining:
            self._keep_trailing(data[remaining:])
            return data[:remaining]
        return data

    def _feed_chunks(self, data: bytes) -> bytes:
        """Chunked body, general path: any split; size line, data, line end; trailers."""
        if self._pending:
            data = self._pending + data
            self._pending = b""
        parts: list[bytes] = []
        position, end = 0, len(data)
        phase, remaining = self._chunk_phase, self._body_remaining
        while position < end:
            if phase == _SIZE_LINE:
                newline = data.find(b"\n", position)
                if newline < 0 or newline - position > MAX_CHUNK_LINE_BYTES:
                    self._wait_for_size_line(data, position, newline)
                    break
                line = data[position:newline]
                known = _SIZE_LINES.get(line)
                if known is None:
                    known = _chunk_size(line, self._body_offset + position)
                remaining = known
                position = newline + 1
                stop = position + remaining
                if remaining and data[stop : stop + 2] == b"\r\n":  # the whole chunk is here
                    parts.append(data[position:stop])
                    position, remaining = stop + 2, 0
                else:
                    phase = _CHUNK_DATA if remaining else _TRAILERS
            elif phase == _CHUNK_DATA:
                stop = min(end, position + remaining)
                parts.append(data[position:stop])
                remaining -= stop - position
                position = stop
                if not remaining:
                    phase = _CHUNK_END
            else:
                boundary_end = self._chunk_boundary(data, position, phase)
                if boundary_end < 0:
                    self._pending = data[position:]
                    break
                position, phase = boundary_end, _SIZE_LINE
        self._chunk_phase, self._body_remaining = phase, remaining
        self._body_offset += position
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def _wait_for_size_line(self, data: bytes, position: int, newline: int) -> None:
        """Keep an incomplete chunk size line, unless it is already too long."""
        line_bytes = (newline if newline >= 0 else len(data)) - position
        if line_bytes > MAX_CHUNK_LINE_BYTES:
            raise MalformedResponse(
                f"chunk size line is over {MAX_CHUNK_LINE_BYTES} bytes"
                f" (at body byte {self._body_offset + position})"
            )
        self._pending = data[position:]

    def _chunk_boundary(self, data: bytes, position: int, phase: int) -> int:
        """Consume the line end after chunk data, or the trailers; -1 if bytes are missing."""
        if phase == _TRAILERS:
            return self._end_of_trailers(data, position)
        line_end = data[position : position + 2]
        if line_end == b"\r\n":
            return position + 2
        if line_end[:1] == b"\n":
            return position + 1
        if line_end == b"\r":
            return -1
        wrong = line_end if line_end[:1] == b"\r" else line_end[:1]
        raise MalformedResponse(
            f"expected CRLF after chunk data, got {_show(wrong)}"
            f" (at body byte {self._body_offset + position})"
        )

    def _end_of_trailers(self, data: bytes, position: int) -> int:
        """Consume the trailer section (parsed, then dropped) and finish the response."""
        section = data[position:]
        if section[:1] == b"\n" or section[:2] == b"\r\n":
            section_end = 1 if section[:1] == b"\n" else 2
        elif section == b"\r":
            return -1
        else:
            match = _BLANK_LINE_RE.search(section, max(0, self._scan_from - 2))
            if match is None or match.end() > MAX_HEAD_BYTES:
                if len(section) > MAX_HEAD_BYTES:
                    raise MalformedResponse(f"trailer section is over {MAX_HEAD_BYTES} bytes")
                self._scan_from = len(section)
                return -1
            section_end = match.end()
            _parse_fields(_decode_block(section[:section_end], "trailers"), "trailer")
        self._finish()
        self._keep_trailing(section[section_end:])
        return len(data)
