"""openai-chat: the OpenAI Chat Completions wire format, both sides.

Client (`OpenAIChatAdapter`): the request body is `model`, `messages` (the
system prompt first, as a "system" message), `max_tokens`, `stream`,
`stream_options.include_usage` (streaming only: it makes the server send a
final usage chunk) and `temperature`, then `extra_body` merged on top.

Streamed answers, one JSON chunk per SSE `data:` line (requests ask for one
choice, so `choices[0]` is the answer):
- `choices[0].delta.content` that is non-empty is a `ContentDelta`; role-only
  and empty deltas are not content. `delta.reasoning_content` or
  `delta.reasoning` (vLLM, DeepSeek; strings only) is reasoning output.
- A chunk with no choices (`[]`, null or absent) and a `usage` object is the
  usage chunk -> `Usage`. Chunks with choices that also carry `usage` (vLLM's
  `continuous_usage_stats`) give each `ContentDelta` its token count from the
  change in `completion_tokens`; the last such usage is reported before
  `Finish` if no usage chunk came. A chunk with `choices: []` and no usage
  (Azure's `prompt_filter_results`) is ignored.
- `data: [DONE]` ends the stream -> `Finish(last finish_reason)`. A body
  that ends without `[DONE]` after a `finish_reason` is complete too; one
  that ends with neither is `stream_truncated`.
- `{"error": {...}}` in the stream -> `ResponseError`, classed by
  `_common.error_class_for` from its code and type.

Server (`OpenAIChatCodec`, for the mock upstream): the same format as the
API sends it, down to ids, `object`, `created`, `index` and a first chunk
carrying `delta: {"role": "assistant", "content": ""}`; the chunk prefix of
a stream is built once.

Pure and sync; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import orjson

from loadtest.protocol._base import (
    Adapter,
    ContentDelta,
    Conversation,
    Event,
    Finish,
    Reply,
    Request,
    ResponseParser,
    ServedRequest,
    ServerCodec,
    StreamRenderer,
    Usage,
)
from loadtest.protocol._common import (
    JSONBodyParser,
    MalformedError,
    content_text,
    describe,
    error_details,
    expect,
    load_request,
    open_parser,
    openai_error_body,
    reported_error,
    request_headers,
    require,
    sse_frame,
)
from loadtest.protocol._registry import register
from loadtest.protocol._sse import SSEStreamParser

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["OpenAIChatAdapter", "OpenAIChatCodec"]

PROTOCOL: Final = "openai-chat"
_DONE: Final = b"[DONE]"


# --- client ------------------------------------------------------------------


@register(PROTOCOL)
class OpenAIChatAdapter(Adapter):
    """Client side of `/v1/chat/completions`; see the module docstring."""

    path = "/v1/chat/completions"

    def build_request(self, conversation: Conversation) -> Request:
        messages = [{"role": m.role, "content": m.content} for m in conversation.messages]
        if conversation.system is not None:
            messages.insert(0, {"role": "system", "content": conversation.system})
        body: dict[str, Any] = {"model": conversation.model, "messages": messages}
        if conversation.max_tokens is not None:
            body["max_tokens"] = conversation.max_tokens
        body["stream"] = conversation.stream
        if conversation.stream:
            body["stream_options"] = {"include_usage": True}
        if conversation.temperature is not None:
            body["temperature"] = conversation.temperature
        body.update(conversation.extra_body)
        headers = request_headers(conversation.stream)
        return Request(headers, orjson.dumps(body))

    def scenario_headers(self, *, model: str, stream: bool) -> tuple[tuple[str, str], ...]:
        del model  # the same headers for every model
        return request_headers(stream)

    def open_response(
        self, status: int, headers: Mapping[str, str], stream: bool
    ) -> ResponseParser:
        return open_parser(PROTOCOL, status, headers, stream, _StreamParser, _body_parser)

    def server_codec(self) -> ServerCodec:
        return OpenAIChatCodec()


def _usage(usage: object, where: str) -> Usage:
    if not isinstance(usage, dict):
        raise MalformedError(f'{where}: expected "usage" to be an object, got {describe(usage)}')
    details = expect(usage, "prompt_tokens_details", dict, where, "usage.")
    cached = None
    if details is not None:
        cached = expect(details, "cached_tokens", int, where, "usage.prompt_tokens_details.")
    return Usage(
        prompt_tokens=expect(usage, "prompt_tokens", int, where, "usage."),
        completion_tokens=expect(usage, "completion_tokens", int, where, "usage."),
        cached_tokens=cached,
    )


def _reasoning_of(delta: Mapping[str, Any]) -> str | None:
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    return reasoning if isinstance(reasoning, str) and reasoning else None


class _StreamParser(SSEStreamParser):
    protocol = PROTOCOL

    def __init__(self) -> None:
        super().__init__()
        self._finish_reason: str | None = None
        self._completion_tokens_seen = 0
        self._running_usage: Usage | None = None

    def _on_event(self, name: bytes, data: bytes, out: list[Event]) -> None:
        if data == _DONE:
            self._finish(out)
            return
        doc = orjson.loads(data)
        if type(doc) is not dict:
            raise MalformedError(f"{self._where()}: expected a JSON object, got {describe(doc)}")
        choices = doc.get("choices")
        if type(choices) is list and choices:
            self._on_choice(choices[0], doc.get("usage"), out)
        elif doc.get("error") is not None:
            self._error(out, reported_error(self._where(), *error_details(doc)))
        else:
            self._on_choiceless(doc, out)

    def _on_choice(self, choice: object, usage: object, out: list[Event]) -> None:
        if type(choice) is not dict:
            raise MalformedError(
                f'{self._where()}: expected "choices[0]" to be an object, got {describe(choice)}'
            )
        tokens = None if usage is None else self._count_running(usage)
        delta = choice.get("delta")
        if delta is not None:
            if type(delta) is not dict:
                delta = require(choice, "delta", dict, self._where(), "choices[0].")
            content = delta.get("content")
            if content is not None and type(content) is not str:
                expect(delta, "content", str, self._where(), "choices[0].delta.")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning and type(reasoning) is str:
                out.append(ContentDelta(reasoning, None if content else tokens, True))
            if content:
                out.append(ContentDelta(content, tokens))
        finish_reason = choice.get("finish_reason")
        if finish_reason is not None:
            self._finish_reason = require(
                choice, "finish_reason", str, self._where(), "choices[0]."
            )

    def _count_running(self, usage: object) -> int | None:
        """Remember a running usage; the completion tokens it adds."""
        self._running_usage = running = _usage(usage, self._where())
        if running.completion_tokens is None:
            return None
        added = running.completion_tokens - self._completion_tokens_seen
        self._completion_tokens_seen = running.completion_tokens
        return added if added >= 0 else None

    def _on_choiceless(self, doc: dict[str, Any], out: list[Event]) -> None:
        where = self._where()
        if "usage" not in doc or doc["usage"] is None:
            require(doc, "choices", list, where)  # [] with no usage is a no-op chunk
            return
        expect(doc, "choices", list, where)
        out.append(_usage(doc["usage"], where))
        self._running_usage = None

    def _finish(self, out: list[Event]) -> None:
        if self._running_usage is not None:
            out.append(self._running_usage)
        out.append(Finish(self._finish_reason))
        self._close()

    def _on_end(self) -> list[Event]:
        if self._finish_reason is None:
            return self._truncated("data: [DONE] or a finish_reason")
        out: list[Event] = []
        self._finish(out)
        return out


def _body_events(doc: dict[str, Any], where: str) -> list[Event]:
    if "choices" not in doc and doc.get("error") is not None:
        return [reported_error(where, *error_details(doc))]
    choices = require(doc, "choices", list, where)
    if not choices or not isinstance(choices[0], dict):
        got = describe(choices[0]) if choices else "an empty list"
        raise MalformedError(f'{where}: expected "choices[0]" to be an object, got {got}')
    choice = choices[0]
    message = require(choice, "message", dict, where, "choices[0].")
    content = expect(message, "content", str, where, "choices[0].message.")
    usage = None if doc.get("usage") is None else _usage(doc["usage"], where)
    events: list[Event] = []
    reasoning = _reasoning_of(message)
    if reasoning is not None:
        events.append(ContentDelta(reasoning, reasoning=True))
    if content:
        events.append(ContentDelta(content, None if usage is None else usage.completion_tokens))
    if usage is not None:
        events.append(usage)
    events.append(Finish(expect(choice, "finish_reason", str, where, "choices[0].")))
    return events


def _body_parser() -> ResponseParser:
    return JSONBodyParser(PROTOCOL, _body_events)


# --- server ------------------------------------------------------------------

_FINISH_REASONS: Final[Mapping[str, str]] = {"stop": "stop", "length": "length"}


def _finish_reason(neutral: str) -> str:
    return _FINISH_REASONS.get(neutral, neutral)


def _usage_json(usage: Usage) -> dict[str, Any]:
    prompt = usage.prompt_tokens or 0
    completion = usage.completion_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens or 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class OpenAIChatCodec(ServerCodec):
    """Server side of `/v1/chat/completions`, for the mock upstream."""

    def parse_request(self, body: bytes) -> ServedRequest:
        where = f"{PROTOCOL} request"
        doc = load_request(body, PROTOCOL)
        model = require(doc, "model", str, where)
        messages = require(doc, "messages", list, where)
        if not messages:
            raise MalformedError(f'{where}: "messages" is empty; send at least one message')
        texts = []
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                got = describe(message)
                raise MalformedError(
                    f'{where}: expected "messages[{index}]" to be an object, got {got}'
                )
            require(message, "role", str, where, f"messages[{index}].")
            texts.append(content_text(message.get("content"), f"{where}: messages[{index}]"))
        max_tokens = expect(doc, "max_completion_tokens", int, where)
        if max_tokens is None:
            max_tokens = expect(doc, "max_tokens", int, where)
        stream = expect(doc, "stream", bool, where) or False
        include_usage = True
        if stream:
            options = expect(doc, "stream_options", dict, where) or {}
            include_usage = bool(expect(options, "include_usage", bool, where, "stream_options."))
        ignore_eos = bool(expect(doc, "ignore_eos", bool, where))  # vLLM's extension
        return ServedRequest(model, "\n".join(texts), max_tokens, stream, include_usage, ignore_eos)

    def render_body(self, reply: Reply) -> bytes:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text,
            "refusal": None,
            "annotations": [],
        }
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": _finish_reason(reply.finish_reason),
        }
        doc: dict[str, Any] = {
            "id": reply.id,
            "object": "chat.completion",
            "created": reply.created_s,
            "model": reply.model,
            "choices": [choice],
            "service_tier": "default",
            "system_fingerprint": None,
        }
        if reply.usage is not None:
            doc["usage"] = _usage_json(reply.usage)
        return orjson.dumps(doc)

    def open_stream(
        self, reply_id: str, model: str, created_s: int, prompt_usage: Usage | None
    ) -> StreamRenderer:
        return _ChatStreamRenderer(reply_id, model, created_s)

    def render_error(self, status: int, message: str) -> bytes:
        return openai_error_body(status, message)


_CHOICE_END: Final = b',"logprobs":null,"finish_reason":null}]}\n\n'


class _ChatStreamRenderer(StreamRenderer):
    """One streamed chat completion; every chunk shares one prefix."""

    __slots__ = ("_chunk_prefix", "_content_prefix")

    def __init__(self, reply_id: str, model: str, created_s: int) -> None:
        self._chunk_prefix = (
            b'data: {"id":'
            + orjson.dumps(reply_id)
            + b',"object":"chat.completion.chunk","created":'
            + orjson.dumps(created_s)
            + b',"model":'
            + orjson.dumps(model)
            + b',"system_fingerprint":null,"choices":'
        )
        self._content_prefix = self._chunk_prefix + b'[{"index":0,"delta":{"content":'

    def head(self) -> bytes:
        role_delta = b'[{"index":0,"delta":{"role":"assistant","content":""}'
        return self._chunk_prefix + role_delta + _CHOICE_END

    def delta(self, text: str) -> bytes:
        return self._content_prefix + orjson.dumps(text) + b"}" + _CHOICE_END

    def tail(self, finish_reason: str, usage: Usage | None) -> bytes:
        reason = orjson.dumps(_finish_reason(finish_reason))
        finish = b'[{"index":0,"delta":{},"logprobs":null,"finish_reason":' + reason + b"}]}\n\n"
        parts = [self._chunk_prefix + finish]
        if usage is not None:
            usage_json = orjson.dumps(_usage_json(usage))
            parts.append(self._chunk_prefix + b'[],"usage":' + usage_json + b"}\n\n")
        parts.append(b"data: [DONE]\n\n")
        return b"".join(parts)

    def error(self, error_type: str, message: str) -> bytes:
        error = {"message": message, "type": error_type, "param": None, "code": None}
        return sse_frame(None, {"error": error})
