"""One turn: build the request, send it, time every event, decide the outcome.

Rules (docs/metrics.md defines each measure):
- All times come from trio's clock, in one place: a turn starts when it is
  about to take a connection (so a new connection's DNS, connect and TLS time
  are part of its latency); TTFB is the first response byte; TTFT the first
  content-bearing event (streamed turns only); every later content-bearing
  event adds one inter-token gap. Events read in one socket read share its
  time stamp.
- A streamed turn has two end points, both stamped in `_stream_end` only:
  the last content token, and the end of the stream (the protocol's end
  event or the body end, whichever the turn ends on). TPOT ends at the last
  token; the stream tail runs from it to the end of the stream.
- A chunk carrying k tokens adds its gap once and k-1 zero gaps. When the
  protocol does not say per chunk, the zero gaps total completion_tokens
  minus content chunks (from the server's usage).
- A tool-call piece carrying the call's name or a fragment of its arguments
  is content-bearing, timed as above (its first one can be TTFT); the
  arguments count as output text. An embeddings answer has no content
  events: it is measured by its latency only.
- Outcome: a transport failure's class; else a non-2xx status or an error
  event's class; else `empty_completion` when a 2xx answer carried no
  content (no text, no tool call, no embedding); else ok. A turn cut off
  by its stage's end is `interrupted`; one cut off by `timeouts.total`
  fails with `timeout_total`.
- Token counts are the server's; when it reports none, `estimate_tokens`
  of the prompt or answer text, and the turn is flagged `tokens_estimated`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import trio

from loadtest import taxonomy
from loadtest.config import scrub
from loadtest.engine._transport import Exchange, TransportFailure
from loadtest.metrics import Phases, TurnRecord
from loadtest.protocol import (
    Adapter,
    ContentDelta,
    Conversation,
    Embeddings,
    ResponseError,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from loadtest.tokens import estimate_tokens

if TYPE_CHECKING:
    from collections.abc import Callable

    from loadtest.engine._http1 import ResponseHead
    from loadtest.engine._scenario import ScenarioRuntime
    from loadtest.engine._transport import ConnectionPool
    from loadtest.protocol import Event, ResponseParser

__all__ = ["TurnResult", "TurnSpec", "run_turn"]

_DETAIL_CHARS = 300


class _Listener:
    """Collects one response's events with their times (the ResponseHandler)."""

    __slots__ = (
        "adapter",
        "cached",
        "chunks",
        "completion",
        "error",
        "gaps_us",
        "last_content",
        "parser",
        "prompt",
        "reasoning",
        "reply",
        "status",
        "stream",
        "text_chars",
        "token_extra",
        "tool_calls",
        "ttft_at",
        "vectors",
    )

    def __init__(self, adapter: Adapter, stream: bool) -> None:
        self.adapter = adapter
        self.stream = stream
        self.parser: ResponseParser | None = None
        self.status: int | None = None
        self.ttft_at: float | None = None
        self.last_content = 0.0
        self.gaps_us: list[int] = []
        self.chunks = 0
        self.token_extra: int | None = 0
        self.text_chars = 0
        self.reply: list[str] = []
        self.reasoning: list[str] = []
        self.prompt: int | None = None
        self.completion: int | None = None
        self.cached: int | None = None
        self.error: ResponseError | None = None
        self.tool_calls: dict[int, list[str]] = {}
        self.vectors = 0

    def on_head(self, head: ResponseHead, now: float) -> None:
        self.status = head.status
        self.parser = self.adapter.open_response(head.status, head.headers, self.stream)

    def on_body(self, data: bytes, now: float) -> bool:
        parser = self.parser
        assert parser is not None
        self._events(parser.feed(data), now)
        return parser.complete

    def end(self, now: float) -> None:
        if self.parser is not None:
            self._events(self.parser.end(), now)

    def _events(self, events: list[Event], now: float) -> None:
        for event in events:
            if type(event) is ContentDelta:  # the common event, inline
                text = event.text
                if text:
                    self._output(now, len(text), event.tokens)
                    (self.reasoning if event.reasoning else self.reply).append(text)
            else:
                self._event(event, now)

    def _event(self, event: object, now: float) -> None:
        kind = type(event)
        if kind is Usage:
            assert isinstance(event, Usage)
            self.prompt = event.prompt_tokens if event.prompt_tokens is not None else self.prompt
            self.completion = (
                event.completion_tokens if event.completion_tokens is not None else self.completion
            )
            self.cached = event.cached_tokens if event.cached_tokens is not None else self.cached
        elif kind is ToolCallDelta:
            assert isinstance(event, ToolCallDelta)
            self._tool_call(event, now)
        elif kind is Embeddings:
            assert isinstance(event, Embeddings)
            self.vectors += event.count
        elif kind is ResponseError and self.error is None:
            assert isinstance(event, ResponseError)
            self.error = event

    def _tool_call(self, delta: ToolCallDelta, now: float) -> None:
        call = self.tool_calls.setdefault(delta.index, ["", "", ""])  # id, name, arguments
        if delta.id:
            call[0] = delta.id
        if delta.name:
            call[1] += delta.name
        if delta.arguments:
            call[2] += delta.arguments
        if delta.name or delta.arguments:
            self._output(now, len(delta.arguments), None)

    def calls(self) -> tuple[ToolCall, ...]:
        """The tool calls the answer made, in their order."""
        return tuple(
            ToolCall(call_id or f"call_{index}", name, arguments)
            for index, (call_id, name, arguments) in sorted(self.tool_calls.items())
        )

    def _output(self, now: float, chars: int, tokens: int | None) -> None:
        """Time one content-bearing event of `chars` characters, carrying
        `tokens` tokens when the protocol says."""
        if self.ttft_at is None:
            self.ttft_at = now
        else:
            self.gaps_us.append(round((now - self.last_content) * 1e6))
        self.last_content = now
        self.chunks += 1
        self.text_chars += chars
        if tokens is None or self.token_extra is None:
            self.token_extra = None
        else:
            self.token_extra += max(tokens - 1, 0)


@attrs.frozen
class TurnSpec:
    """Who a turn is: its place in the run, and when it was meant to start."""

    stage: int
    scenario_index: int
    conversation_id: str
    turn: int
    warmup: bool
    start_unix_s: float
    lag_us: int | None = None


@attrs.frozen
class TurnResult:
    """A finished turn: its record, and the assistant's reply for the
    history (its text, and the tool calls it made)."""

    record: TurnRecord
    reply: str
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def ok(self) -> bool:
        return self.record.outcome == "ok"


async def run_turn(
    pool: ConnectionPool,
    scenario: ScenarioRuntime,
    conversation: Conversation,
    spec: TurnSpec,
    on_interrupt: Callable[[TurnRecord], None],
) -> TurnResult:
    """Send one turn and measure it. Never raises for a failed request; a
    cancellation (the stage's end) hands an `interrupted` record to
    `on_interrupt` and propagates."""
    request = scenario.adapter.build_request(conversation)
    request_id = f"{spec.conversation_id}-t{spec.turn}"
    header = (scenario.correlation_header, request_id) if scenario.correlation_header else None
    payload = scenario.template.encode(request.body, header)
    listener = _Listener(scenario.adapter, conversation.stream)
    now = trio.current_time
    started = now()
    exchange = Exchange(started=started)
    failure: TransportFailure | None = None
    try:
        deadline = started + scenario.total_timeout_s
        await pool.send(scenario.origin, payload, listener, exchange, deadline)
    except TransportFailure as exc:
        failure = exc
    except trio.Cancelled:
        on_interrupt(_interrupted(scenario, spec, request_id, exchange, now()))
        raise
    ended = exchange.ended if failure is None else now()
    if failure is None:
        listener.end(ended)
    record = _record(scenario, conversation, spec, request_id, listener, exchange, ended, failure)
    return TurnResult(record, "".join(listener.reply), listener.calls())


def _interrupted(
    scenario: ScenarioRuntime, spec: TurnSpec, request_id: str, exchange: Exchange, ended: float
) -> TurnRecord:
    return TurnRecord(
        stage=spec.stage,
        scenario=scenario.plan.name,
        scenario_index=spec.scenario_index,
        conversation=spec.conversation_id,
        turn=spec.turn,
        stream=scenario.plan.stream,
        start_unix_s=spec.start_unix_s,
        warmup=spec.warmup,
        outcome="interrupted",
        request_id=request_id,
        latency_us=_us(exchange.started, ended),
        ttfb_us=_us(exchange.started, exchange.first_byte) if exchange.first_byte else None,
        lag_us=spec.lag_us,
        retries=exchange.retries,
    )


def _us(start: float, end: float) -> int:
    return round((end - start) * 1e6)


def _decide(listener: _Listener, failure: TransportFailure | None) -> tuple[str | None, str | None]:
    """(error class, detail), or (None, None) for an ok turn."""
    if failure is not None:
        return failure.error_class, failure.detail
    if listener.error is not None:
        return listener.error.error_class, listener.error.message
    status = listener.status
    status_class = (
        taxonomy.class_for_status(status) if status is not None else taxonomy.BAD_RESPONSE
    )
    if status_class is not None:
        return status_class, f"HTTP {status}"
    if not listener.chunks and not listener.vectors:
        return taxonomy.EMPTY_COMPLETION, f"HTTP {status} with no content"
    return None, None


def _record(
    scenario: ScenarioRuntime,
    conversation: Conversation,
    spec: TurnSpec,
    request_id: str,
    listener: _Listener,
    exchange: Exchange,
    ended: float,
    failure: TransportFailure | None,
) -> TurnRecord:
    error_class, detail = _decide(listener, failure)
    started = exchange.started
    first_byte = exchange.first_byte or None
    ok = error_class is None
    prompt, completion, estimated = _tokens(listener, conversation, ok)
    ttft_us = (
        _us(started, listener.ttft_at)
        if listener.ttft_at is not None and conversation.stream
        else None
    )
    latency_us = _us(started, ended)
    generation_us, tail_us = _stream_end(listener, conversation, ended, failure)
    tpot_us = None
    if ok and generation_us is not None and completion is not None and completion >= 2:
        tpot_us = generation_us // (completion - 1)
    zeros = listener.token_extra
    if zeros is None:
        reported = listener.completion
        zeros = max(reported - listener.chunks, 0) if reported is not None else 0
    return TurnRecord(
        stage=spec.stage,
        scenario=scenario.plan.name,
        scenario_index=spec.scenario_index,
        conversation=spec.conversation_id,
        turn=spec.turn,
        stream=conversation.stream,
        start_unix_s=spec.start_unix_s,
        warmup=spec.warmup,
        outcome="ok" if ok else "error",
        request_id=request_id,
        error_class=error_class,
        error_detail=scrub(detail, scenario.plan.secret_values)[:_DETAIL_CHARS] if detail else None,
        status=listener.status,
        latency_us=latency_us,
        ttfb_us=_us(started, first_byte) if first_byte is not None else None,
        ttft_us=ttft_us,
        tpot_us=tpot_us,
        itl_gaps_us=tuple(listener.gaps_us) if conversation.stream else (),
        itl_zeros=zeros if conversation.stream and listener.chunks else 0,
        tail_us=tail_us,
        chunks=listener.chunks,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=listener.cached,
        tokens_estimated=estimated,
        content_chars=listener.text_chars,
        phases=Phases(
            dns_us=exchange.dns_us,
            connect_us=exchange.connect_us,
            tls_us=exchange.tls_us,
            write_us=exchange.write_us if exchange.sent else None,
            wait_us=_us(exchange.sent, first_byte) if first_byte and exchange.sent else None,
            transfer_us=_us(first_byte, ended) if first_byte is not None else None,
        ),
        lag_us=spec.lag_us,
        retries=exchange.retries,
    )


def _stream_end(
    listener: _Listener,
    conversation: Conversation,
    ended: float,
    failure: TransportFailure | None,
) -> tuple[int | None, int | None]:
    """(first to last content token, last content token to the end of the
    stream) in µs, for a streamed turn that carried content; the tail only
    when the stream ended rather than failed. `ended` is the end of the
    stream: the protocol's end event or the body end, whichever the turn
    ended on."""
    if not conversation.stream or listener.ttft_at is None:
        return None, None
    generation_us = _us(listener.ttft_at, listener.last_content)
    return generation_us, _us(listener.last_content, ended) if failure is None else None


def _tokens(
    listener: _Listener, conversation: Conversation, ok: bool
) -> tuple[int | None, int | None, bool]:
    """(prompt, completion, estimated): the server's counts, else estimates
    for ok turns."""
    prompt, completion = listener.prompt, listener.completion
    if not ok or (prompt is not None and completion is not None):
        return prompt, completion, False
    if prompt is None:
        parts = [conversation.system or "", *(m.content for m in conversation.messages)]
        prompt = estimate_tokens("\n".join(parts))
    if completion is None:
        arguments = "".join(call[2] for call in listener.tool_calls.values())
        completion = estimate_tokens(
            "".join(listener.reasoning) + "".join(listener.reply) + arguments
        )
    return prompt, completion, True
