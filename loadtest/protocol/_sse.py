"""Server-Sent Events: the one decoder every streaming adapter shares, and
`SSEStreamParser`, the base of their stream parsers.

`SSEDecoder`: bytes in, `(event name, data)` pairs out, per the WHATWG
event-stream rules:

- Lines end with `\\n`, `\\r\\n` or a lone `\\r`, even when a `\\r\\n` pair is
  split between two reads (a read ending in `\\r` ends the line at once, and a
  `\\n` opening the next read is then dropped).
- A blank line dispatches the event built so far. `data:` lines are joined
  with `\\n`; `event:` sets the name; lines starting with `:` are comments
  (keep-alives); `id:`, `retry:` and unknown fields are ignored; one space
  after the colon is dropped; a line with no colon is a field with an empty
  value. An event with no `data:` line is not dispatched.
- `end()` flushes an event the stream did not close with a blank line.

Everything stays bytes: data goes to `orjson.loads` as is, with no decode
step, and the event name is compared as bytes (`b""` when the event had no
`event:` line). This is the hot path of every streamed response, so the
common cases (`data: {...}` alone, or after one `event:` line) cost a few
single-byte `find`s (memchr), `startswith`s and one slice per field. A read
that is exactly one such event, with nothing held from earlier reads (one
event per read is how streams arrive at a real pace), is recognised whole
by `lone_event` and skips the line scan; it gives what `feed` would.

`SSEStreamParser` feeds the decoder (`lone_event` first) and hands each
event to its subclass; it is `complete` as soon as a terminal or error
event arrived, so the engine need not wait for the body's end to know the
answer.
Invalid JSON (invalid UTF-8 included) and `MalformedError` become one
`bad_response` error, after which nothing more is yielded; an event left
open at the end of the body that is not valid JSON was cut short:
`stream_truncated`. An event still open after `SSE_EVENT_LIMIT_BYTES` is
`bad_response` (a body that is not an event stream cannot grow unbounded).

Pure and sync; no I/O.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Final

import orjson

from loadtest import taxonomy
from loadtest.protocol._base import Event, ResponseError, ResponseParser
from loadtest.protocol._common import MalformedError, snippet

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["SSE_EVENT_LIMIT_BYTES", "SSEDecoder", "SSEEvent", "SSEStreamParser"]

#: The largest single SSE event a stream parser holds while it is open.
SSE_EVENT_LIMIT_BYTES: Final = 16 * 1024 * 1024

#: One dispatched event: (event name, data), both bytes.
SSEEvent = tuple[bytes, bytes]


class SSEDecoder:
    """Incremental decoder for one event stream; see the module docstring."""

    __slots__ = ("_pending", "_scan_from", "_skip_lf")

    def __init__(self) -> None:
        # Unconsumed bytes since the last event boundary (line ends already \n).
        self._pending = b""
        # Where to resume the search for a blank line in `_pending`.
        self._scan_from = 0
        # The last read ended with \r: a \n opening the next read belongs to it.
        self._skip_lf = False

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Consume one read; return the events it completed, in order."""
        if not data:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
        if b"\r" in data:
            self._skip_lf = data[-1] == 0x0D
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._pending:
            return self._split(self._pending + data, self._scan_from)
        return self._split(data, 0)

    def lone_event(self, data: bytes) -> SSEEvent | None:
        """The event `data` is when it is exactly one event of a common shape,
        `data: X` or `event: N` then `data: X`, closed by a blank line (no
        other line end, no CR), and no earlier byte is held: what `feed(data)`
        would return as its one event, without its work. Else None, and
        nothing consumed: call `feed`. At a real pace almost every read is
        one of these."""
        if self._pending or self._skip_lf or b"\r" in data:
            return None
        end = len(data) - 2  # where the blank line must start
        newline = data.find(b"\n")
        if newline == end:
            if data[-1] == 0x0A and data.startswith(b"data: "):
                return b"", data[6:end]
        elif (
            data.startswith(b"event: ")
            and data.find(b"\n", newline + 1) == end
            and data[-1] == 0x0A
            and data.startswith(b"data: ", newline + 1)
        ):
            return data[7:newline], data[newline + 7 : end]
        return None

    @property
    def pending_bytes(self) -> int:
        """How many bytes of an event still open are held."""
        return len(self._pending)

    def end(self) -> list[SSEEvent]:
        """The stream ended: dispatch the event left open, if any."""
        rest = self._pending
        self._pending = b""
        self._scan_from = 0
        self._skip_lf = False
        event = _parse_block(rest)
        return [] if event is None else [event]

    def _split(self, buf: bytes, scan_from: int) -> list[SSEEvent]:
        """Dispatch every event closed by a blank line in `buf` (a \\n that
        another \\n follows), then keep the rest."""
        events: list[SSEEvent] = []
        find = buf.find
        size = len(buf)
        start = 0  # the first byte of the current event
        pos = scan_from  # the first byte not yet scanned for a line end
        while True:
            newline = find(b"\n", pos)
            if newline < 0:
                pos = size
                break
            if newline + 1 == size:
                pos = newline  # whether a \n follows is for the next read to say
                break
            if buf[newline + 1] != 0x0A:
                pos = newline + 1
                continue
            # Fast paths: `data: X` alone, or `event: N` then `data: X`.
            first_end = newline if pos == start else find(b"\n", start, newline)
            if first_end < 0:
                first_end = newline
            if first_end == newline and buf.startswith(b"data: ", start):
                events.append((b"", buf[start + 6 : newline]))
            elif (
                buf.startswith(b"event: ", start)
                and buf.startswith(b"data: ", first_end + 1)
                and find(b"\n", first_end + 1, newline) < 0
            ):
                events.append((buf[start + 7 : first_end], buf[first_end + 7 : newline]))
            else:
                event = _parse_block(buf[start:newline])
                if event is not None:
                    events.append(event)
            start = pos = newline + 2
        self._keep(buf, start, pos)
        return events

    def _keep(self, buf: bytes, start: int, scanned_to: int) -> None:
        """Hold `buf[start:]` (an event still open) for the next read."""
        if start < len(buf):
            self._pending = buf[start:]
            self._scan_from = scanned_to - start
        elif self._pending:
            self._pending = b""
            self._scan_from = 0


def _parse_block(block: bytes) -> SSEEvent | None:
    """One event's lines (without the closing blank line) -> the event, or
    None when it carries no `data:` line."""
    name = b""
    data_lines: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line[0] == 0x3A:  # blank, or a ":" comment
            continue
        field, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            data_lines.append(value)
        elif field == b"event":
            name = value
    if not data_lines:
        return None
    return name, b"\n".join(data_lines)


class SSEStreamParser(ResponseParser):
    """Base of the streamed-answer parsers. Subclasses handle each SSE event
    in `_on_event` (appending to `out`; calling `_close` after a terminal
    event or an error) and decide in `_on_end` whether a stream that ended
    without its terminal event was still complete."""

    protocol: str = ""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self._closed = False
        self._ending = False
        self._event_count = 0

    def feed(self, data: bytes) -> list[Event]:
        if self._closed:
            return []
        decoder = self._decoder
        lone = decoder.lone_event(data)
        if lone is not None:  # one whole event: nothing held, no limit to check
            return self._handle((lone,))
        out = self._handle(decoder.feed(data))
        if decoder.pending_bytes > SSE_EVENT_LIMIT_BYTES and not self._closed:
            problem = f"an event still open after {SSE_EVENT_LIMIT_BYTES} bytes (no blank line)"
            self._fail(out, f"{self.protocol} stream: {problem}")
        return out

    def end(self) -> list[Event]:
        if self._closed:
            return []
        self._ending = True
        out = self._handle(self._decoder.end())
        if not self._closed:
            self._closed = True
            out.extend(self._on_end())
        return out

    @property
    def complete(self) -> bool:
        """True after the terminal event, an error event or malformed input."""
        return self._closed

    def _handle(self, sse_events: Iterable[SSEEvent]) -> list[Event]:
        out: list[Event] = []
        try:
            for name, data in sse_events:
                self._event_count += 1
                self._on_event(name, data, out)
                if self._closed:
                    break
        except orjson.JSONDecodeError as exc:
            shown = snippet(data)
            if self._ending:  # the last event, not closed by a blank line: cut short
                problem = f"the body ended inside this event ({exc}); data: {shown}"
                self._fail(out, f"{self._where()}: {problem}", taxonomy.STREAM_TRUNCATED)
            else:
                self._fail(out, f"{self._where()}: not valid JSON ({exc}); data: {shown}")
        except MalformedError as exc:
            self._fail(out, str(exc))
        return out

    def _where(self) -> str:
        return f"{self.protocol} stream event {self._event_count}"

    def _close(self) -> None:
        self._closed = True

    def _fail(
        self,
        out: list[Event],
        message: str,
        error_class: taxonomy.ErrorClass = taxonomy.BAD_RESPONSE,
    ) -> None:
        self._error(out, ResponseError(error_class, message))

    def _error(self, out: list[Event], error: ResponseError) -> None:
        out.append(error)
        self._closed = True

    def _truncated(self, expected: str) -> list[Event]:
        message = (
            f"{self.protocol} stream: the body ended after {self._event_count} events "
            f"without {expected}"
        )
        return [ResponseError(taxonomy.STREAM_TRUNCATED, message)]

    @abc.abstractmethod
    def _on_event(self, name: bytes, data: bytes, out: list[Event]) -> None: ...

    @abc.abstractmethod
    def _on_end(self) -> list[Event]: ...
