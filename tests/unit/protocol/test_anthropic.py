"""anthropic: the request body, and the events read from recorded and
malformed answers, streamed and not."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.protocol import (
    ContentDelta,
    Conversation,
    Event,
    Finish,
    Message,
    ResponseError,
    ToolCallDelta,
    Usage,
    get_adapter,
)
from loadtest.testing import assert_split_invariant, feed_all
from tests.unit.protocol.recorded import (
    body_parser,
    cut,
    recording,
    stream_parser,
    with_cr,
    with_crlf,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

PROTOCOL = "anthropic"
RECORDED_EVENTS: list[Event] = [
    Usage(prompt_tokens=25 + 10 + 2048, cached_tokens=2048),
    ContentDelta("The user greets me in French.", reasoning=True),
    ContentDelta("Bonjour"),
    ContentDelta(" — ça va ? 🙂\n"),
    Usage(completion_tokens=15),
    Finish("end_turn"),
]


def event(payload: Mapping[str, object], name: str | None = None) -> bytes:
    """One SSE event named like its type (or `name`)."""
    name = str(payload.get("type")) if name is None else name
    return f"event: {name}\n".encode() + b"data: " + orjson.dumps(payload) + b"\n\n"


def text(piece: str) -> bytes:
    delta = {"type": "text_delta", "text": piece}
    return event({"type": "content_block_delta", "index": 0, "delta": delta})


STOP = event({"type": "message_stop"})


def stream_events(*pieces: bytes) -> list[Event]:
    return feed_all(stream_parser(PROTOCOL), [b"".join(pieces)])


# --- the request ---------------------------------------------------------------


def test_streaming_request_body_field_by_field() -> None:
    """model, max_tokens, messages, system as a string, stream true,
    temperature; no anthropic-version header (the profile sends it)."""
    conversation = Conversation(
        model="claude-x",
        messages=(Message("user", "Hi"), Message("assistant", "Yo"), Message("user", "Bye")),
        system="Be brief.",
        max_tokens=64,
        stream=True,
        temperature=0.5,
    )
    request = get_adapter(PROTOCOL)().build_request(conversation)
    assert request.headers == (
        ("content-type", "application/json"),
        ("accept", "text/event-stream"),
    )
    body = orjson.loads(request.body)
    assert list(body) == ["model", "max_tokens", "messages", "system", "stream", "temperature"]
    assert body["model"] == "claude-x"
    assert body["max_tokens"] == 64
    assert body["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Yo"},
        {"role": "user", "content": "Bye"},
    ]
    assert body["system"] == "Be brief."
    assert body["stream"] is True
    assert body["temperature"] == 0.5


def test_plain_request_defaults_max_tokens() -> None:
    """Without max_tokens the API's required field gets 1024; a non-streamed
    request sends no stream field, no system, no temperature."""
    conversation = Conversation(
        model="m", messages=(Message("user", "Hi"),), extra_body={"top_k": 5}
    )
    request = get_adapter(PROTOCOL)().build_request(conversation)
    assert ("accept", "application/json") in request.headers
    assert orjson.loads(request.body) == {
        "model": "m",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hi"}],
        "top_k": 5,
    }


def test_adapter_path_and_name() -> None:
    """The adapter is registered as anthropic with its API path."""
    adapter = get_adapter(PROTOCOL)
    assert (adapter.name, adapter.path) == (PROTOCOL, "/v1/messages")


# --- recorded streams ---------------------------------------------------------------


@pytest.mark.parametrize("variant", [bytes, with_crlf, with_cr])
def test_recorded_stream_at_every_split(variant: object) -> None:
    """The recorded stream (thinking, signature, ping, text) gives the
    expected events however it is split, with any line ending."""
    data = variant(recording("anthropic_stream.sse"))  # type: ignore[operator]
    assert assert_split_invariant(lambda: stream_parser(PROTOCOL), data) == RECORDED_EVENTS


@given(st.lists(st.integers(0, 1700), max_size=20))
def test_recorded_stream_at_chosen_splits(offsets: list[int]) -> None:
    """Hypothesis-chosen splits into many reads give the same events."""
    data = recording("anthropic_stream.sse")
    assert feed_all(stream_parser(PROTOCOL), cut(data, offsets)) == RECORDED_EVENTS


# --- stream rules -------------------------------------------------------------------


def test_unknown_events_and_delta_types_are_ignored() -> None:
    """Unknown event types and delta types (signature_delta) are skipped."""
    other_delta = {"type": "brand_new_delta", "partial_json": '{"a'}
    events = stream_events(
        event({"type": "brand_new_event", "x": 1}),
        event({"type": "content_block_delta", "index": 1, "delta": other_delta}),
        event({"type": "message_start", "message": {"id": "m", "content": []}}),
        text("ok"),
        STOP,
    )
    assert events == [ContentDelta("ok"), Finish(None)]


def test_type_falls_back_to_the_event_name() -> None:
    """An event whose JSON has no type is read by its `event:` line."""
    events = stream_events(
        b'event: content_block_delta\ndata: {"delta": {"type": "text_delta", "text": "x"}}\n\n',
        b"event: message_stop\ndata: {}\n\n",
    )
    assert events == [ContentDelta("x"), Finish(None)]


def test_message_delta_with_prompt_counts_and_without_usage() -> None:
    """A message_delta repeating input counts reports them too; one without
    usage or delta reports nothing."""
    usage = {"input_tokens": 4, "cache_read_input_tokens": 6, "output_tokens": 9}
    events = stream_events(
        event({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}}),
        event({"type": "message_delta", "usage": usage}),
        event({"type": "message_delta", "usage": {}}),
        event({"type": "message_delta", "delta": {"stop_reason": None}}),
        STOP,
    )
    assert events == [Usage(10, 9, 6), Finish("max_tokens")]


def test_end_before_message_stop_is_truncated() -> None:
    """A body that ends before message_stop is stream_truncated, even after
    a stop_reason."""
    stop = event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
    *_, error = stream_events(text("partial"), stop)
    assert error == ResponseError(
        "stream_truncated", "anthropic stream: the body ended after 2 events without message_stop"
    )


@pytest.mark.parametrize(
    ("error_type", "error_class"),
    [
        ("overloaded_error", "http_5xx"),
        ("api_error", "http_5xx"),
        ("timeout_error", "http_5xx"),
        ("something_new", "http_5xx"),
        ("rate_limit_error", "http_429"),
        ("invalid_request_error", "http_4xx"),
        ("authentication_error", "http_4xx"),
        ("permission_error", "http_4xx"),
        ("not_found_error", "http_4xx"),
        ("request_too_large", "http_4xx"),
        ("billing_error", "http_4xx"),
    ],
)
def test_error_event_mapping(error_type: str, error_class: str) -> None:
    """An `error` event ends the stream with the class of its error type."""
    error = {"type": "error", "error": {"type": error_type, "message": "Overloaded"}}
    parser = stream_parser(PROTOCOL)
    assert parser.feed(text("a") + event(error) + text("b")) == [
        ContentDelta("a"),
        ResponseError(
            error_class,
            "anthropic stream event 2: the server reported an error: Overloaded",
            error_type,
        ),
    ]
    assert parser.feed(STOP) == []
    assert parser.end() == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"event: x\ndata: [1]\n\n", "expected a JSON object, got list [1]"),
        (b'data: {"index": 0}\n\n', 'expected "type" to be a string, got nothing (no such key)'),
        (b'event: ping\ndata: {"type": 3}\n\n', 'expected "type" to be a string, got number 3'),
        (b'data: {"type": "message_start"}\n\n', 'expected "message" to be an object, got nothing'),
        (
            b'data: {"type": "message_start", "message": {"usage": []}}\n\n',
            'expected "message.usage" to be an object, got list []',
        ),
        (
            b'data: {"type": "message_start", "message": {"usage": {"input_tokens": "9"}}}\n\n',
            'expected "message.usage.input_tokens" to be an integer, got string "9"',
        ),
        (b'data: {"type": "content_block_delta", "delta": "x"}\n\n', 'expected "delta" to be an'),
        (
            b'data: {"type": "content_block_delta", "delta": {"type": "text_delta"}}\n\n',
            'expected "delta.text" to be a string, got nothing',
        ),
        (
            b'data: {"type": "content_block_delta",'
            b' "delta": {"type": "thinking_delta", "thinking": 1}}\n\n',
            'expected "delta.thinking" to be a string, got number 1',
        ),
        (b'data: {"type": "message_delta", "delta": 5}\n\n', 'expected "delta" to be an object'),
        (
            b'data: {"type": "message_delta", "delta": {"stop_reason": 5}}\n\n',
            'expected "delta.stop_reason" to be a string',
        ),
        (
            b'data: {"type": "message_delta", "usage": {"output_tokens": true}}\n\n',
            'expected "usage.output_tokens" to be an integer, got boolean true',
        ),
        (b"data: {\n\n", "not valid JSON"),
    ],
)
def test_malformed_stream_is_bad_response(data: bytes, message: str) -> None:
    """Malformed events end the stream with one bad_response naming what was
    expected, what arrived and where."""
    parser = stream_parser(PROTOCOL)
    events = parser.feed(text("ok") + data + text("later"))
    assert events[0] == ContentDelta("ok")
    [error] = events[1:]
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"
    assert error.message.startswith("anthropic stream event 2: ")
    assert message in error.message
    assert parser.end() == []


def test_empty_thinking_delta_is_not_content() -> None:
    """An empty thinking delta yields nothing."""
    thinking = {"type": "thinking_delta", "thinking": ""}
    events = stream_events(event({"type": "content_block_delta", "delta": thinking}), STOP)
    assert events == [Finish(None)]


# --- non-streamed answers ---------------------------------------------------------------


def test_recorded_body() -> None:
    """The recorded message: thinking as reasoning, text blocks joined, the
    tool use block a whole tool call, usage with cache reads counted in the
    prompt, stop reason."""
    data = recording("anthropic_body.json")
    assert assert_split_invariant(lambda: body_parser(PROTOCOL), data) == [
        ContentDelta("A greeting; answer warmly.", reasoning=True),
        ContentDelta("Hi! How can I help — today? ☕", tokens=503),
        ToolCallDelta(2, "{}", "toolu_01A09q90qw90lq917835lq9", "get_time"),
        Usage(prompt_tokens=295 + 1800, completion_tokens=503, cached_tokens=1800),
        Finish("end_turn"),
    ]


def body_events(doc: object) -> list[Event]:
    return feed_all(body_parser(PROTOCOL), [orjson.dumps(doc)])


def test_body_without_text_or_usage() -> None:
    """A message with no text blocks and no usage: just Finish."""
    assert body_events({"content": [], "stop_reason": "tool_use"}) == [Finish("tool_use")]


def test_error_document_in_a_200_body() -> None:
    """An error document with status 200 is a ResponseError of its class."""
    doc = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert body_events(doc) == [
        ResponseError(
            "http_5xx",
            "anthropic response body: the server reported an error: Overloaded",
            "overloaded_error",
        )
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"id": "m"}, 'expected "content" to be a list, got nothing'),
        ({"content": ["hi"]}, 'expected "content[0]" to be an object, got string "hi"'),
        ({"content": [{"type": "text"}]}, 'expected "content[0].text" to be a string'),
        ({"content": [{"type": "thinking"}]}, 'expected "content[0].thinking" to be a string'),
        ({"content": [], "usage": "x"}, 'expected "usage" to be an object'),
        ({"content": [], "stop_reason": 1}, 'expected "stop_reason" to be a string'),
    ],
)
def test_malformed_body_is_bad_response(doc: object, message: str) -> None:
    """A body without the expected fields is one bad_response saying which."""
    [error] = body_events(doc)
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"
    assert error.message.startswith("anthropic response body: ")
    assert message in error.message
