"""anthropic: the Anthropic Messages wire format (`/v1/messages`), both sides.

Client (`AnthropicAdapter`): the request body is `model`, `max_tokens` (the
API requires it: the conversation's, else 1024), `messages`, `system` (a
string), `stream` (only when streaming), `temperature`, `tools` (`name`,
`description`, `input_schema`: the tool's parameters) and `tool_choice`
(auto -> `{"type": "auto"}`, required -> `any`, none -> `none`, a name ->
`{"type": "tool", "name": ...}`), then `extra_body` merged on top.
`anthropic-version` is not added here: it comes from the profile's headers.
An assistant message with tool calls is sent as content blocks (its text,
then a `tool_use` block per call, `input` parsed from the call's arguments,
`{}` when they do not parse as an object); tool results become
`tool_result` blocks leading the next user message, as the API requires.

Streamed answers are named SSE events; each event's JSON `type` field names
it too and is what is read (the `event:` line is the fallback):
- `message_start`: `message.usage` -> `Usage` with prompt_tokens =
  input_tokens + cache_read_input_tokens + cache_creation_input_tokens and
  cached_tokens = cache_read_input_tokens.
- `content_block_delta`: a `text_delta` is a `ContentDelta`, a
  `thinking_delta` is reasoning, an `input_json_delta` is a `ToolCallDelta`
  (its `partial_json`) of the block's index; other delta types
  (`signature_delta`) are not output.
- `content_block_start` of a `tool_use` block -> `ToolCallDelta` with its id
  and name (the block's index is the call's).
- `message_delta`: `delta.stop_reason` is remembered; `usage.output_tokens`
  -> `Usage(completion_tokens=...)` (and the prompt side when the event
  repeats it).
- `message_stop` is terminal -> `Finish(stop_reason)`.
- `error` -> `ResponseError`: overloaded_error, api_error and unknown types
  are http_5xx, rate_limit_error http_429, invalid_request_error,
  authentication_error, permission_error, not_found_error and
  request_too_large http_4xx (`_common.error_class_for`).
- `ping`, other `content_block_start`s, `content_block_stop` and unknown event
  types are ignored (the API may add events). A body that ends before
  `message_stop` is `stream_truncated`.

Non-streamed answers: `text`, `thinking` and `tool_use` blocks (the latter
a `ToolCallDelta` with its input as JSON text).

Server (`AnthropicCodec`, for the mock upstream): `message_start` with the
full message skeleton, `content_block_start`, a `ping`, text deltas,
`content_block_stop`, `message_delta`, `message_stop`, as the API sends
them (a tool-call answer: a `tool_use` block, `input_json_delta`s, stop
reason `tool_use`). Without usage (`--no-usage`) the `usage` objects are left out: raw
streams still parse with the anthropic SDK, but its `messages.stream()`
helper needs `message_delta.usage` (the real API always sends it).

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
    reported_error,
    request_headers,
    require,
    sse_frame,
    tool_objects,
)
from loadtest.protocol._registry import register
from loadtest.protocol._sse import SSEStreamParser

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from loadtest.protocol._base import Message

__all__ = ["AnthropicAdapter", "AnthropicCodec"]

PROTOCOL: Final = "anthropic"
#: The Messages API requires max_tokens; sent when the conversation sets none.
DEFAULT_MAX_TOKENS: Final = 1024


# --- client ------------------------------------------------------------------


@register(PROTOCOL)
class AnthropicAdapter(Adapter):
    """Client side of `/v1/messages`; see the module docstring."""

    path = "/v1/messages"
    supports_tools = True

    @classmethod
    def header_warnings(cls, header_names: Collection[str]) -> list[str]:
        """The Anthropic API requires an anthropic-version header: a scenario
        without one gets a warning (many gateways add it themselves)."""
        if "anthropic-version" in header_names:
            return []
        return [
            "anthropic protocol without an anthropic-version header "
            "(the Anthropic API requires one; many gateways add it)"
        ]

    def build_request(self, conversation: Conversation) -> Request:
        max_tokens = conversation.max_tokens
        body: dict[str, Any] = {
            "model": conversation.model,
            "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
            "messages": _messages(conversation.messages),
        }
        if conversation.system is not None:
            body["system"] = conversation.system
        if conversation.stream:
            body["stream"] = True
        if conversation.temperature is not None:
            body["temperature"] = conversation.temperature
        if conversation.tools:
            body["tools"] = [_tool(tool) for tool in conversation.tools]
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
        return AnthropicCodec()


def _messages(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """The Messages API's messages: tool calls as `tool_use` blocks, tool
    results as `tool_result` blocks leading the next user message."""
    out: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for m in messages:
        if m.tool_call_id is not None:
            results.append(
                {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            )
        elif m.tool_calls:
            blocks: list[dict[str, Any]] = (
                [{"type": "text", "text": m.content}] if m.content else []
            )
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _input(c.arguments)}
                for c in m.tool_calls
            ]
            out.append({"role": m.role, "content": blocks})
        elif results:
            content = [*results, {"type": "text", "text": m.content}]
            out.append({"role": m.role, "content": content})
            results = []
        else:
            out.append({"role": m.role, "content": m.content})
    if results:
        out.append({"role": "user", "content": results})
    return out


def _input(arguments: str) -> Any:
    """A tool call's arguments as the object `tool_use.input` holds."""
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool(tool: FunctionTool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    out["input_schema"] = tool.parameters
    return out


_CHOICE_TYPES: Final[Mapping[str, str]] = {"auto": "auto", "required": "any", "none": "none"}


def _tool_choice(choice: str) -> dict[str, Any]:
    kind = _CHOICE_TYPES.get(choice)
    return {"type": "tool", "name": choice} if kind is None else {"type": kind}


def _usage(usage: Mapping[str, Any], where: str, path: str) -> Usage:
    """Prompt and completion counts of a `usage` object; prompt_tokens counts
    cached and cache-writing input too, as the other protocols do."""
    input_tokens = expect(usage, "input_tokens", int, where, path)
    cache_read = expect(usage, "cache_read_input_tokens", int, where, path)
    cache_creation = expect(usage, "cache_creation_input_tokens", int, where, path)
    prompt = None
    if input_tokens is not None:
        prompt = input_tokens + (cache_read or 0) + (cache_creation or 0)
    completion = expect(usage, "output_tokens", int, where, path)
    return Usage(prompt, completion, cache_read)


class _StreamParser(SSEStreamParser):
    protocol = PROTOCOL

    def __init__(self) -> None:
        super().__init__()
        self._stop_reason: str | None = None

    def _on_event(self, name: bytes, data: bytes, out: list[Event]) -> None:
        doc = orjson.loads(data)
        if type(doc) is not dict:
            raise MalformedError(f"{self._where()}: expected a JSON object, got {describe(doc)}")
        kind = doc.get("type")
        if type(kind) is not str:
            if kind is not None or not name:
                require(doc, "type", str, self._where())
            kind = name.decode("utf-8", "replace")
        if kind == "content_block_delta":
            self._on_block_delta(doc, out)
        elif kind == "message_start":
            message = require(doc, "message", dict, self._where())
            usage = expect(message, "usage", dict, self._where(), "message.")
            if usage is not None:
                prompt = _usage(usage, self._where(), "message.usage.")
                out.append(Usage(prompt.prompt_tokens, None, prompt.cached_tokens))
        elif kind == "message_delta":
            self._on_message_delta(doc, out)
        elif kind == "content_block_start":
            self._on_block_start(doc, out)
        elif kind == "message_stop":
            out.append(Finish(self._stop_reason))
            self._close()
        elif kind == "error":
            self._error(out, reported_error(self._where(), *error_details(doc)))

    def _on_block_delta(self, doc: dict[str, Any], out: list[Event]) -> None:
        delta = doc.get("delta")
        if type(delta) is not dict:
            delta = require(doc, "delta", dict, self._where())
        delta_type = delta.get("type")
        if delta_type == "text_delta":
            text = delta.get("text")
            if type(text) is not str:
                text = require(delta, "text", str, self._where(), "delta.")
            if text:
                out.append(ContentDelta(text))
        elif delta_type == "thinking_delta":
            thinking = require(delta, "thinking", str, self._where(), "delta.")
            if thinking:
                out.append(ContentDelta(thinking, reasoning=True))
        elif delta_type == "input_json_delta":
            partial = require(delta, "partial_json", str, self._where(), "delta.")
            if partial:
                out.append(ToolCallDelta(require(doc, "index", int, self._where()), partial))

    def _on_block_start(self, doc: dict[str, Any], out: list[Event]) -> None:
        block = require(doc, "content_block", dict, self._where())
        if block.get("type") == "tool_use":
            where = self._where()
            out.append(
                ToolCallDelta(
                    require(doc, "index", int, where),
                    "",
                    require(block, "id", str, where, "content_block."),
                    require(block, "name", str, where, "content_block."),
                )
            )

    def _on_message_delta(self, doc: dict[str, Any], out: list[Event]) -> None:
        where = self._where()
        delta = expect(doc, "delta", dict, where)
        if delta is not None:
            stop_reason = expect(delta, "stop_reason", str, where, "delta.")
            if stop_reason is not None:
                self._stop_reason = stop_reason
        usage = expect(doc, "usage", dict, where)
        if usage is not None:
            counts = _usage(usage, where, "usage.")
            if counts != Usage():
                out.append(counts)

    def _on_end(self) -> list[Event]:
        return self._truncated("message_stop")


def _body_events(doc: dict[str, Any], where: str) -> list[Event]:
    if doc.get("type") == "error":
        return [reported_error(where, *error_details(doc))]
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[Event] = []
    for index, block in enumerate(require(doc, "content", list, where)):
        if not isinstance(block, dict):
            got = describe(block)
            raise MalformedError(f'{where}: expected "content[{index}]" to be an object, got {got}')
        block_type = block.get("type")
        if block_type == "text":
            texts.append(require(block, "text", str, where, f"content[{index}]."))
        elif block_type == "thinking":
            thoughts.append(require(block, "thinking", str, where, f"content[{index}]."))
        elif block_type == "tool_use":
            at = f"content[{index}]."
            call_input = block.get("input", {})
            arguments = orjson.dumps(call_input).decode()
            call_id = require(block, "id", str, where, at)
            calls.append(
                ToolCallDelta(index, arguments, call_id, require(block, "name", str, where, at))
            )
    usage_doc = expect(doc, "usage", dict, where)
    usage = None if usage_doc is None else _usage(usage_doc, where, "usage.")
    events: list[Event] = []
    if thoughts:
        events.append(ContentDelta("".join(thoughts), reasoning=True))
    text = "".join(texts)
    if text:
        events.append(ContentDelta(text, None if usage is None else usage.completion_tokens))
    events.extend(calls)
    if usage is not None:
        events.append(usage)
    events.append(Finish(expect(doc, "stop_reason", str, where)))
    return events


def _body_parser() -> ResponseParser:
    return JSONBodyParser(PROTOCOL, _body_events)


# --- server ------------------------------------------------------------------

_STOP_REASONS: Final[Mapping[str, str]] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
}
_ERROR_TYPES: Final[Mapping[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _stop_reason(neutral: str) -> str:
    return _STOP_REASONS.get(neutral, neutral)


def _usage_json(usage: Usage, output_tokens: int | None = None) -> dict[str, Any]:
    cached = usage.cached_tokens or 0
    return {
        "input_tokens": max((usage.prompt_tokens or 0) - cached, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": (usage.completion_tokens or 0) if output_tokens is None else output_tokens,
        "service_tier": "standard",
    }


def _offered_tools(doc: Mapping[str, Any], where: str) -> tuple[tuple[str, ...], bool]:
    """The names of the tools a request lets the answer call, and whether it
    must call one (`ServedRequest.tools`, `.tool_required`)."""
    names = [
        require(tool, "name", str, where, f"tools[{index}].")
        for index, tool in enumerate(tool_objects(doc, where))
    ]
    choice = expect(doc, "tool_choice", dict, where) or {}
    kind = choice.get("type")
    if not names or kind == "none":
        return (), False
    if kind == "tool":
        return (require(choice, "name", str, where, "tool_choice."),), True
    return tuple(names), kind == "any"


def _tool_use(call_id: str, name: str, call_input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": call_input}


class AnthropicCodec(ServerCodec):
    """Server side of `/v1/messages`, for the mock upstream."""

    def parse_request(self, body: bytes) -> ServedRequest:
        where = f"{PROTOCOL} request"
        doc = load_request(body, PROTOCOL)
        model = require(doc, "model", str, where)
        max_tokens = require(doc, "max_tokens", int, where)
        messages = require(doc, "messages", list, where)
        if not messages:
            raise MalformedError(f'{where}: "messages" is empty; send at least one message')
        texts = []
        if doc.get("system") is not None:
            texts.append(content_text(doc["system"], f"{where}: system"))
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                got = describe(message)
                raise MalformedError(
                    f'{where}: expected "messages[{index}]" to be an object, got {got}'
                )
            require(message, "role", str, where, f"messages[{index}].")
            texts.append(content_text(message.get("content"), f"{where}: messages[{index}]"))
        stream = expect(doc, "stream", bool, where) or False
        ignore_eos = bool(expect(doc, "ignore_eos", bool, where))  # vLLM's extension
        tools, required = _offered_tools(doc, where)
        return ServedRequest(
            model,
            "\n".join(texts),
            max_tokens,
            stream,
            include_usage=True,
            ignore_eos=ignore_eos,
            tools=tools,
            tool_required=required,
        )

    def render_body(self, reply: Reply) -> bytes:
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}]
        call = reply.tool_call
        if call is not None:
            content = [_tool_use(call.id, call.name, _input(call.arguments))]
        doc: dict[str, Any] = {
            "id": reply.id,
            "type": "message",
            "role": "assistant",
            "model": reply.model,
            "content": content,
            "stop_reason": _stop_reason(reply.finish_reason),
            "stop_sequence": None,
        }
        if reply.usage is not None:
            doc["usage"] = _usage_json(reply.usage)
        return orjson.dumps(doc)

    def open_stream(
        self, reply_id: str, model: str, created_s: int, prompt_usage: Usage | None
    ) -> StreamRenderer:
        return _MessagesStreamRenderer(reply_id, model, prompt_usage)

    def render_error(self, status: int, message: str) -> bytes:
        error_type = _ERROR_TYPES.get(status)
        if error_type is None:
            error_type = "api_error" if status >= 500 else "invalid_request_error"
        return orjson.dumps({"type": "error", "error": {"type": error_type, "message": message}})


_DELTA_PREFIX: Final = (
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
)
_TOOL_DELTA_PREFIX: Final = (
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta",'
    b'"partial_json":'
)
_BLOCK_START: Final = sse_frame(
    "content_block_start",
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
)
_PING: Final = sse_frame("ping", {"type": "ping"})
_BLOCK_STOP: Final = sse_frame("content_block_stop", {"type": "content_block_stop", "index": 0})
_MESSAGE_STOP: Final = sse_frame("message_stop", {"type": "message_stop"})


class _MessagesStreamRenderer(StreamRenderer):
    """One streamed message, in the event order the API uses."""

    __slots__ = ("_model", "_prompt_usage", "_reply_id")

    def __init__(self, reply_id: str, model: str, prompt_usage: Usage | None) -> None:
        self._reply_id = reply_id
        self._model = model
        self._prompt_usage = prompt_usage

    def _message_start(self) -> bytes:
        message: dict[str, Any] = {
            "id": self._reply_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
        }
        if self._prompt_usage is not None:
            message["usage"] = _usage_json(self._prompt_usage, output_tokens=1)
        return sse_frame("message_start", {"type": "message_start", "message": message})

    def head(self) -> bytes:
        return self._message_start() + _BLOCK_START + _PING

    def delta(self, text: str) -> bytes:
        return _DELTA_PREFIX + orjson.dumps(text) + b"}}\n\n"

    def tool_head(self, call_id: str, name: str) -> bytes:
        block = {
            "type": "content_block_start",
            "index": 0,
            "content_block": _tool_use(call_id, name, {}),
        }
        return self._message_start() + sse_frame("content_block_start", block) + _PING

    def tool_delta(self, arguments: str) -> bytes:
        return _TOOL_DELTA_PREFIX + orjson.dumps(arguments) + b"}}\n\n"

    def tail(self, finish_reason: str, usage: Usage | None) -> bytes:
        delta = {"stop_reason": _stop_reason(finish_reason), "stop_sequence": None}
        message_delta: dict[str, Any] = {"type": "message_delta", "delta": delta}
        if usage is not None:
            message_delta["usage"] = {"output_tokens": usage.completion_tokens or 0}
        return _BLOCK_STOP + sse_frame("message_delta", message_delta) + _MESSAGE_STOP

    def error(self, error_type: str, message: str) -> bytes:
        error = {"type": "error", "error": {"type": error_type, "message": message}}
        return sse_frame("error", error)
