"""Server codecs: request parsing, and answers the official SDKs and our own
client adapters both read back as sent."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from openai import omit
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from loadtest.protocol import (
    ContentDelta,
    Finish,
    Reply,
    ResponseError,
    ServedRequest,
    ServerCodec,
    StreamRenderer,
    Usage,
    get_adapter,
)
from loadtest.protocol._sse import SSEDecoder
from loadtest.testing import feed_all

PROTOCOLS = ("openai-chat", "anthropic", "openai-responses")
USAGE = Usage(prompt_tokens=120, completion_tokens=3, cached_tokens=64)
DELTAS = ("Hel", "lo, wör", 'ld "quoted"\n')
TEXT = "".join(DELTAS)
NEUTRAL_FINISH = {
    ("openai-chat", "stop"): "stop",
    ("openai-chat", "length"): "length",
    ("anthropic", "stop"): "end_turn",
    ("anthropic", "length"): "max_tokens",
    ("openai-responses", "stop"): "completed",
    ("openai-responses", "length"): "max_output_tokens",
}


def codec(protocol: str) -> ServerCodec:
    served = get_adapter(protocol)().server_codec()
    assert served is not None
    return served


def render_stream(protocol: str, finish: str = "stop", usage: Usage | None = USAGE) -> bytes:
    renderer: StreamRenderer = codec(protocol).open_stream("r1", "m-1", 1_700_000_000, usage)
    pieces = [renderer.head(), *(renderer.delta(text) for text in DELTAS)]
    return b"".join([*pieces, renderer.tail(finish, usage)])


def sse_payloads(data: bytes) -> list[tuple[bytes, Any]]:
    decoder = SSEDecoder()
    events = decoder.feed(data) + decoder.end()
    return [(name, None if d == b"[DONE]" else orjson.loads(d)) for name, d in events]


def client_events(protocol: str, body: bytes, stream: bool) -> list[Any]:
    content_type = "text/event-stream" if stream else "application/json"
    parser = get_adapter(protocol)().open_response(200, {"content-type": content_type}, stream)
    return feed_all(parser, [body])


# --- parse_request -------------------------------------------------------------


def test_openai_chat_parse_request_reads_every_field() -> None:
    """openai-chat: model, messages (string and content-part lists) joined in
    order, max_completion_tokens over max_tokens, stream and include_usage."""
    body = {
        "model": "gpt-x",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image_url"}]},
            {"role": "assistant", "content": None, "tool_calls": []},
        ],
        "max_tokens": 5,
        "max_completion_tokens": 7,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    served = codec("openai-chat").parse_request(orjson.dumps(body))
    assert served == ServedRequest("gpt-x", "Be brief.\nHi\n", 7, True, True)


@pytest.mark.parametrize(
    ("extra", "max_tokens", "stream", "include_usage"),
    [
        ({}, None, False, True),
        ({"max_tokens": 9, "stream": False}, 9, False, True),
        ({"stream": True}, None, True, False),
        ({"stream": True, "stream_options": {}}, None, True, False),
    ],
)
def test_openai_chat_parse_request_defaults(
    extra: dict[str, Any], max_tokens: int | None, stream: bool, include_usage: bool
) -> None:
    """openai-chat: usage is always included in a non-streamed answer, and in
    a stream only when stream_options.include_usage asks for it."""
    body = {"model": "m", "messages": [{"role": "user", "content": "q"}], **extra}
    served = codec("openai-chat").parse_request(orjson.dumps(body))
    assert served == ServedRequest("m", "q", max_tokens, stream, include_usage)


def test_anthropic_parse_request_reads_every_field() -> None:
    """anthropic: the system prompt (string or text blocks) comes first in
    prompt_text; max_tokens and stream are read; usage is always included."""
    body = {
        "model": "claude-x",
        "max_tokens": 64,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
        ],
        "stream": True,
    }
    served = codec("anthropic").parse_request(orjson.dumps(body))
    assert served == ServedRequest("claude-x", "Be brief.\nHi\nHello", 64, True, True)
    del body["system"], body["stream"]
    served = codec("anthropic").parse_request(orjson.dumps(body))
    assert served == ServedRequest("claude-x", "Hi\nHello", 64, False, True)


def test_openai_responses_parse_request_reads_every_field() -> None:
    """openai-responses: instructions first, then each input item's text
    (items without content, such as tool outputs, add nothing);
    max_output_tokens and stream are read; input may be a bare string."""
    body = {
        "model": "gpt-r",
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": "Hi"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Yo"}],
            },
            {"type": "function_call_output", "call_id": "c1", "output": "{}"},
        ],
        "max_output_tokens": 12,
        "stream": True,
    }
    served = codec("openai-responses").parse_request(orjson.dumps(body))
    assert served == ServedRequest("gpt-r", "Be brief.\nHi\nYo", 12, True, True)
    bare = codec("openai-responses").parse_request(b'{"model": "m", "input": "just this"}')
    assert bare == ServedRequest("m", "just this", None, False, True)


@pytest.mark.parametrize(
    ("protocol", "body"),
    [
        ("openai-chat", {"messages": [{"role": "user", "content": "q"}], "max_tokens": 9}),
        ("anthropic", {"messages": [{"role": "user", "content": "q"}], "max_tokens": 9}),
        ("openai-responses", {"input": "q", "max_output_tokens": 9}),
    ],
)
def test_every_codec_reads_ignore_eos(protocol: str, body: dict[str, Any]) -> None:
    """vLLM's `ignore_eos` (a boolean; absent or null is false) reaches the
    served request; another type is a malformed request."""
    read = codec(protocol).parse_request
    assert not read(orjson.dumps({"model": "m", **body})).ignore_eos
    assert not read(orjson.dumps({"model": "m", **body, "ignore_eos": None})).ignore_eos
    assert read(orjson.dumps({"model": "m", **body, "ignore_eos": True})).ignore_eos
    with pytest.raises(ValueError, match='expected "ignore_eos" to be a boolean, got number 1'):
        read(orjson.dumps({"model": "m", **body, "ignore_eos": 1}))


@pytest.mark.parametrize(
    ("protocol", "body", "message"),
    [
        ("openai-chat", b"{not json", "openai-chat request: body is not valid JSON"),
        ("openai-chat", b"[1]", "openai-chat request: expected a JSON object, got list [1]"),
        ("openai-chat", b'{"messages": []}', 'expected "model" to be a string, got nothing'),
        ("openai-chat", b'{"model": 3}', 'expected "model" to be a string, got number 3'),
        ("openai-chat", b'{"model": "m"}', 'expected "messages" to be a list, got nothing'),
        ("openai-chat", b'{"model": "m", "messages": []}', '"messages" is empty'),
        ("openai-chat", b'{"model": "m", "messages": ["hi"]}', '"messages[0]" to be an object'),
        (
            "openai-chat",
            b'{"model": "m", "messages": [{"content": "hi"}]}',
            'expected "messages[0].role" to be a string, got nothing',
        ),
        (
            "openai-chat",
            b'{"model": "m", "messages": [{"role": "user", "content": 5}]}',
            "messages[0]: expected content to be a string or a list of parts, got number 5",
        ),
        (
            "openai-chat",
            b'{"model": "m", "messages": [{"role": "user", "content": [5]}]}',
            "content[0]: expected an object, got number 5",
        ),
        (
            "openai-chat",
            b'{"model": "m", "messages": [{"role": "user", "content": [{"text": 1}]}]}',
            'expected "content[0].text" to be a string, got number 1',
        ),
        (
            "openai-chat",
            b'{"model": "m", "messages": [{"role": "user", "content": "q"}], "stream": "yes"}',
            'expected "stream" to be a boolean, got string "yes"',
        ),
        (
            "openai-chat",
            b'{"model": "m", "messages": [{"role": "user", "content": "q"}], "max_tokens": true}',
            'expected "max_tokens" to be an integer, got boolean true',
        ),
        ("anthropic", b'{"model": "m", "messages": []}', 'expected "max_tokens" to be an integer'),
        ("anthropic", b'{"model": "m", "max_tokens": 5, "messages": []}', '"messages" is empty'),
        ("anthropic", b'{"model": "m", "max_tokens": 5, "messages": [1]}', '"messages[0]" to be'),
        (
            "anthropic",
            b'{"model": "m", "max_tokens": 5, "system": 1, "messages": [{"role": "user"}]}',
            "anthropic request: system: expected content to be a string or a list of parts",
        ),
        ("openai-responses", b'{"model": "m"}', 'expected "input" to be a string or a non-empty'),
        ("openai-responses", b'{"model": "m", "input": []}', "got list []"),
        ("openai-responses", b'{"model": "m", "input": [1]}', '"input[0]" to be an object'),
        ("openai-responses", b'{"model": "m", "input": "q", "stream": 1}', '"stream" to be a bool'),
    ],
)
def test_parse_request_rejects_invalid_bodies(protocol: str, body: bytes, message: str) -> None:
    """An invalid request body raises ValueError naming what was expected,
    what arrived and where."""
    with pytest.raises(ValueError, match=re.escape(message)):
        codec(protocol).parse_request(body)


# --- rendering, read by the official SDKs ---------------------------------------


@pytest.mark.parametrize("finish", ["stop", "length"])
def test_openai_chat_stream_satisfies_the_sdk(finish: str) -> None:
    """openai-chat: every chunk validates as the SDK's ChatCompletionChunk; the
    SDK's accumulator rebuilds the text, finish reason and usage; the stream
    opens with a role chunk and ends with a usage chunk and [DONE]."""
    payloads = sse_payloads(render_stream("openai-chat", finish))
    assert payloads[-1] == (b"", None)
    chunks = [ChatCompletionChunk.model_validate(doc, strict=False) for _, doc in payloads[:-1]]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    assert chunks[-1].choices == []
    assert {chunk.id for chunk in chunks} == {"r1"}
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    final = state.current_completion_snapshot  # get_final_completion() refuses "length"
    assert final.choices[0].message.content == TEXT
    assert final.choices[0].finish_reason == NEUTRAL_FINISH["openai-chat", finish]
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (120, 3)
    assert final.usage.prompt_tokens_details is not None
    assert final.usage.prompt_tokens_details.cached_tokens == 64


def test_anthropic_stream_satisfies_the_sdk() -> None:
    """anthropic: every event is named by an `event:` line equal to its type,
    validates as the SDK's RawMessageStreamEvent (ping aside, which the SDK
    skips), and the SDK's accumulator rebuilds the message."""
    payloads = sse_payloads(render_stream("anthropic", "length"))
    names = [name.decode() for name, _ in payloads]
    assert names == [doc["type"] for _, doc in payloads]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    snapshot = None
    for name, doc in payloads:
        if name != b"ping":
            event = adapter.validate_python(doc, strict=False)
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs={})
    assert snapshot is not None
    assert snapshot.content[0].type == "text"
    assert snapshot.content[0].text == TEXT
    assert snapshot.stop_reason == "max_tokens"
    assert (snapshot.usage.input_tokens, snapshot.usage.output_tokens) == (56, 3)
    assert snapshot.usage.cache_read_input_tokens == 64


@pytest.mark.parametrize("finish", ["stop", "length"])
def test_openai_responses_stream_satisfies_the_sdk(finish: str) -> None:
    """openai-responses: every event validates as the SDK's
    ResponseStreamEvent, sequence numbers count up from 0, and the SDK's
    stream state accumulates the text; length ends as response.incomplete."""
    payloads = sse_payloads(render_stream("openai-responses", finish))
    assert [doc["sequence_number"] for _, doc in payloads] == list(range(len(payloads)))
    assert [name.decode() for name, _ in payloads] == [doc["type"] for _, doc in payloads]
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    state: ResponseStreamState[None] = ResponseStreamState(input_tools=omit, text_format=omit)
    for _, doc in payloads:
        state.handle_event(adapter.validate_python(doc, strict=False))
    final = payloads[-1][1]
    assert final["type"] == ("response.completed" if finish == "stop" else "response.incomplete")
    response = Response.model_validate(final["response"], strict=False)
    assert response.output_text == TEXT
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == 64


@pytest.mark.parametrize(
    ("protocol", "model"),
    [("openai-chat", ChatCompletion), ("anthropic", Message), ("openai-responses", Response)],
)
@pytest.mark.parametrize("with_usage", [True, False])
def test_bodies_satisfy_the_sdk(protocol: str, model: Any, with_usage: bool) -> None:
    """A non-streamed answer validates as the SDK's model (Anthropic's only
    with usage: its Message model requires it)."""
    usage = USAGE if with_usage else None
    body = codec(protocol).render_body(Reply("r1", "m-1", 1_700_000_000, TEXT, "stop", usage))
    doc = orjson.loads(body)
    if protocol == "anthropic" and not with_usage:
        assert "usage" not in doc
        return
    model.model_validate(doc, strict=False)


# --- round trips through our own client adapters ----------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("finish", ["stop", "length"])
def test_stream_round_trip(protocol: str, finish: str) -> None:
    """Rendered by the codec, parsed by the client adapter: the same text in
    the same deltas, the same usage, the finish reason spelled the protocol's way."""
    events = client_events(protocol, render_stream(protocol, finish), stream=True)
    assert [e for e in events if isinstance(e, ContentDelta)] == [ContentDelta(t) for t in DELTAS]
    merged = Usage()
    for event in events:
        if isinstance(event, Usage):
            merged = Usage(
                event.prompt_tokens if event.prompt_tokens is not None else merged.prompt_tokens,
                event.completion_tokens or merged.completion_tokens,
                event.cached_tokens if event.cached_tokens is not None else merged.cached_tokens,
            )
    assert merged == USAGE
    assert events[-1] == Finish(NEUTRAL_FINISH[protocol, finish])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_without_usage_round_trip(protocol: str) -> None:
    """With usage turned off (the mock's --no-usage), no usage is rendered and
    the client reports none."""
    events = client_events(protocol, render_stream(protocol, usage=None), stream=True)
    assert not [e for e in events if isinstance(e, Usage)]
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == TEXT
    assert isinstance(events[-1], Finish)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("finish", ["stop", "length"])
def test_body_round_trip(protocol: str, finish: str) -> None:
    """A non-streamed answer reads back as one delta with the completion
    token count, the usage and the finish reason."""
    reply = Reply("r1", "m-1", 1_700_000_000, TEXT, finish, USAGE)
    events = client_events(protocol, codec(protocol).render_body(reply), stream=False)
    finish_reason = NEUTRAL_FINISH[protocol, finish]
    assert events == [ContentDelta(TEXT, 3), USAGE, Finish(finish_reason)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_body_without_usage_round_trip(protocol: str) -> None:
    """A non-streamed answer without usage reads back without usage."""
    reply = Reply("r1", "m-1", 1_700_000_000, TEXT, "stop", None)
    events = client_events(protocol, codec(protocol).render_body(reply), stream=False)
    assert events == [ContentDelta(TEXT), Finish(NEUTRAL_FINISH[protocol, "stop"])]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("error_type", "error_class"),
    [
        ("rate_limit_error", "http_429"),
        ("overloaded_error", "http_5xx"),
        ("server_error", "http_5xx"),
    ],
)
def test_stream_error_round_trip(protocol: str, error_type: str, error_class: str) -> None:
    """An in-stream error rendered by the codec ends the client's events with
    a ResponseError of the matching class, after the content already sent."""
    renderer = codec(protocol).open_stream("r1", "m", 1, USAGE)
    body = renderer.head() + renderer.delta("partial") + renderer.error(error_type, "busy now")
    events = client_events(protocol, body, stream=True)
    assert ContentDelta("partial") in events
    last = events[-1]
    assert isinstance(last, ResponseError)
    assert (last.error_class, last.error_type) == (error_class, error_type)
    assert last.message.endswith("the server reported an error: busy now")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, "http_4xx"), (401, "http_4xx"), (404, "http_4xx"), (429, "http_429"), (500, "http_5xx")],
)
def test_error_body_round_trip(protocol: str, status: int, error_class: str) -> None:
    """An error body rendered by the codec is read by the client's non-2xx
    parser: class from the status, message and type from the body."""
    body = codec(protocol).render_error(status, "no can do")
    parser = get_adapter(protocol)().open_response(
        status, {"content-type": "application/json"}, True
    )
    [error] = feed_all(parser, [body])
    assert isinstance(error, ResponseError)
    assert error.error_class == error_class
    assert error.message == f"{protocol}: HTTP {status}: no can do"
    assert error.error_type


@pytest.mark.parametrize(
    ("protocol", "status", "error_type"),
    [
        ("openai-chat", 503, "server_error"),
        ("openai-chat", 418, "invalid_request_error"),
        ("anthropic", 402, "billing_error"),
        ("anthropic", 413, "request_too_large"),
        ("anthropic", 529, "overloaded_error"),
        ("anthropic", 503, "api_error"),
        ("anthropic", 409, "invalid_request_error"),
    ],
)
def test_render_error_types(protocol: str, status: int, error_type: str) -> None:
    """render_error spells the error type each API uses for the status."""
    doc = orjson.loads(codec(protocol).render_error(status, "x"))
    assert doc["error"]["type"] == error_type
