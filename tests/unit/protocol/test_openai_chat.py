"""openai-chat: the request body, and the events read from recorded and
malformed answers, streamed and not."""

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

PROTOCOL = "openai-chat"
RECORDED_EVENTS: list[Event] = [
    ContentDelta("Bonjour"),
    ContentDelta(" à"),
    ContentDelta(" tous"),
    ContentDelta(' 👋 "ami"'),
    ContentDelta("!\n"),
    Usage(prompt_tokens=1117, completion_tokens=7, cached_tokens=1024),
    Finish("stop"),
]
VLLM_EVENTS: list[Event] = [
    ContentDelta("Two plus two", tokens=3, reasoning=True),
    ContentDelta(" is four.", tokens=3, reasoning=True),
    ContentDelta("4", tokens=1),
    ContentDelta(".", tokens=1),
    Usage(prompt_tokens=12, completion_tokens=8),
    Finish("stop"),
]
CONVERSATION = Conversation(
    model="gpt-4o",
    messages=(Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "Bye")),
    system="Be brief.",
    max_tokens=64,
    stream=True,
    temperature=0.2,
)


def chunk(choices: object = None, **fields: object) -> bytes:
    """One SSE event carrying a chat.completion.chunk (choices omitted when None)."""
    doc: dict[str, object] = {"id": "c1", "object": "chat.completion.chunk", **fields}
    if choices is not None:
        doc["choices"] = choices
    return b"data: " + orjson.dumps(doc) + b"\n\n"


def content(text: str, finish_reason: str | None = None) -> bytes:
    return chunk([{"index": 0, "delta": {"content": text}, "finish_reason": finish_reason}])


def stream_events(*pieces: bytes) -> list[Event]:
    return feed_all(stream_parser(PROTOCOL), [b"".join(pieces)])


# --- the request -------------------------------------------------------------


def test_streaming_request_body_field_by_field() -> None:
    """A streamed request: system first, then the conversation, max_tokens,
    stream, stream_options.include_usage and temperature; SSE accept header."""
    request = get_adapter(PROTOCOL)().build_request(CONVERSATION)
    assert request.headers == (
        ("content-type", "application/json"),
        ("accept", "text/event-stream"),
    )
    body = orjson.loads(request.body)
    assert list(body) == [
        "model",
        "messages",
        "max_tokens",
        "stream",
        "stream_options",
        "temperature",
    ]
    assert body["model"] == "gpt-4o"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye"},
    ]
    assert body["max_tokens"] == 64
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.2


def test_plain_request_leaves_out_unset_fields() -> None:
    """No system, max_tokens or temperature set: none is sent; a non-streamed
    request sends stream false, no stream_options, and accepts JSON."""
    conversation = Conversation(model="m", messages=(Message("user", "Hi"),))
    request = get_adapter(PROTOCOL)().build_request(conversation)
    assert ("accept", "application/json") in request.headers
    assert orjson.loads(request.body) == {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }


def test_extra_body_is_merged_last_and_overrides() -> None:
    """extra_body fields are added at the top level and win over the adapter's."""
    conversation = Conversation(
        model="m",
        messages=(Message("user", "Hi"),),
        stream=True,
        extra_body={"top_p": 0.5, "stream_options": {"include_usage": False}, "model": "other"},
    )
    body = orjson.loads(get_adapter(PROTOCOL)().build_request(conversation).body)
    assert body["top_p"] == 0.5
    assert body["stream_options"] == {"include_usage": False}
    assert body["model"] == "other"


def test_adapter_path_and_name() -> None:
    """The adapter is registered as openai-chat with its API path."""
    adapter = get_adapter(PROTOCOL)
    assert (adapter.name, adapter.path) == (PROTOCOL, "/v1/chat/completions")


# --- recorded streams ------------------------------------------------------------


@pytest.mark.parametrize("variant", [bytes, with_crlf, with_cr])
def test_recorded_stream_at_every_split(variant: object) -> None:
    """The recorded OpenAI stream gives the expected events (role-only and
    empty deltas are not content; the usage chunk is Usage; [DONE] is
    Finish) however it is split, with \\n, \\r\\n or \\r line ends."""
    data = variant(recording("openai_chat_stream.sse"))  # type: ignore[operator]
    assert assert_split_invariant(lambda: stream_parser(PROTOCOL), data) == RECORDED_EVENTS


def test_recorded_vllm_stream_with_reasoning_and_running_usage() -> None:
    """vLLM's reasoning_content deltas are reasoning, and a running usage in
    each chunk gives each delta its token count."""
    data = recording("vllm_chat_reasoning_stream.sse")
    assert assert_split_invariant(lambda: stream_parser(PROTOCOL), data) == VLLM_EVENTS


@given(st.lists(st.integers(0, 3200), max_size=20))
def test_recorded_stream_at_chosen_splits(offsets: list[int]) -> None:
    """Hypothesis-chosen splits into many reads give the same events."""
    data = recording("openai_chat_stream.sse")
    assert feed_all(stream_parser(PROTOCOL), cut(data, offsets)) == RECORDED_EVENTS


# --- stream rules ------------------------------------------------------------------


def test_reasoning_field_and_reasoning_with_content() -> None:
    """`delta.reasoning` counts as reasoning too; a chunk carrying reasoning
    and content yields both, reasoning first, tokens on the content."""
    both = {"reasoning": "think", "content": "say"}
    events = stream_events(
        chunk([{"index": 0, "delta": {"reasoning": "hmm"}}]),
        chunk([{"index": 0, "delta": both}], usage={"completion_tokens": 2}),
        chunk([{"index": 0, "delta": {"reasoning": {"not": "text"}}}]),
        b"data: [DONE]\n\n",
    )
    assert events == [
        ContentDelta("hmm", reasoning=True),
        ContentDelta("think", reasoning=True),
        ContentDelta("say", tokens=2),
        Usage(completion_tokens=2),
        Finish(None),
    ]


def test_running_usage_without_final_usage_chunk() -> None:
    """With running usage and no final usage chunk, the last running usage
    is reported just before Finish; a count that goes down gives no tokens;
    a choice with no delta is only a finish."""
    running = {"prompt_tokens": 5, "completion_tokens": 4}
    events = stream_events(
        chunk([{"index": 0, "delta": {"content": "a"}}], usage=running),
        chunk([{"index": 0, "delta": {"content": "b"}}], usage={"completion_tokens": 2}),
        chunk([{"index": 0, "delta": {"content": "c"}}], usage={"prompt_tokens": 5}),
        chunk([{"index": 0, "finish_reason": "length"}]),
    )
    assert events == [
        ContentDelta("a", tokens=4),
        ContentDelta("b"),
        ContentDelta("c"),
        Usage(prompt_tokens=5),
        Finish("length"),
    ]


def test_usage_chunk_with_null_or_missing_choices() -> None:
    """A usage chunk whose choices are null or absent (some servers) is still
    the usage chunk; choices [] without usage (Azure's prompt filter
    results) is ignored."""
    usage = {"prompt_tokens": 3, "completion_tokens": 1}
    events = stream_events(
        chunk([], prompt_filter_results=[]),
        content("x", "stop"),
        b'data: {"id": "c1", "choices": null,'
        b' "usage": {"prompt_tokens": 3, "completion_tokens": 1}}\n\n',
        chunk(usage=usage),
        b"data: [DONE]\n\n",
    )
    assert events == [ContentDelta("x"), Usage(3, 1), Usage(3, 1), Finish("stop")]


def test_finish_reason_then_end_without_done_is_complete() -> None:
    """A body that ends without [DONE] after a finish_reason is complete:
    Finish comes from end()."""
    parser = stream_parser(PROTOCOL)
    assert parser.feed(content("hi", "stop")) == [ContentDelta("hi")]
    assert parser.end() == [Finish("stop")]
    assert parser.end() == []


@pytest.mark.parametrize("body", [b"", content("hi"), content("hi") + b": ping\n"])
def test_end_without_done_or_finish_reason_is_truncated(body: bytes) -> None:
    """A body that ends with neither [DONE] nor a finish_reason is
    stream_truncated, after the content it had."""
    events = stream_events(body)
    error = events[-1]
    assert isinstance(error, ResponseError)
    assert error.error_class == "stream_truncated"
    assert error.message.startswith("openai-chat stream: the body ended after ")
    assert error.message.endswith(" events without data: [DONE] or a finish_reason")


def test_end_inside_an_event_is_truncated() -> None:
    """A body cut inside an event's JSON is stream_truncated, not
    bad_response; an unterminated last event that is whole still counts."""
    [delta, error] = stream_events(content("hi") + b'data: {"choi')
    assert delta == ContentDelta("hi")
    assert isinstance(error, ResponseError)
    assert error.error_class == "stream_truncated"
    assert error.message.startswith("openai-chat stream event 2: the body ended inside this event")
    assert stream_events(content("hi"), b"data: [DONE]") == [ContentDelta("hi"), Finish(None)]


def test_nothing_is_yielded_after_done() -> None:
    """After [DONE], further bytes and end() yield nothing."""
    parser = stream_parser(PROTOCOL)
    assert parser.feed(content("a") + b"data: [DONE]\n\n" + content("b")) == [
        ContentDelta("a"),
        Finish(None),
    ]
    assert parser.feed(content("c")) == []
    assert parser.end() == []


@pytest.mark.parametrize(
    ("error", "error_class"),
    [
        ({"message": "slow", "type": "requests", "code": 429}, "http_429"),
        ({"message": "slow", "type": "tokens", "code": "rate_limit_exceeded"}, "http_429"),
        (
            {"message": "pay", "type": "insufficient_quota", "code": "insufficient_quota"},
            "http_429",
        ),
        ({"message": "bad", "type": "BadRequestError", "code": 400}, "http_4xx"),
        ({"message": "bad", "type": "invalid_request_error", "code": None}, "http_4xx"),
        ({"message": "bad", "code": "404"}, "http_4xx"),
        ({"message": "boom", "type": "server_error", "code": None}, "http_5xx"),
        ({"message": "boom", "type": "InternalServerError", "code": 500}, "http_5xx"),
        ({"message": "odd", "code": 0}, "http_5xx"),
    ],
)
def test_in_stream_error_mapping(error: dict[str, object], error_class: str) -> None:
    """An in-stream {"error": {...}} ends the stream with a ResponseError
    classed by its code (429 / 4xx / 5xx) or its type or code labels."""
    parser = stream_parser(PROTOCOL)
    events = parser.feed(content("part") + b"data: " + orjson.dumps({"error": error}) + b"\n\n")
    assert events[0] == ContentDelta("part")
    last = events[1]
    assert isinstance(last, ResponseError)
    assert last.error_class == error_class
    assert (
        last.message
        == f"openai-chat stream event 2: the server reported an error: {error['message']}"
    )
    assert parser.feed(content("more")) == []
    assert parser.end() == []


def test_in_stream_error_without_message() -> None:
    """An error event without a message still names where it was."""
    [error] = stream_events(b'data: {"error": {"type": "server_error"}}\n\n')
    assert error == ResponseError(
        "http_5xx",
        "openai-chat stream event 1: the server reported an error: (no message)",
        "server_error",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"data: {nope\n\n", "openai-chat stream event 2: not valid JSON"),
        (
            b'data: "text"\n\n',
            'openai-chat stream event 2: expected a JSON object, got string "text"',
        ),
        (b'data: {"id": "x"}\n\n', 'expected "choices" to be a list, got nothing (no such key)'),
        (b'data: {"choices": "abc"}\n\n', 'expected "choices" to be a list, got string "abc"'),
        (b'data: {"choices": 1, "usage": {}}\n\n', 'expected "choices" to be a list, got number 1'),
        (b'data: {"choices": [7]}\n\n', 'expected "choices[0]" to be an object, got number 7'),
        (b'data: {"choices": [{"delta": []}]}\n\n', 'expected "choices[0].delta" to be an object'),
        (
            b'data: {"choices": [{"delta": {"content": 5}}]}\n\n',
            '"choices[0].delta.content" to be a',
        ),
        (
            b'data: {"choices": [{"delta": {}, "finish_reason": 1}]}\n\n',
            '"choices[0].finish_reason"',
        ),
        (
            b'data: {"choices": [], "usage": []}\n\n',
            'expected "usage" to be an object, got list []',
        ),
        (
            b'data: {"choices": [], "usage": {"prompt_tokens": "1"}}\n\n',
            '"usage.prompt_tokens" to be',
        ),
        (
            b'data: {"choices": [],'
            b' "usage": {"prompt_tokens_details": {"cached_tokens": 1.5}}}\n\n',
            'expected "usage.prompt_tokens_details.cached_tokens" to be an integer, got number 1.5',
        ),
        (b'data: {"choices": [{"delta": {"content": "\xff"}}]}\n\n', "not valid JSON"),
    ],
)
def test_malformed_stream_is_bad_response(data: bytes, message: str) -> None:
    """Malformed events end the stream with one bad_response naming what was
    expected, what arrived and where; nothing follows it."""
    parser = stream_parser(PROTOCOL)
    events = parser.feed(content("ok") + data + content("later"))
    assert events[0] == ContentDelta("ok")
    error = events[1]
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"
    assert message in error.message
    assert len(events) == 2
    assert parser.end() == []


def test_invalid_utf8_split_mid_character_is_bad_response() -> None:
    """Valid multi-byte text split mid-character reads fine; a truncated
    character is bad_response (orjson refuses invalid UTF-8)."""
    good = content("é")
    middle = good.index(b"\xc3") + 1
    assert feed_all(stream_parser(PROTOCOL), [good[:middle], good[middle:]])[0] == ContentDelta("é")
    [error, *_] = stream_events(good.replace(b"\xc3\xa9", b"\xc3"))
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"


# --- non-streamed answers -------------------------------------------------------------


def test_recorded_body() -> None:
    """The recorded answer: one delta (tokens = completion_tokens), usage,
    Finish(finish_reason), however the body is split."""
    data = recording("openai_chat_body.json")
    assert assert_split_invariant(lambda: body_parser(PROTOCOL), data) == [
        ContentDelta(
            "The image shows a wooden boardwalk — “a path” — through a green meadow. 🌾", 46
        ),
        Usage(1117, 46, 1024),
        Finish("length"),
    ]


def body_events(doc: object) -> list[Event]:
    return feed_all(body_parser(PROTOCOL), [orjson.dumps(doc)])


def test_body_without_content_or_usage() -> None:
    """content null (tool calls only) gives no delta; no usage, no Usage."""
    choice = {
        "message": {"role": "assistant", "content": None, "tool_calls": []},
        "finish_reason": "tool_calls",
    }
    assert body_events({"choices": [choice]}) == [Finish("tool_calls")]


def test_body_with_reasoning() -> None:
    """message.reasoning_content is a reasoning delta before the content."""
    message = {"role": "assistant", "content": "4", "reasoning_content": "2+2"}
    assert body_events({"choices": [{"message": message, "finish_reason": "stop"}]}) == [
        ContentDelta("2+2", reasoning=True),
        ContentDelta("4"),
        Finish("stop"),
    ]


def test_error_in_a_200_body() -> None:
    """A 200 body that is an error document gives a ResponseError of its class."""
    error = {"error": {"message": "try later", "type": "server_error", "code": 503}}
    assert body_events(error) == [
        ResponseError(
            "http_5xx",
            "openai-chat response body: the server reported an error: try later",
            "server_error",
        )
    ]
    [unnamed] = body_events({"error": {"code": 429}})
    assert isinstance(unnamed, ResponseError)
    assert unnamed.error_class == "http_429"
    assert unnamed.message.endswith("(no message)")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"id": "x"}, 'expected "choices" to be a list, got nothing (no such key)'),
        ({"choices": []}, 'expected "choices[0]" to be an object, got an empty list'),
        ({"choices": ["x"]}, 'expected "choices[0]" to be an object, got string "x"'),
        ({"choices": [{"finish_reason": "stop"}]}, 'expected "choices[0].message" to be an object'),
        ({"choices": [{"message": {"content": 1}}]}, '"choices[0].message.content" to be a string'),
        (
            {"choices": [{"message": {}}], "usage": 3},
            'expected "usage" to be an object, got number 3',
        ),
        ([1, 2], "expected a JSON object, got list [1,2]"),
    ],
)
def test_malformed_body_is_bad_response(doc: object, message: str) -> None:
    """A body without the expected fields is one bad_response saying which."""
    [error] = body_events(doc)
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"
    assert error.message.startswith("openai-chat response body: ")
    assert message in error.message


def test_truncated_body_is_bad_response() -> None:
    """A body cut short is bad_response, quoting its start."""
    data = recording("openai_chat_body.json")[:100]
    [error] = feed_all(body_parser(PROTOCOL), [data])
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"
    assert "openai-chat response body: not valid JSON" in error.message
    assert "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG" in error.message
