"""openai-chat: the OpenAI Chat Completions wire format, both sides.

Client (`OpenAIChatAdapter`): the request body is `model`, `messages` (the
system prompt first, as a "system" message), `max_tokens`, `stream`,
`stream_options.include_usage` (streaming only: it makes the server send a
final usage chunk), `temperature`, `tools` (function tools) and
`tool_choice` ("auto", "required", "none", or `{"type": "function",
"function": {"name": ...}}` for a named tool), then `extra_body` merged on
top. An assistant message with tool calls is sent with its `tool_calls`
(content null when it has no text); a tool result as a "tool" message with
its `tool_call_id`.

Streamed answers, one JSON chunk per SSE `data:` line (requests ask for one
choice, so `choices[0]` is the answer):
- `choices[0].delta.content` that is non-empty is a `ContentDelta`; role-only
  and empty deltas are not content. `delta.reasoning_content` or
  `delta.reasoning` (vLLM, DeepSeek; strings only) is reasoning output.
- `choices[0].delta.tool_calls[i]` -> `ToolCallDelta`: its `index`, and the
  `id` and `function.name` (first piece of a call) and `function.arguments`
  fragment it carries.
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

Non-streamed answers: `choices[0].message.content` and each of its
`tool_calls` (`ToolCallDelta` with the whole arguments).

Server (`OpenAIChatCodec`, for the mock upstream): the same format as the
API sends it, down to ids, `object`, `created`, `index` and a first chunk
carrying `delta: {"role": "assistant", "content": ""}` (a tool-call answer:
`content: null` and the call's id, type and name, then its arguments in
fragments, finish reason "tool_calls"); the chunk prefix of a stream is
built once.

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
    FunctionTool,
    Reply,
    Request,
    ResponseParser,
    ServedRequest,
    ServerCodec,
    StreamRenderer,
    ToolCallDelta,
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
    tool_objects,
)
from loadtest.protocol._registry import register
from loadtest.protocol._sse import SSEStreamParser

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loadtest.protocol._base import Message

__all__ = ["OpenAIChatAdapter", "OpenAIChatCodec"]

PROTOCOL: Final = "openai-chat"
_DONE: Final = b"[DONE]"


# --- client ------------------------------------------------------------------


@register(PROTOCOL)
class OpenAIChatAdapter(Adapter):
    """Client side of `/v1/chat/completions`; see the module docstring."""

    path = "/v1/chat/completions"
    supports_tools = True

    def build_request(self, conversation: Conversation) -> Request:
        messages = [
            {"role": m.role, "content": m.content}
            if not m.tool_calls and m.tool_call_id is None
            else _tool_message(m)
            for m in conversation.messages
        ]
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
        if conversation.tools:
            body["tools"] = [_function_tool(tool) for tool in conversation.tools]
            if conversation.tool_choice is not None:
                body["tool_choice"] = _tool_choice(conversation.tool_choice)
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


def _tool_message(message: Message) -> dict[str, Any]:
    """An assistant message with tool calls, or a tool result."""
    if message.tool_call_id is not None:
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    calls = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in message.tool_calls
    ]
    return {"role": message.role, "content": message.content or None, "tool_calls": calls}


def _function_tool(tool: FunctionTool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    function["parameters"] = tool.parameters
    return {"type": "function", "function": function}


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _tool_call_deltas(calls: object, where: str, path: str, out: list[Event]) -> None:
    """`ToolCallDelta`s of a `tool_calls` list (streamed pieces or whole calls)."""
    if type(calls) is not list:
        raise MalformedError(f'{where}: expected "{path}" to be a list, got {describe(calls)}')
    for position, call in enumerate(calls):
        at = f"{path}[{position}]."
        if type(call) is not dict:
            raise MalformedError(
                f'{where}: expected "{at[:-1]}" to be an object, got {describe(call)}'
            )
        index = expect(call, "index", int, where, at)
        function = expect(call, "function", dict, where, at) or {}
        name = expect(function, "name", str, where, f"{at}function.")
        arguments = expect(function, "arguments", str, where, f"{at}function.") or ""
        call_id = expect(call, "id", str, where, at)
        out.append(ToolCallDelta(position if index is None else index, arguments, call_id, name))


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
            calls = delta.get("tool_calls")
            if calls is not None:
                _tool_call_deltas(calls, self._where(), "choices[0].delta.tool_calls", out)
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
    calls = message.get("tool_calls")
    if calls is not None:
        _tool_call_deltas(calls, where, "choices[0].message.tool_calls", events)
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


def _offered_tools(doc: Mapping[str, Any], where: str) -> tuple[tuple[str, ...], bool]:
    """The names of the tools a request lets the answer call, and whether it
    must call one (`ServedRequest.tools`, `.tool_required`)."""
    names = []
    for index, tool in enumerate(tool_objects(doc, where)):
        function = require(tool, "function", dict, where, f"tools[{index}].")
        names.append(require(function, "name", str, where, f"tools[{index}].function."))
    choice = doc.get("tool_choice")
    if not names or choice == "none":
        return (), False
    if isinstance(choice, dict):
        function = require(choice, "function", dict, where, "tool_choice.")
        return (require(function, "name", str, where, "tool_choice.function."),), True
    return tuple(names), choice == "required"


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
        tools, required = _offered_tools(doc, where)
        return ServedRequest(
            model,
            "\n".join(texts),
            max_tokens,
            stream,
            include_usage,
            ignore_eos,
            tools=tools,
            tool_required=required,
        )

    def render_body(self, reply: Reply) -> bytes:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text,
            "refusal": None,
            "annotations": [],
        }
        call = reply.tool_call
        if call is not None:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            ]
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

    def tool_head(self, call_id: str, name: str) -> bytes:
        call = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        delta = {"role": "assistant", "content": None, "tool_calls": [call]}
        choice = b'[{"index":0,"delta":' + orjson.dumps(delta)
        return self._chunk_prefix + choice + _CHOICE_END

    def tool_delta(self, arguments: str) -> bytes:
        return (
            self._chunk_prefix
            + b'[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":'
            + orjson.dumps(arguments)
            + b"}}]}"
            + _CHOICE_END
        )

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
