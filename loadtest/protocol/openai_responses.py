"""openai-responses: the OpenAI Responses wire format (`/v1/responses`), both sides.

Client (`OpenAIResponsesAdapter`): the request body is `model`, `input` (the
conversation as `{"role", "content"}` items), `instructions` (the system
prompt), `max_output_tokens`, `stream`, `temperature`, `tools` (`{"type":
"function", "name", "description", "parameters"}`) and `tool_choice`
("auto", "required", "none", or `{"type": "function", "name": ...}`), then
`extra_body` merged on top. An assistant message with tool calls becomes its
text item (when it has text) and a `function_call` item per call; a tool
result a `function_call_output` item.

Streamed answers are named SSE events whose JSON `type` field is read (the
`event:` line is the fallback); every event carries a `sequence_number`:
- `response.output_text.delta` -> `ContentDelta(delta)`;
  `response.reasoning_text.delta` and `response.reasoning_summary_text.delta`
  -> reasoning.
- `response.output_item.added` of a `function_call` item -> `ToolCallDelta`
  (its `call_id`, `name` and any `arguments`) of its `output_index`;
  `response.function_call_arguments.delta` -> `ToolCallDelta(delta)`.
- `response.completed` and `response.incomplete` are terminal: `Usage` from
  `response.usage` (input_tokens, output_tokens,
  input_tokens_details.cached_tokens), then `Finish` with the status, or for
  an incomplete response its `incomplete_details.reason`.
- `response.failed` and `error` -> `ResponseError`, classed by
  `_common.error_class_for` from the error's code.
- Every other event is ignored; a body that ends before a terminal event is
  `stream_truncated`.
Non-streamed answers join the `output_text` parts of the `message` items of
`output[]` (and yield a `ToolCallDelta` per `function_call` item), then
report usage and `Finish` the same way.

Server (`OpenAIResponsesCodec`, for the mock upstream): `response.created`
and `response.in_progress` with the full response object, the output item
and content part events, text deltas, the `.done` events and
`response.completed` (or `response.incomplete` when max_output_tokens was
reached), numbered by `sequence_number`; a tool-call answer has one
`function_call` output item, `response.function_call_arguments.delta`s and
`.done`.

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
    ResponseError,
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

__all__ = ["OpenAIResponsesAdapter", "OpenAIResponsesCodec"]

PROTOCOL: Final = "openai-responses"
_REASONING_DELTAS: Final = frozenset(
    {"response.reasoning_text.delta", "response.reasoning_summary_text.delta"}
)


# --- client ------------------------------------------------------------------


@register(PROTOCOL)
class OpenAIResponsesAdapter(Adapter):
    """Client side of `/v1/responses`; see the module docstring."""

    path = "/v1/responses"
    supports_tools = True

    def build_request(self, conversation: Conversation) -> Request:
        items: list[dict[str, Any]] = []
        for m in conversation.messages:
            if not m.tool_calls and m.tool_call_id is None:
                items.append({"role": m.role, "content": m.content})
            else:
                items += _tool_items(m)
        body: dict[str, Any] = {"model": conversation.model, "input": items}
        if conversation.system is not None:
            body["instructions"] = conversation.system
        if conversation.max_tokens is not None:
            body["max_output_tokens"] = conversation.max_tokens
        body["stream"] = conversation.stream
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
        return OpenAIResponsesCodec()


def _tool_items(message: Message) -> list[dict[str, Any]]:
    """The input items of an assistant message with tool calls, or of a tool result."""
    if message.tool_call_id is not None:
        return [
            {
                "type": "function_call_output",
                "call_id": message.tool_call_id,
                "output": message.content,
            }
        ]
    items: list[dict[str, Any]] = []
    if message.content:
        items.append({"role": message.role, "content": message.content})
    items += [
        {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments}
        for c in message.tool_calls
    ]
    return items


def _function_tool(tool: FunctionTool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    out["parameters"] = tool.parameters
    return out


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "name": choice}


def _call_delta(item: Mapping[str, Any], index: int, where: str, path: str) -> ToolCallDelta:
    """A `function_call` item as the start of a call (with any arguments)."""
    arguments = expect(item, "arguments", str, where, path) or ""
    call_id = require(item, "call_id", str, where, path)
    return ToolCallDelta(index, arguments, call_id, require(item, "name", str, where, path))


def _reported_error(source: Mapping[str, Any], where: str) -> ResponseError:
    """An error object (`{code, message}`, as in `error` events and
    `response.error`) as a `ResponseError`; its code names its type."""
    message = source.get("message")
    code = source.get("code")
    label = code if isinstance(code, str) else source.get("type")
    label = label if isinstance(label, str) and label != "error" else None
    return reported_error(where, message if isinstance(message, str) else None, label, code)


def _outcome(response: Mapping[str, Any], where: str, path: str, status: str) -> list[Event]:
    """`Usage` (when reported) and `Finish` of a finished response object."""
    events: list[Event] = []
    usage = expect(response, "usage", dict, where, path)
    if usage is not None:
        details = expect(usage, "input_tokens_details", dict, where, f"{path}usage.")
        cached = None
        if details is not None:
            cached = expect(
                details, "cached_tokens", int, where, f"{path}usage.input_tokens_details."
            )
        prompt = expect(usage, "input_tokens", int, where, f"{path}usage.")
        completion = expect(usage, "output_tokens", int, where, f"{path}usage.")
        events.append(Usage(prompt, completion, cached))
    status = expect(response, "status", str, where, path) or status
    reason = status
    if status == "incomplete":
        details = expect(response, "incomplete_details", dict, where, path)
        if details is not None:
            reason = expect(details, "reason", str, where, f"{path}incomplete_details.") or status
    events.append(Finish(reason))
    return events


class _StreamParser(SSEStreamParser):
    protocol = PROTOCOL

    def _on_event(self, name: bytes, data: bytes, out: list[Event]) -> None:
        doc = orjson.loads(data)
        if type(doc) is not dict:
            raise MalformedError(f"{self._where()}: expected a JSON object, got {describe(doc)}")
        kind = doc.get("type")
        if type(kind) is not str:
            if kind is not None or not name:
                require(doc, "type", str, self._where())
            kind = name.decode("utf-8", "replace")
        if kind == "response.output_text.delta":
            text = doc.get("delta")
            if type(text) is not str:
                text = require(doc, "delta", str, self._where())
            if text:
                out.append(ContentDelta(text))
        elif kind in _REASONING_DELTAS:
            text = require(doc, "delta", str, self._where())
            if text:
                out.append(ContentDelta(text, reasoning=True))
        elif kind == "response.function_call_arguments.delta":
            fragment = require(doc, "delta", str, self._where())
            if fragment:
                index = require(doc, "output_index", int, self._where())
                out.append(ToolCallDelta(index, fragment))
        elif kind == "response.output_item.added":
            item = require(doc, "item", dict, self._where())
            if item.get("type") == "function_call":
                index = require(doc, "output_index", int, self._where())
                out.append(_call_delta(item, index, self._where(), "item."))
        elif kind in ("response.completed", "response.incomplete"):
            response = require(doc, "response", dict, self._where())
            out.extend(_outcome(response, self._where(), "response.", kind.rpartition(".")[2]))
            self._close()
        elif kind == "response.failed":
            response = require(doc, "response", dict, self._where())
            error = expect(response, "error", dict, self._where(), "response.") or {}
            self._error(out, _reported_error(error, self._where()))
        elif kind == "error":
            nested = doc.get("error")
            self._error(
                out, _reported_error(nested if isinstance(nested, dict) else doc, self._where())
            )

    def _on_end(self) -> list[Event]:
        return self._truncated("response.completed, response.incomplete or response.failed")


def _output_text(output: list[Any], where: str, calls: list[Event]) -> str:
    texts: list[str] = []
    for index, item in enumerate(output):
        if not isinstance(item, dict):
            raise MalformedError(
                f'{where}: expected "output[{index}]" to be an object, got {describe(item)}'
            )
        if item.get("type") == "function_call":
            calls.append(_call_delta(item, index, where, f"output[{index}]."))
        if item.get("type") != "message":
            continue
        for part_index, part in enumerate(
            require(item, "content", list, where, f"output[{index}].")
        ):
            path = f"output[{index}].content[{part_index}]"
            if not isinstance(part, dict):
                raise MalformedError(
                    f'{where}: expected "{path}" to be an object, got {describe(part)}'
                )
            if part.get("type") == "output_text":
                texts.append(require(part, "text", str, where, f"{path}."))
    return "".join(texts)


def _body_events(doc: dict[str, Any], where: str) -> list[Event]:
    error = doc.get("error")
    if isinstance(error, dict) and (doc.get("status") == "failed" or "output" not in doc):
        return [_reported_error(error, where)]
    calls: list[Event] = []
    text = _output_text(require(doc, "output", list, where), where, calls)
    outcome = _outcome(doc, where, "", "completed")
    events: list[Event] = []
    if text:
        usage = outcome[0] if isinstance(outcome[0], Usage) else None
        events.append(ContentDelta(text, None if usage is None else usage.completion_tokens))
    events.extend(calls)
    events.extend(outcome)
    return events


def _body_parser() -> ResponseParser:
    return JSONBodyParser(PROTOCOL, _body_events)


# --- server ------------------------------------------------------------------


def _status_of(finish_reason: str) -> str:
    return "incomplete" if finish_reason == "length" else "completed"


def _usage_json(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    prompt = usage.prompt_tokens or 0
    completion = usage.completion_tokens or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens or 0,
            "cache_write_tokens": 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(item_id: str, status: str, content: list[Any]) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


def _response_doc(
    reply_id: str, model: str, created_s: int, status: str, output: list[Any], usage: Usage | None
) -> dict[str, Any]:
    """The full response object, as `response.created`, `.completed` and
    non-streamed answers carry it."""
    return {
        "id": reply_id,
        "object": "response",
        "created_at": created_s,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _usage_json(usage),
        "metadata": {},
    }


def _offered_tools(doc: Mapping[str, Any], where: str) -> tuple[tuple[str, ...], bool]:
    """The names of the function tools a request lets the answer call, and
    whether it must call one (`ServedRequest.tools`, `.tool_required`)."""
    names = [
        require(tool, "name", str, where, f"tools[{index}].")
        for index, tool in enumerate(tool_objects(doc, where))
        if tool.get("type") == "function"
    ]
    choice = doc.get("tool_choice")
    if not names or choice == "none":
        return (), False
    if isinstance(choice, dict):
        return (require(choice, "name", str, where, "tool_choice."),), True
    return tuple(names), choice == "required"


class OpenAIResponsesCodec(ServerCodec):
    """Server side of `/v1/responses`, for the mock upstream."""

    def parse_request(self, body: bytes) -> ServedRequest:
        where = f"{PROTOCOL} request"
        doc = load_request(body, PROTOCOL)
        model = require(doc, "model", str, where)
        texts = []
        instructions = expect(doc, "instructions", str, where)
        if instructions is not None:
            texts.append(instructions)
        items = doc.get("input")
        if isinstance(items, str):
            texts.append(items)
        elif isinstance(items, list) and items:
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    got = describe(item)
                    raise MalformedError(
                        f'{where}: expected "input[{index}]" to be an object, got {got}'
                    )
                if "content" in item:
                    texts.append(content_text(item["content"], f"{where}: input[{index}]"))
        else:
            got = describe(items) if "input" in doc else "nothing (no such key)"
            raise MalformedError(
                f'{where}: expected "input" to be a string or a non-empty list, got {got}'
            )
        max_tokens = expect(doc, "max_output_tokens", int, where)
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
        status = _status_of(reply.finish_reason)
        item = _message_item(f"msg_{reply.id}", status, [_text_part(reply.text)])
        call = reply.tool_call
        if call is not None:
            item = _call_item(f"fc_{reply.id}", call.id, call.name, call.arguments, "completed")
        return orjson.dumps(
            _response_doc(reply.id, reply.model, reply.created_s, status, [item], reply.usage)
        )

    def open_stream(
        self, reply_id: str, model: str, created_s: int, prompt_usage: Usage | None
    ) -> StreamRenderer:
        return _ResponsesStreamRenderer(reply_id, model, created_s)

    def render_error(self, status: int, message: str) -> bytes:
        return openai_error_body(status, message)


class _ResponsesStreamRenderer(StreamRenderer):
    """One streamed response; keeps the text for the closing `.done` events."""

    __slots__ = ("_call", "_delta_prefix", "_doc_args", "_item_id", "_sequence", "_texts")

    def __init__(self, reply_id: str, model: str, created_s: int) -> None:
        self._doc_args = (reply_id, model, created_s)
        self._item_id = f"msg_{reply_id}"
        self._sequence = 0
        self._texts: list[str] = []
        self._call: tuple[str, str] | None = None  # a tool-call answer's call id and name
        self._delta_prefix = (
            b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
            b'"item_id":' + orjson.dumps(self._item_id) + b',"output_index":0,"content_index":0,'
            b'"delta":'
        )

    def _frame(self, payload: dict[str, Any]) -> bytes:
        payload["sequence_number"] = self._sequence
        self._sequence += 1
        return sse_frame(payload["type"], payload)

    def _response(self, status: str, output: list[Any], usage: Usage | None) -> dict[str, Any]:
        return _response_doc(*self._doc_args, status, output, usage)

    def head(self) -> bytes:
        response = self._response("in_progress", [], None)
        item = _message_item(self._item_id, "in_progress", [])
        part_at = {"item_id": self._item_id, "output_index": 0, "content_index": 0}
        return b"".join(
            [
                self._frame({"type": "response.created", "response": response}),
                self._frame({"type": "response.in_progress", "response": response}),
                self._frame(
                    {"type": "response.output_item.added", "output_index": 0, "item": item}
                ),
                self._frame(
                    {"type": "response.content_part.added", **part_at, "part": _text_part("")}
                ),
            ]
        )

    def tool_head(self, call_id: str, name: str) -> bytes:
        self._call = (call_id, name)
        self._item_id = f"fc_{self._doc_args[0]}"
        response = self._response("in_progress", [], None)
        item = _call_item(self._item_id, call_id, name, "", "in_progress")
        return b"".join(
            [
                self._frame({"type": "response.created", "response": response}),
                self._frame({"type": "response.in_progress", "response": response}),
                self._frame(
                    {"type": "response.output_item.added", "output_index": 0, "item": item}
                ),
            ]
        )

    def tool_delta(self, arguments: str) -> bytes:
        self._texts.append(arguments)
        return self._frame(
            {
                "type": "response.function_call_arguments.delta",
                "item_id": self._item_id,
                "output_index": 0,
                "delta": arguments,
            }
        )

    def _tool_tail(self, call: tuple[str, str], usage: Usage | None) -> bytes:
        arguments = "".join(self._texts)
        item = _call_item(self._item_id, *call, arguments, "completed")
        at = {"item_id": self._item_id, "output_index": 0}
        return b"".join(
            [
                self._frame(
                    {"type": "response.function_call_arguments.done", **at, "arguments": arguments}
                ),
                self._frame({"type": "response.output_item.done", "output_index": 0, "item": item}),
                self._frame(
                    {
                        "type": "response.completed",
                        "response": self._response("completed", [item], usage),
                    }
                ),
            ]
        )

    def delta(self, text: str) -> bytes:
        self._texts.append(text)
        sequence = self._sequence
        self._sequence += 1
        return (
            self._delta_prefix
            + orjson.dumps(text)
            + b',"logprobs":[],"sequence_number":'
            + str(sequence).encode()
            + b"}\n\n"
        )

    def tail(self, finish_reason: str, usage: Usage | None) -> bytes:
        if self._call is not None:
            return self._tool_tail(self._call, usage)
        text = "".join(self._texts)
        status = _status_of(finish_reason)
        part = _text_part(text)
        item = _message_item(self._item_id, status, [part])
        part_at = {"item_id": self._item_id, "output_index": 0, "content_index": 0}
        terminal = "response.completed" if status == "completed" else "response.incomplete"
        return b"".join(
            [
                self._frame(
                    {"type": "response.output_text.done", **part_at, "text": text, "logprobs": []}
                ),
                self._frame({"type": "response.content_part.done", **part_at, "part": part}),
                self._frame({"type": "response.output_item.done", "output_index": 0, "item": item}),
                self._frame({"type": terminal, "response": self._response(status, [item], usage)}),
            ]
        )

    def error(self, error_type: str, message: str) -> bytes:
        return self._frame({"type": "error", "code": error_type, "message": message, "param": None})
