"""Writing one planned answer on the wire, on time: streamed or whole.

Rules:
- Deadlines are absolute: the first content event is due at the request's
  arrival + TTFT, each later one at the previous deadline + a sampled gap (+
  the stall, once). Time spent sending therefore never accumulates as drift.
  The closing events follow the last content event at once, or
  `done_delay_s` after it (after its deadline, or its sending if later).
- Bytes wait in an `Outbox` until a deadline lies in the future; then they go
  out in one socket write and the task sleeps. With TTFT and ITL at 0 a whole
  answer leaves in one write (flushed every `FLUSH_BYTES` on long answers).
- Every SSE event is its own HTTP chunk, even when a renderer returns several
  events at once (`head()`, `tail()`).
- A tool-call answer sends its head, which starts the call (its name), at
  the first content event's deadline, then its argument fragments as
  content events.
- A disconnect flushes what is due and closes the connection without the
  chunked terminator (streamed) or before / in the middle of the body
  (not streamed); an in-stream error ends the stream properly after its event.

The writers return whether the connection may serve another request.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import trio

from loadtest.mock._answer import (
    TOOL_ARGUMENTS_CLOSE,
    TOOL_ARGUMENTS_OPEN,
    AnswerPlan,
    Fault,
    Planner,
)
from loadtest.mock._http import LAST_CHUNK, ServerConnection, response, stream_head
from loadtest.protocol import Reply, ServedRequest, ServerCodec

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["FLUSH_BYTES", "MockExchange", "Outbox", "error_type", "write_stream", "write_whole"]

FLUSH_BYTES = 64 * 1024

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """The error type string an upstream would give with `status`."""
    return _ERROR_TYPES.get(status, "api_error")


@attrs.define(slots=True)
class MockExchange:
    """One request being answered. `extra` holds ready-made response header
    lines (the echoed correlation header, Connection)."""

    conn: ServerConnection
    codec: ServerCodec
    served: ServedRequest
    plan: AnswerPlan
    planner: Planner
    start_s: float
    reply_id: str
    created_s: int
    extra: bytes
    keep_alive: bool
    chunked: bool


class Outbox:
    """Bytes due on a connection, written in as few socket writes as timing allows."""

    __slots__ = ("chunked", "conn", "now_s", "parts", "size")

    def __init__(self, conn: ServerConnection, chunked: bool) -> None:
        self.conn = conn
        self.chunked = chunked
        self.parts: list[bytes] = []
        self.size = 0
        self.now_s = -math.inf  # a time already reached (the clock only moves on)

    def raw(self, data: bytes) -> None:
        """Queue bytes as they are (response head, terminator)."""
        self.parts.append(data)
        self.size += len(data)

    def event(self, data: bytes) -> None:
        """Queue the bytes of exactly one SSE event as one HTTP chunk."""
        if self.chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.parts.append(data)
        self.size += len(data)

    def events(self, data: bytes) -> None:
        """Queue SSE bytes holding zero or more whole events, one HTTP chunk each."""
        if not data:
            return
        if not self.chunked:
            self.raw(data)
        elif data.count(b"\n\n") <= 1:
            self.raw(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            for event in data.split(b"\n\n")[:-1]:
                self.raw(b"%x\r\n%s\n\n\r\n" % (len(event) + 2, event))

    async def flush(self) -> None:
        """Write everything queued. Checkpoint."""
        if self.parts:
            data = b"".join(self.parts)
            self.parts.clear()
            self.size = 0
            await self.conn.send(data)

    async def wait_until(self, deadline_s: float) -> None:
        """Flush and sleep when `deadline_s` is still ahead; otherwise carry on
        (flushing only when the queue is large). Checkpoint when it waits."""
        if deadline_s > self.now_s:
            self.now_s = trio.current_time()
            if deadline_s > self.now_s:
                await self.flush()
                await trio.sleep_until(deadline_s)
                self.now_s = deadline_s
                return
        if self.size >= FLUSH_BYTES:
            await self.flush()


async def write_stream(ex: MockExchange) -> bool:
    """Stream the planned answer as SSE. Checkpoint."""
    plan, planner, served = ex.plan, ex.planner, ex.served
    renderer = ex.codec.open_stream(
        ex.reply_id,
        served.model,
        ex.created_s,
        planner.prompt_usage(plan, served.include_usage),
    )
    out = Outbox(ex.conn, ex.chunked)
    out.raw(stream_head(ex.extra, ex.chunked))
    tool = plan.tool
    stop_at = plan.fault_at if plan.fault in (Fault.DISCONNECT, Fault.STREAM_ERROR) else -1
    deadline_s = ex.start_s + plan.ttft_s
    render: Callable[[str], bytes]
    if tool is None:
        out.events(renderer.head())
        render = renderer.delta
    else:  # the call's start (its name) is output: due with the first fragment
        await out.wait_until(deadline_s)
        out.events(renderer.tool_head(f"call_{ex.reply_id}", tool))
        render = renderer.tool_delta
    last = plan.events - 1
    for index, text in enumerate(planner.chunks(plan)):
        if index == stop_at:
            break
        if index:
            deadline_s += planner.gap_s()
        if index == plan.stall_at:
            deadline_s += plan.stall_s
        await out.wait_until(deadline_s)
        if tool is not None:  # the arguments: {"text": "<the words>"}, in fragments
            text = (TOOL_ARGUMENTS_OPEN if index == 0 else "") + text
            text += TOOL_ARGUMENTS_CLOSE if index == last else ""
        out.event(render(text))
    if plan.fault is Fault.DISCONNECT:
        await out.flush()
        return False
    if plan.fault is Fault.STREAM_ERROR:
        status = planner.config.error_status
        out.events(renderer.error(error_type(status), "injected in-stream error (loadtest mock)"))
    else:
        if plan.stall_at is not None and plan.stall_at >= plan.events:
            await out.wait_until(deadline_s + plan.stall_s)
        if plan.done_delay_s:  # held after the last content event, however late it went
            await out.wait_until(max(deadline_s, trio.current_time()) + plan.done_delay_s)
        finish = plan.finish_reason if tool is None else "tool_calls"
        out.events(renderer.tail(finish, planner.usage(plan, served.include_usage)))
    if ex.chunked:
        out.raw(LAST_CHUNK)
    await out.flush()
    return ex.keep_alive and ex.chunked


async def write_whole(ex: MockExchange) -> bool:
    """Send the planned answer as one JSON body after its generation time. Checkpoint."""
    plan, planner = ex.plan, ex.planner
    due_s = ex.start_s + planner.generation_s(plan)
    if due_s > trio.current_time():
        await trio.sleep_until(due_s)
    reply = Reply(
        id=ex.reply_id,
        model=ex.served.model,
        created_s=ex.created_s,
        text=planner.text(plan),
        finish_reason=plan.finish_reason if plan.tool is None else "tool_calls",
        usage=planner.usage(plan, ex.served.include_usage),
        tool_call=planner.tool_call(plan, ex.reply_id),
        embeddings=planner.vectors(ex.served),
    )
    body = ex.codec.render_body(reply)
    data = response(200, body, ex.extra)
    if plan.fault is Fault.DISCONNECT:
        if plan.cut_mid_body:
            await ex.conn.send(data[: len(data) - len(body) // 2 - 1])
        return False
    await ex.conn.send(data)
    return ex.keep_alive
