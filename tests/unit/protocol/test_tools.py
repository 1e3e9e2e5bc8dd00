"""Tools, both sides: requests offering tools and carrying tool calls and
results in the history, streamed and whole tool-call answers read back by
our parsers (however split) and by the official SDKs."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message as SDKMessage
from anthropic.types import RawMessageStreamEvent
from hypothesis import given
from hypothesis import strategies as st
from openai import omit
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from loadtest import taxonomy
from loadtest.protocol import (
    ContentDelta,
    Conversation,
    Event,
    Finish,
    FunctionTool,
    Message,
    Reply,
    ResponseError,
    ServerCodec,
    StreamRenderer,
    ToolCall,
    ToolCallDelta,
    Usage,
    get_adapter,
)
from loadtest.protocol._sse import SSEDecoder
from loadtest.testing import assert_split_invariant, feed_all
from tests.unit.protocol.recorded import body_parser, cut, stream_parser

WEATHER = FunctionTool(
    "get_weather", "Weather in a city", {"type": "object", "properties": {"city": {}}}
)
BARE = FunctionTool("noop")
CALL = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
FRAGMENTS = ('{"city', '": "Par', 'is"}')
USAGE = Usage(prompt_tokens=20, completion_tokens=3, cached_tokens=0)
HISTORY = (
    Message("user", "weather?"),
    Message("assistant", "", (CALL,)),
    Message("tool", '{"ok": true}', tool_call_id="call_1"),
    Message("user", "thanks"),
)


def body_of(protocol: str, conversation: Conversation) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(get_adapter(protocol)().build_request(conversation).body)
    return body


def codec(protocol: str) -> ServerCodec:
    served = get_adapter(protocol)().server_codec()
    assert served is not None
    return served


def render_tool_stream(protocol: str, usage: Usage | None = USAGE) -> bytes:
    renderer = codec(protocol).open_stream("r1", "m-1", 1_700_000_000, usage)
    pieces = [renderer.tool_head("call_1", "get_weather")]
    pieces += [renderer.tool_delta(fragment) for fragment in FRAGMENTS]
    return b"".join([*pieces, renderer.tail("tool_calls", usage)])


def payloads(data: bytes) -> list[tuple[bytes, Any]]:
    decoder = SSEDecoder()
    events = decoder.feed(data) + decoder.end()
    return [(name, None if d == b"[DONE]" else orjson.loads(d)) for name, d in events]


# --- requests ------------------------------------------------------------------


def test_openai_chat_request_offers_tools_and_sends_the_history() -> None:
    conversation = Conversation(
        "m", HISTORY, tools=(WEATHER, BARE), tool_choice="get_weather", stream=True
    )
    body = body_of("openai-chat", conversation)
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": WEATHER.parameters,
            },
        },
        {"type": "function", "function": {"name": "noop", "parameters": BARE.parameters}},
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["messages"] == [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"ok": true}'},
        {"role": "user", "content": "thanks"},
    ]
    assert list(body)[-2:] == ["tools", "tool_choice"]


@pytest.mark.parametrize(
    ("choice", "openai", "anthropic", "responses"),
    [
        (None, None, None, None),
        ("auto", "auto", {"type": "auto"}, "auto"),
        ("required", "required", {"type": "any"}, "required"),
        ("none", "none", {"type": "none"}, "none"),
        (
            "noop",
            {"type": "function", "function": {"name": "noop"}},
            {"type": "tool", "name": "noop"},
            {"type": "function", "name": "noop"},
        ),
    ],
)
def test_tool_choice_in_each_protocol(
    choice: str | None, openai: Any, anthropic: Any, responses: Any
) -> None:
    conversation = Conversation("m", (Message("user", "x"),), tools=(BARE,), tool_choice=choice)
    assert body_of("openai-chat", conversation).get("tool_choice") == openai
    assert body_of("anthropic", conversation).get("tool_choice") == anthropic
    assert body_of("openai-responses", conversation).get("tool_choice") == responses


def test_no_tools_no_tool_fields() -> None:
    conversation = Conversation("m", (Message("user", "x"),), tool_choice="auto")
    for protocol in ("openai-chat", "anthropic", "openai-responses"):
        body = body_of(protocol, conversation)
        assert "tools" not in body
        assert "tool_choice" not in body


def test_anthropic_request_offers_tools_and_sends_the_history() -> None:
    """Tool calls are tool_use blocks after the text; the results lead the
    next user message; arguments that are no JSON object become {}."""
    calls = (CALL, ToolCall("call_2", "noop", "not json"), ToolCall("call_3", "noop", "[1]"))
    history = (
        Message("user", "weather?"),
        Message("assistant", "Let me look.", calls),
        *(Message("tool", "r", tool_call_id=c.id) for c in calls),
        Message("user", "thanks"),
        Message("assistant", "", (CALL,)),
        Message("tool", "last", tool_call_id="call_1"),
    )
    body = body_of("anthropic", Conversation("m", history, tools=(WEATHER, BARE)))
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather in a city",
            "input_schema": WEATHER.parameters,
        },
        {"name": "noop", "input_schema": BARE.parameters},
    ]
    result = {"type": "tool_result", "content": "r"}
    assert body["messages"] == [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "call_2", "name": "noop", "input": {}},
                {"type": "tool_use", "id": "call_3", "name": "noop", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {**result, "tool_use_id": "call_1"},
                {**result, "tool_use_id": "call_2"},
                {**result, "tool_use_id": "call_3"},
                {"type": "text", "text": "thanks"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "last"}],
        },
    ]


def test_openai_responses_request_offers_tools_and_sends_the_history() -> None:
    history = (
        Message("user", "weather?"),
        Message("assistant", "Looking.", (CALL,)),
        Message("tool", '{"ok": true}', tool_call_id="call_1"),
        Message("user", "thanks"),
    )
    body = body_of("openai-responses", Conversation("m", history, tools=(WEATHER, BARE)))
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": WEATHER.parameters,
        },
        {"type": "function", "name": "noop", "parameters": BARE.parameters},
    ]
    assert body["input"] == [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "Looking."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'},
        {"role": "user", "content": "thanks"},
    ]
    bare = body_of("openai-responses", Conversation("m", HISTORY))
    assert bare["input"][1] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }


# --- streamed tool calls, read back ------------------------------------------------


FINISH = {"openai-chat": "tool_calls", "anthropic": "tool_use", "openai-responses": "completed"}
TOOL_PROTOCOLS = tuple(FINISH)


@pytest.mark.parametrize("protocol", TOOL_PROTOCOLS)
def test_tool_stream_round_trip_at_every_split(protocol: str) -> None:
    """The mock's tool-call stream gives the call's start (id and name), each
    arguments fragment, the usage and the tool finish reason, however split."""
    events = assert_split_invariant(lambda: stream_parser(protocol), render_tool_stream(protocol))
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert calls == [
        ToolCallDelta(0, "", "call_1", "get_weather"),
        *(ToolCallDelta(0, fragment) for fragment in FRAGMENTS),
    ]
    assert not [e for e in events if isinstance(e, ContentDelta)]
    assert events[-1] == Finish(FINISH[protocol])


@given(st.sampled_from(TOOL_PROTOCOLS), st.lists(st.integers(0, 4000), max_size=12))
def test_tool_stream_at_chosen_splits(protocol: str, offsets: list[int]) -> None:
    data = render_tool_stream(protocol)
    whole = feed_all(stream_parser(protocol), [data])
    assert feed_all(stream_parser(protocol), cut(data, offsets)) == whole


def test_openai_chat_tool_stream_satisfies_the_sdk() -> None:
    """The SDK's accumulator rebuilds the call: id, name, whole arguments."""
    chunks = [
        ChatCompletionChunk.model_validate(doc, strict=False)
        for _, doc in payloads(render_tool_stream("openai-chat"))[:-1]
    ]
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    final = state.get_final_completion()
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    (call,) = message.tool_calls
    assert (call.id, call.function.name) == ("call_1", "get_weather")
    assert orjson.loads(call.function.arguments) == {"city": "Paris"}


def test_openai_responses_tool_stream_satisfies_the_sdk() -> None:
    """Every event validates as the SDK's; its stream state accepts them; the
    final response holds the whole call."""
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    state: ResponseStreamState[None] = ResponseStreamState(input_tools=omit, text_format=omit)
    events = payloads(render_tool_stream("openai-responses"))
    assert [doc["sequence_number"] for _, doc in events] == list(range(len(events)))
    for _, doc in events:
        state.handle_event(adapter.validate_python(doc, strict=False))
    final = Response.model_validate(events[-1][1]["response"], strict=False)
    (call,) = final.output
    assert call.type == "function_call"
    assert (call.call_id, call.name) == ("call_1", "get_weather")
    assert orjson.loads(call.arguments) == {"city": "Paris"}


def test_anthropic_tool_stream_satisfies_the_sdk() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    snapshot = None
    buffers: dict[int, bytes] = {}
    for name, doc in payloads(render_tool_stream("anthropic")):
        if name != b"ping":
            event = adapter.validate_python(doc, strict=False)
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    assert snapshot is not None
    (block,) = snapshot.content
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == ("call_1", "get_weather", {"city": "Paris"})
    assert snapshot.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("protocol", "model"),
    [("openai-chat", ChatCompletion), ("anthropic", SDKMessage), ("openai-responses", Response)],
)
def test_tool_call_body_round_trip_and_sdk(protocol: str, model: Any) -> None:
    reply = Reply("r1", "m-1", 1_700_000_000, "", "tool_calls", USAGE, tool_call=CALL)
    body = codec(protocol).render_body(reply)
    parsed = model.model_validate(orjson.loads(body), strict=False)
    events = feed_all(body_parser(protocol), [body])
    index = 0
    if protocol == "openai-chat":
        call = parsed.choices[0].message.tool_calls[0]
        assert (call.id, call.function.name) == ("call_1", "get_weather")
        assert parsed.choices[0].finish_reason == "tool_calls"
    elif protocol == "anthropic":
        assert parsed.content[0].input == {"city": "Paris"}
        assert parsed.stop_reason == "tool_use"
    else:
        call = parsed.output[0]
        assert (call.type, call.call_id, call.name) == ("function_call", "call_1", "get_weather")
        assert parsed.status == "completed"
    assert [e for e in events if isinstance(e, ToolCallDelta)] == [
        ToolCallDelta(
            index,
            '{"city":"Paris"}' if protocol == "anthropic" else CALL.arguments,
            "call_1",
            "get_weather",
        )
    ]


def chat_chunk(delta: object) -> bytes:
    doc = {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return b"data: " + orjson.dumps(doc) + b"\n\n"


def test_openai_chat_tool_call_pieces_without_index_or_function() -> None:
    """A piece without `index` takes its position in the list; one without
    `function` carries only its id."""
    events = feed_all(
        stream_parser("openai-chat"),
        [
            chat_chunk({"tool_calls": [{"id": "a"}, {"function": {"arguments": "{}"}}]}),
            b"data: [DONE]\n\n",
        ],
    )
    assert events[:2] == [ToolCallDelta(0, "", "a"), ToolCallDelta(1, "{}")]


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        (
            {"tool_calls": {"index": 0}},
            'expected "choices[0].delta.tool_calls" to be a list, got object',
        ),
        (
            {"tool_calls": [3]},
            'expected "choices[0].delta.tool_calls[0]" to be an object, got number 3',
        ),
        (
            {"tool_calls": [{"index": 0, "function": {"name": 7}}]},
            'expected "choices[0].delta.tool_calls[0].function.name" to be a string',
        ),
    ],
)
def test_malformed_openai_chat_tool_calls_are_bad_responses(delta: object, message: str) -> None:
    (event,) = feed_all(stream_parser("openai-chat"), [chat_chunk(delta)])
    assert isinstance(event, ResponseError)
    assert event.error_class == taxonomy.BAD_RESPONSE
    assert message in event.message


def anthropic_event(doc: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(doc) + b"\n\n"


def test_anthropic_other_blocks_and_empty_json_deltas_are_no_tool_calls() -> None:
    text_start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    empty = {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": ""},
    }
    events = feed_all(
        stream_parser("anthropic"),
        [
            anthropic_event(text_start),
            anthropic_event(empty),
            anthropic_event({"type": "message_stop"}),
        ],
    )
    assert events == [Finish(None)]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"type": "content_block_start", "index": 1}, 'expected "content_block" to be an object'),
        (
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "name": "x"},
            },
            'expected "content_block.id" to be a string',
        ),
        (
            {
                "type": "content_block_delta",
                "delta": {"type": "input_json_delta", "partial_json": "{"},
            },
            'expected "index" to be an integer',
        ),
    ],
)
def test_malformed_anthropic_tool_events_are_bad_responses(
    doc: dict[str, Any], message: str
) -> None:
    (event,) = feed_all(stream_parser("anthropic"), [anthropic_event(doc)])
    assert isinstance(event, ResponseError)
    assert event.error_class == taxonomy.BAD_RESPONSE
    assert message in event.message


# --- what the mock reads of a request ------------------------------------------------


def chat_request(**fields: Any) -> bytes:
    return orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], **fields})


def anthropic_request(**fields: Any) -> bytes:
    doc = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    return orjson.dumps({**doc, **fields})


CHAT_TOOLS = [
    {"type": "function", "function": {"name": "a"}},
    {"type": "function", "function": {"name": "b"}},
]
ANTHROPIC_TOOLS = [{"name": "a"}, {"name": "b"}]


@pytest.mark.parametrize(
    ("fields", "tools", "required"),
    [
        ({}, (), False),
        ({"tools": CHAT_TOOLS}, ("a", "b"), False),
        ({"tools": CHAT_TOOLS, "tool_choice": "auto"}, ("a", "b"), False),
        ({"tools": CHAT_TOOLS, "tool_choice": "required"}, ("a", "b"), True),
        ({"tools": CHAT_TOOLS, "tool_choice": "none"}, (), False),
        (
            {"tools": CHAT_TOOLS, "tool_choice": {"type": "function", "function": {"name": "b"}}},
            ("b",),
            True,
        ),
    ],
)
def test_openai_chat_codec_reads_the_offered_tools(
    fields: dict[str, Any], tools: tuple[str, ...], required: bool
) -> None:
    served = codec("openai-chat").parse_request(chat_request(**fields))
    assert (served.tools, served.tool_required) == (tools, required)


@pytest.mark.parametrize(
    ("fields", "tools", "required"),
    [
        ({"tools": ANTHROPIC_TOOLS}, ("a", "b"), False),
        ({"tools": ANTHROPIC_TOOLS, "tool_choice": {"type": "any"}}, ("a", "b"), True),
        ({"tools": ANTHROPIC_TOOLS, "tool_choice": {"type": "none"}}, (), False),
        ({"tools": ANTHROPIC_TOOLS, "tool_choice": {"type": "tool", "name": "b"}}, ("b",), True),
    ],
)
def test_anthropic_codec_reads_the_offered_tools(
    fields: dict[str, Any], tools: tuple[str, ...], required: bool
) -> None:
    served = codec("anthropic").parse_request(anthropic_request(**fields))
    assert (served.tools, served.tool_required) == (tools, required)


def responses_request(**fields: Any) -> bytes:
    return orjson.dumps({"model": "m", "input": "x", **fields})


RESPONSES_TOOLS = [
    {"type": "function", "name": "a"},
    {"type": "web_search"},
    {"type": "function", "name": "b"},
]


@pytest.mark.parametrize(
    ("fields", "tools", "required"),
    [
        ({}, (), False),
        ({"tools": RESPONSES_TOOLS}, ("a", "b"), False),
        ({"tools": RESPONSES_TOOLS, "tool_choice": "required"}, ("a", "b"), True),
        ({"tools": RESPONSES_TOOLS, "tool_choice": "none"}, (), False),
        (
            {"tools": RESPONSES_TOOLS, "tool_choice": {"type": "function", "name": "b"}},
            ("b",),
            True,
        ),
    ],
)
def test_openai_responses_codec_reads_the_offered_tools(
    fields: dict[str, Any], tools: tuple[str, ...], required: bool
) -> None:
    served = codec("openai-responses").parse_request(responses_request(**fields))
    assert (served.tools, served.tool_required) == (tools, required)


def test_openai_responses_codec_rejects_malformed_tools() -> None:
    with pytest.raises(ValueError, match=re.escape('expected "tools[0]" to be an object')):
        codec("openai-responses").parse_request(responses_request(tools=[1]))
    with pytest.raises(ValueError, match=re.escape('expected "tools[0].name" to be a string')):
        codec("openai-responses").parse_request(responses_request(tools=[{"type": "function"}]))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"type": "function_call", "name": "x"},
            },
            'expected "item.call_id" to be a string',
        ),
        (
            {"type": "response.function_call_arguments.delta", "delta": "{"},
            'expected "output_index" to be an integer',
        ),
        (
            {"type": "response.output_item.added", "output_index": 0},
            'expected "item" to be an object',
        ),
    ],
)
def test_malformed_openai_responses_tool_events_are_bad_responses(
    doc: dict[str, Any], message: str
) -> None:
    (event,) = feed_all(stream_parser("openai-responses"), [anthropic_event(doc)])
    assert isinstance(event, ResponseError)
    assert event.error_class == taxonomy.BAD_RESPONSE
    assert message in event.message


def test_openai_responses_other_items_and_empty_fragments_are_no_tool_calls() -> None:
    message_item = {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": {"type": "message"},
    }
    empty = {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": ""}
    events = feed_all(
        stream_parser("openai-responses"),
        [anthropic_event(message_item), anthropic_event(empty)],
    )
    assert events[0].error_class == taxonomy.STREAM_TRUNCATED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (chat_request(tools=[1]), 'expected "tools[0]" to be an object, got number 1'),
        (
            chat_request(tools=[{"type": "function"}]),
            'expected "tools[0].function" to be an object',
        ),
        (anthropic_request(tools=["a"]), 'expected "tools[0]" to be an object, got string "a"'),
        (anthropic_request(tools=[{}]), 'expected "tools[0].name" to be a string'),
    ],
)
def test_codecs_reject_malformed_tools(body: bytes, message: str) -> None:
    protocol = "openai-chat" if b"messages" in body and b"max_tokens" not in body else "anthropic"
    with pytest.raises(ValueError, match=re.escape(message)):
        codec(protocol).parse_request(body)


class _TextOnly(StreamRenderer):
    def head(self) -> bytes:
        return b""

    def delta(self, text: str) -> bytes:
        return text.encode()

    def tail(self, finish_reason: str, usage: Usage | None) -> bytes:
        return b""

    def error(self, error_type: str, message: str) -> bytes:
        return b""


def test_a_renderer_without_tool_calls_says_so() -> None:
    """The base class's tool methods: a codec that never offers tools is
    never asked, and says so if it is."""
    renderer = _TextOnly()
    with pytest.raises(NotImplementedError, match="renders no tool calls"):
        renderer.tool_head("c", "n")
    with pytest.raises(NotImplementedError, match="renders no tool calls"):
        renderer.tool_delta("{}")


def test_events_compare_by_value() -> None:
    events: list[Event] = [ToolCallDelta(0, "{", "c", "n"), ToolCallDelta(0, "{", "c", "n")]
    assert events[0] == events[1]
    assert ToolCallDelta(1) != ToolCallDelta(0)


def test_anthropic_body_skips_unknown_blocks() -> None:
    doc = {
        "content": [{"type": "redacted_thinking", "data": "x"}, {"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
    }
    events = feed_all(body_parser("anthropic"), [orjson.dumps(doc)])
    assert events == [ContentDelta("hi"), Finish("end_turn")]
