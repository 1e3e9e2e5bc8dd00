"""openai-responses: the request body, and the events read from recorded
and malformed answers, streamed and not."""

from __future__ import annotations

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

PROTOCOL = "openai-responses"
RECORDED_EVENTS: list[Event] = [
    ContentDelta("**Greeting** A short hello will do.", reasoning=True),
    ContentDelta("Hi"),
    ContentDelta(" there"),
    ContentDelta("! ¿Qué tal? 🌞"),
    Usage(prompt_tokens=1337, completion_tokens=91, cached_tokens=1280),
    Finish("completed"),
]


def event(payload: dict[str, object]) -> bytes:
    """One SSE event named like its type."""
    return f"event: {payload['type']}\n".encode() + b"data: " + orjson.dumps(payload) + b"\n\n"


def text(piece: str) -> bytes:
    return event({"type": "response.output_text.delta", "item_id": "m", "delta": piece})


def stream_events(*pieces: bytes) -> list[Event]:
    return feed_all(stream_parser(PROTOCOL), [b"".join(pieces)])


# --- the request ----------------------------------------------------------------


def test_streaming_request_body_field_by_field() -> None:
    """model, input items, instructions, max_output_tokens, stream, temperature."""
    conversation = Conversation(
        model="gpt-r",
        messages=(Message("user", "Hi"), Message("assistant", "Yo"), Message("user", "Bye")),
        system="Be brief.",
        max_tokens=32,
        stream=True,
        temperature=0.7,
    )
    request = get_adapter(PROTOCOL)().build_request(conversation)
    assert request.headers == (
        ("content-type", "application/json"),
        ("accept", "text/event-stream"),
    )
    body = orjson.loads(request.body)
    assert list(body) == [
        "model",
        "input",
        "instructions",
        "max_output_tokens",
        "stream",
        "temperature",
    ]
    assert body["model"] == "gpt-r"
    assert body["input"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Yo"},
        {"role": "user", "content": "Bye"},
    ]
    assert body["instructions"] == "Be brief."
    assert body["max_output_tokens"] == 32
    assert body["stream"] is True
    assert body["temperature"] == 0.7


def test_plain_request_leaves_out_unset_fields() -> None:
    """Unset fields are left out; stream is false; extra_body overrides."""
    conversation = Conversation(
        model="m", messages=(Message("user", "Hi"),), extra_body={"store": False, "stream": False}
    )
    request = get_adapter(PROTOCOL)().build_request(conversation)
    assert ("accept", "application/json") in request.headers
    assert orjson.loads(request.body) == {
        "model": "m",
        "input": [{"role": "user", "content": "Hi"}],
        "stream": False,
        "store": False,
    }


def test_adapter_path_and_name() -> None:
    """The adapter is registered as openai-responses with its API path."""
    adapter = get_adapter(PROTOCOL)
    assert (adapter.name, adapter.path) == (PROTOCOL, "/v1/responses")


# --- recorded streams ---------------------------------------------------------------


@pytest.mark.parametrize("variant", [bytes, with_crlf, with_cr])
def test_recorded_stream_at_every_split(variant: object) -> None:
    """The recorded stream (reasoning summary, text, completed with usage)
    gives the expected events however it is split, with any line ending."""
    data = variant(recording("openai_responses_stream.sse"))  # type: ignore[operator]
    assert assert_split_invariant(lambda: stream_parser(PROTOCOL), data) == RECORDED_EVENTS


@given(st.lists(st.integers(0, 6200), max_size=20))
def test_recorded_stream_at_chosen_splits(offsets: list[int]) -> None:
    """Hypothesis-chosen splits into many reads give the same events."""
    data = recording("openai_responses_stream.sse")
    assert feed_all(stream_parser(PROTOCOL), cut(data, offsets)) == RECORDED_EVENTS


# --- stream rules -----------------------------------------------------------------------


def test_reasoning_text_and_empty_deltas() -> None:
    """reasoning_text deltas are reasoning; empty deltas are nothing."""
    events = stream_events(
        event({"type": "response.reasoning_text.delta", "delta": "think"}),
        event({"type": "response.reasoning_text.delta", "delta": ""}),
        text(""),
        text("say"),
        event({"type": "response.completed", "response": {"status": "completed"}}),
    )
    assert events == [
        ContentDelta("think", reasoning=True),
        ContentDelta("say"),
        Finish("completed"),
    ]


def test_incomplete_is_terminal_with_its_reason() -> None:
    """response.incomplete ends the stream: usage, then Finish(reason)."""
    response = {
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "usage": {"input_tokens": 3, "output_tokens": 16},
    }
    parser = stream_parser(PROTOCOL)
    events = parser.feed(
        text("a") + event({"type": "response.incomplete", "response": response}) + text("b")
    )
    assert events == [ContentDelta("a"), Usage(3, 16), Finish("max_output_tokens")]
    assert parser.end() == []


def test_terminal_event_without_status_or_reason() -> None:
    """Without a status the event's own name gives the reason; an incomplete
    response without details finishes as "incomplete"."""
    incomplete = event({"type": "response.incomplete", "response": {"incomplete_details": None}})
    assert stream_events(incomplete) == [Finish("incomplete")]


def test_type_falls_back_to_the_event_name() -> None:
    """An event whose JSON has no type is read by its `event:` line."""
    data = b'event: response.output_text.delta\ndata: {"delta": "x"}\n\n'
    assert stream_events(data)[0] == ContentDelta("x")


@pytest.mark.parametrize(
    ("payload", "error_class", "error_type", "message"),
    [
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None},
            "http_429",
            "rate_limit_exceeded",
            "Slow down",
        ),
        (
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "code": None, "message": "Bad"},
            },
            "http_4xx",
            "invalid_request_error",
            "Bad",
        ),
        ({"type": "error"}, "http_5xx", None, "(no message)"),
        (
            {
                "type": "response.failed",
                "response": {
                    "status": "failed",
                    "error": {"code": "server_error", "message": "Oops"},
                },
            },
            "http_5xx",
            "server_error",
            "Oops",
        ),
        (
            {"type": "response.failed", "response": {"error": None}},
            "http_5xx",
            None,
            "(no message)",
        ),
    ],
)
def test_error_and_failed_events(
    payload: dict[str, object], error_class: str, error_type: str | None, message: str
) -> None:
    """`error` and `response.failed` end the stream with a ResponseError
    classed by the error's code."""
    parser = stream_parser(PROTOCOL)
    events = parser.feed(text("a") + event(payload) + text("b"))
    assert events == [
        ContentDelta("a"),
        ResponseError(
            error_class,
            f"openai-responses stream event 2: the server reported an error: {message}",
            error_type,
        ),
    ]
    assert parser.end() == []


def test_end_before_a_terminal_event_is_truncated() -> None:
    """A body that ends before completed/incomplete/failed is stream_truncated."""
    *_, error = stream_events(text("partial"))
    assert error == ResponseError(
        "stream_truncated",
        "openai-responses stream: the body ended after 1 events without "
        "response.completed, response.incomplete or response.failed",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"data: 7\n\n", "expected a JSON object, got number 7"),
        (b'data: {"delta": "x"}\n\n', 'expected "type" to be a string, got nothing'),
        (b'data: {"type": "response.output_text.delta"}\n\n', 'expected "delta" to be a string'),
        (
            b'data: {"type": "response.reasoning_text.delta", "delta": 1}\n\n',
            '"delta" to be a string',
        ),
        (b'data: {"type": "response.completed"}\n\n', 'expected "response" to be an object'),
        (b'data: {"type": "response.failed", "response": 1}\n\n', '"response" to be an object'),
        (
            b'data: {"type": "response.completed",'
            b' "response": {"usage": {"input_tokens": "3"}}}\n\n',
            'expected "response.usage.input_tokens" to be an integer, got string "3"',
        ),
        (
            b'data: {"type": "response.completed",'
            b' "response": {"usage": {"input_tokens_details": {"cached_tokens": "1"}}}}\n\n',
            'expected "response.usage.input_tokens_details.cached_tokens" to be an integer',
        ),
        (
            b'data: {"type": "response.incomplete",'
            b' "response": {"incomplete_details": {"reason": 1}}}\n\n',
            'expected "response.incomplete_details.reason" to be a string',
        ),
        (
            b'data: {"type": "response.completed", "response": {"status": 1}}\n\n',
            '"response.status"',
        ),
    ],
)
def test_malformed_stream_is_bad_response(data: bytes, message: str) -> None:
    """Malformed events end the stream with one bad_response naming what was
    expected, what arrived and where."""
    events = stream_events(text("ok"), data, text("later"))
    assert events[0] == ContentDelta("ok")
    [error] = events[1:]
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"
    assert error.message.startswith("openai-responses stream event 2: ")
    assert message in error.message


# --- non-streamed answers ---------------------------------------------------------------


def test_recorded_body() -> None:
    """The recorded response: output_text parts of message items joined
    (reasoning items and refusal parts skipped), usage, Finish(status)."""
    data = recording("openai_responses_body.json")
    assert assert_split_invariant(lambda: body_parser(PROTOCOL), data) == [
        ContentDelta(
            "In a peaceful grove beneath a silver moon, "
            "a unicorn named Lumina 🦄 discovered a hidden pool.",
            tokens=87,
        ),
        Usage(prompt_tokens=36, completion_tokens=87, cached_tokens=0),
        Finish("completed"),
    ]


def body_events(doc: object) -> list[Event]:
    return feed_all(body_parser(PROTOCOL), [orjson.dumps(doc)])


def test_body_incomplete_without_usage() -> None:
    """An incomplete response without usage: its text, then Finish(reason)."""
    doc = {
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Once"}]}],
    }
    assert body_events(doc) == [ContentDelta("Once"), Finish("max_output_tokens")]


def test_body_without_text() -> None:
    """A response whose output holds no text gives no delta."""
    assert body_events({"output": [], "status": "completed", "usage": {}}) == [
        Usage(),
        Finish("completed"),
    ]


@pytest.mark.parametrize(
    "doc",
    [
        {
            "status": "failed",
            "output": [],
            "error": {"code": "rate_limit_exceeded", "message": "Slow"},
        },
        {"error": {"code": "rate_limit_exceeded", "message": "Slow", "type": "requests"}},
    ],
)
def test_failed_body_is_an_error(doc: object) -> None:
    """A failed response, or an error document, in a 200 body is a
    ResponseError classed by its code."""
    assert body_events(doc) == [
        ResponseError(
            "http_429",
            "openai-responses response body: the server reported an error: Slow",
            "rate_limit_exceeded",
        )
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"status": "completed"}, 'expected "output" to be a list, got nothing'),
        ({"output": [1]}, 'expected "output[0]" to be an object, got number 1'),
        ({"output": [{"type": "message"}]}, 'expected "output[0].content" to be a list'),
        (
            {"output": [{"type": "message", "content": [2]}]},
            '"output[0].content[0]" to be an object',
        ),
        (
            {"output": [{"type": "message", "content": [{"type": "output_text"}]}]},
            'expected "output[0].content[0].text" to be a string, got nothing',
        ),
        ({"output": [], "usage": {"output_tokens": 1.5}}, '"usage.output_tokens" to be an integer'),
    ],
)
def test_malformed_body_is_bad_response(doc: object, message: str) -> None:
    """A body without the expected fields is one bad_response saying which."""
    [error] = body_events(doc)
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"
    assert error.message.startswith("openai-responses response body: ")
    assert message in error.message
