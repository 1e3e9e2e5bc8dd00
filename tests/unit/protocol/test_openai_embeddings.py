"""openai-embeddings: the request, the answer read back (by us and by the
SDK's model), malformed answers, and the server codec."""

from __future__ import annotations

import re

import orjson
import pytest
from openai.types import CreateEmbeddingResponse

from loadtest import taxonomy
from loadtest.protocol import (
    Conversation,
    Embeddings,
    Finish,
    Message,
    Reply,
    ResponseError,
    Usage,
    get_adapter,
)
from loadtest.testing import assert_split_invariant, feed_all
from tests.unit.protocol.recorded import body_parser, stream_parser

PROTOCOL = "openai-embeddings"
ADAPTER = get_adapter(PROTOCOL)()


def test_request_embeds_the_turns_message_after_the_system_prompt() -> None:
    conversation = Conversation(
        model="e",
        messages=(Message("user", "first"), Message("assistant", "x"), Message("user", "last")),
        system="Represent this",
        max_tokens=64,
        stream=True,
        temperature=0.5,
        extra_body={"dimensions": 256},
    )
    request = ADAPTER.build_request(conversation)
    assert orjson.loads(request.body) == {
        "model": "e",
        "input": "Represent this\nlast",
        "encoding_format": "float",
        "dimensions": 256,
    }
    assert request.headers == ADAPTER.scenario_headers(model="e", stream=True)
    assert ("accept", "application/json") in request.headers
    assert (ADAPTER.path, ADAPTER.streams, ADAPTER.supports_tools) == (
        "/v1/embeddings",
        False,
        False,
    )


def test_request_without_messages_embeds_nothing() -> None:
    body = orjson.loads(ADAPTER.build_request(Conversation("e", ())).body)
    assert body["input"] == ""


DOC = {
    "object": "list",
    "data": [
        {"object": "embedding", "index": 0, "embedding": [0.1, -0.2, 0.3]},
        {"object": "embedding", "index": 1, "embedding": "AAAAPw=="},
    ],
    "model": "e",
    "usage": {"prompt_tokens": 9, "total_tokens": 9},
}


def test_answer_at_every_split_even_when_a_stream_was_asked_for() -> None:
    """Count and dimensions of the vectors, prompt tokens and no output
    tokens; the answer is a JSON body whatever the request's stream flag."""
    expected = [Embeddings(2, 3), Usage(9, 0), Finish(None)]
    data = orjson.dumps(DOC)
    assert assert_split_invariant(lambda: body_parser(PROTOCOL), data) == expected
    json_headers = {"content-type": "application/json"}
    assert feed_all(ADAPTER.open_response(200, json_headers, True), [data]) == expected
    (wrong,) = feed_all(stream_parser(PROTOCOL), [data])  # an SSE answer is not one
    assert isinstance(wrong, ResponseError)
    assert wrong.error_class == taxonomy.BAD_RESPONSE


def test_answer_without_usage_or_vectors() -> None:
    assert feed_all(body_parser(PROTOCOL), [b'{"data": []}']) == [Embeddings(0, 0), Finish(None)]


def test_error_body_in_a_200() -> None:
    body = orjson.dumps({"error": {"message": "slow down", "type": "rate_limit_error"}})
    (event,) = feed_all(body_parser(PROTOCOL), [body])
    assert isinstance(event, ResponseError)
    assert event.error_class == taxonomy.HTTP_429


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"object": "list"}, 'expected "data" to be a list'),
        ({"data": [1]}, 'expected "data[0]" to be an object, got number 1'),
        (
            {"data": [{"index": 0}]},
            'expected "data[0].embedding" to be a list or a base64 string, got nothing',
        ),
        (
            {"data": [{"embedding": 1}]},
            'expected "data[0].embedding" to be a list or a base64 string, got number 1',
        ),
        (
            {"data": [], "usage": {"prompt_tokens": "9"}},
            'expected "usage.prompt_tokens" to be an integer',
        ),
    ],
)
def test_malformed_answers_are_bad_responses(doc: object, message: str) -> None:
    (event,) = feed_all(body_parser(PROTOCOL), [orjson.dumps(doc)])
    assert isinstance(event, ResponseError)
    assert event.error_class == taxonomy.BAD_RESPONSE
    assert message in event.message


CODEC = ADAPTER.server_codec()


@pytest.mark.parametrize(
    ("body", "text", "count"),
    [
        (b'{"model": "e", "input": "one"}', "one", 1),
        (b'{"model": "e", "input": ["one", "two"], "stream": true}', "one\ntwo", 2),
        (b'{"model": "e", "input": [[1, 2], "two"]}', "\ntwo", 2),
    ],
)
def test_codec_reads_string_and_list_inputs(body: bytes, text: str, count: int) -> None:
    served = CODEC.parse_request(body)
    assert (served.model, served.prompt_text, served.embeddings) == ("e", text, count)
    assert not served.stream
    assert served.max_tokens is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"model": "e"}', 'expected "input" to be a string or a non-empty list, got nothing'),
        (b'{"model": "e", "input": []}', 'expected "input" to be a string or a non-empty list'),
        (b'{"input": "x"}', 'expected "model" to be a string'),
    ],
)
def test_codec_rejects_invalid_requests(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        CODEC.parse_request(body)


def test_answer_round_trip_and_sdk() -> None:
    vectors = ((0.5, -0.25), (0.0, 1.0))
    reply = Reply("r", "e", 0, "", "stop", Usage(7, 0, 0), embeddings=vectors)
    body = CODEC.render_body(reply)
    parsed = CreateEmbeddingResponse.model_validate(orjson.loads(body), strict=False)
    assert [item.embedding for item in parsed.data] == [list(v) for v in vectors]
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (7, 7)
    assert feed_all(body_parser(PROTOCOL), [body]) == [Embeddings(2, 2), Usage(7, 0), Finish(None)]
    no_usage = CODEC.render_body(Reply("r", "e", 0, "", "stop", None, embeddings=vectors))
    assert orjson.loads(no_usage)["usage"] == {"prompt_tokens": 0, "total_tokens": 0}


def test_codec_errors_and_no_stream() -> None:
    assert orjson.loads(CODEC.render_error(429, "busy"))["error"]["message"] == "busy"
    with pytest.raises(NotImplementedError, match="never streamed"):
        CODEC.open_stream("r", "e", 0, None)
