"""One response being read: what one read's bytes do to it, synchronously.

Rules:
- `Reading.take(data, stamp)` is the whole effect of one read (`data` is
  b"" at end of stream; `stamp` the trio time the bytes were read): HTTP/1.1
  de-framing, TTFB, the head and body handed to the handler, the body size
  cap, the protocol's completion and its grace. It returns None while the
  response goes on, and whether the connection may be reused once it ended;
  it raises `TransportFailure`. No I/O, no waiting: the turn's own reads
  (`_transport`) and the shared reader (`_reactor`) call the same code, so a
  response means the same whichever path read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest import taxonomy
from loadtest.engine._connection import TransportFailure
from loadtest.engine._http1 import Http1Error, IncompleteResponse, ResponseReader

if TYPE_CHECKING:
    import trio

    from loadtest.engine._transport import Exchange, ResponseHandler

__all__ = ["COMPLETION_GRACE_S", "Reading"]

#: How long the rest of a body may take once the protocol's answer is complete.
COMPLETION_GRACE_S = 1.0


class Reading:
    """One response being read: the reader and what the reads so far set.
    `last` is the trio time of the last read (or of the request's start),
    `limit` the latest time the response may end (the turn's deadline, or
    the completion grace); `scope` the cancel scope the reading runs in now
    (the completion grace brings its deadline forward)."""

    __slots__ = (
        "body_bytes",
        "exchange",
        "handler",
        "head_seen",
        "keepalive",
        "last",
        "limit",
        "max_bytes",
        "reader",
        "scope",
    )

    def __init__(
        self,
        handler: ResponseHandler,
        exchange: Exchange,
        started: float,
        deadline: float,
        *,
        max_bytes: int,
        keepalive: bool,
    ) -> None:
        self.reader = ResponseReader()
        self.handler = handler
        self.exchange = exchange
        self.head_seen = False
        self.body_bytes = 0
        self.last = started
        self.limit = deadline
        self.max_bytes = max_bytes
        self.keepalive = keepalive
        self.scope: trio.CancelScope | None = None

    def due(self, read_s: float) -> float:
        """When the response fails if no byte arrives before."""
        return min(self.limit, self.last + read_s)

    def take(self, data: bytes, stamp: float) -> bool | None:
        """One read's bytes (b"" at end of stream), read at trio time `stamp`:
        None while the response goes on, else whether the connection may be
        reused. Raises `TransportFailure`."""
        self.last = stamp
        reader = self.reader
        try:
            body = reader.feed(data) if data else reader.feed_eof()
        except IncompleteResponse as exc:
            head_seen = self.head_seen
            cls = taxonomy.STREAM_TRUNCATED if head_seen else taxonomy.CONN_RESET
            raise TransportFailure(cls, str(exc), response_started=head_seen) from None
        except Http1Error as exc:
            raise TransportFailure(
                taxonomy.BAD_RESPONSE, f"malformed HTTP response: {exc}", response_started=True
            ) from None
        exchange = self.exchange
        if not self.head_seen:
            if reader.head_began:
                exchange.first_byte = stamp
            if reader.head is not None:
                self.head_seen = True
                self.handler.on_head(reader.head, stamp)
        if body:
            self.body_bytes += len(body)
            if self.body_bytes > self.max_bytes:
                raise TransportFailure(
                    taxonomy.RESPONSE_TOO_LARGE,
                    f"the response body exceeded http.max_response_bytes ({self.max_bytes} bytes)",
                    response_started=True,
                )
            if self.handler.on_body(body, stamp) and not exchange.completed:
                exchange.completed = stamp
                self.limit = min(self.limit, stamp + COMPLETION_GRACE_S)
                scope = self.scope
                if scope is not None:
                    scope.deadline = min(self.limit, scope.deadline)
        if reader.done or not data:
            exchange.ended = stamp
            return reader.keep_alive and self.keepalive
        return None
