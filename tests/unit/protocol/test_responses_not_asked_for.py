"""Answers that are not what was asked for, the same for every protocol:
non-2xx statuses, wrong content types, oversized bodies."""

from __future__ import annotations

import orjson
import pytest

from loadtest.protocol import ResponseError, ResponseParser, _common, _sse, get_adapter
from loadtest.testing import feed_all

PROTOCOLS = ("openai-chat", "anthropic", "openai-responses")


def parser(protocol: str, status: int, content_type: str | None, stream: bool) -> ResponseParser:
    headers = {} if content_type is None else {"content-type": content_type}
    return get_adapter(protocol)().open_response(status, headers, stream)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("status", "body", "error_class", "message", "error_type"),
    [
        (
            429,
            {
                "error": {
                    "message": "Rate limit reached",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            },
            "http_429",
            "Rate limit reached",
            "requests",
        ),
        (
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            "http_5xx",
            "Overloaded",
            "overloaded_error",
        ),
        (
            400,
            {"object": "error", "message": "bad model", "code": 400},
            "http_4xx",
            "bad model",
            None,
        ),
        (404, {"detail": "Not Found"}, "http_4xx", "Not Found", None),
        (502, {"error": "upstream connect error"}, "http_5xx", "upstream connect error", None),
        (
            401,
            {"error": {"code": "invalid_api_key", "message": "Bad key"}},
            "http_4xx",
            "Bad key",
            "invalid_api_key",
        ),
        (403, {"error": 7}, "http_4xx", "body: '{\"error\":7}'", None),
        (500, [1], "http_5xx", "body: '[1]'", None),
    ],
)
def test_error_status_with_json_body(
    protocol: str,
    stream: bool,
    status: int,
    body: object,
    error_class: str,
    message: str,
    error_type: str | None,
) -> None:
    """A non-2xx answer is one ResponseError at end(), classed by status,
    with the message (and type) of its JSON error body in whichever shape
    (OpenAI, Anthropic, vLLM, FastAPI, a bare string), else the body itself."""
    error_parser = parser(protocol, status, "application/json", stream)
    data = orjson.dumps(body)
    assert error_parser.feed(data[:5]) == []
    assert error_parser.feed(data[5:]) == []
    assert error_parser.end() == [
        ResponseError(error_class, f"{protocol}: HTTP {status}: {message}", error_type)
    ]
    assert error_parser.end() == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_error_status_with_html_or_empty_body(protocol: str) -> None:
    """A non-JSON error body is quoted (first 200 characters); an empty one
    is said to be empty; a 3xx is bad_response."""
    html = b"<html><body>" + b"x" * 500 + b"</body></html>"
    [error] = feed_all(parser(protocol, 503, "text/html", True), [html])
    assert isinstance(error, ResponseError)
    assert error.error_class == "http_5xx"
    assert error.message == f"{protocol}: HTTP 503: body: {(html.decode()[:200])!r}"
    [empty] = feed_all(parser(protocol, 302, None, False), [])
    assert empty == ResponseError(
        "bad_response", f"{protocol}: HTTP 302: body: nothing (empty body)"
    )


def test_error_body_is_bounded() -> None:
    """Only the first 64 KiB of an error body are kept."""
    error_parser = parser("openai-chat", 500, "text/plain", False)
    for _ in range(100):
        error_parser.feed(b"y" * 1024)
    assert error_parser.feed(b"z") == []
    assert isinstance(error_parser, _common.ErrorBodyParser)
    assert sum(len(chunk) for chunk in error_parser._chunks) == _common.ERROR_BODY_LIMIT_BYTES
    [error] = error_parser.end()
    assert isinstance(error, ResponseError)
    assert error.message.endswith("y" * 20 + "'")
    assert error_parser.feed(b"after end") == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("stream", "content_type", "expected"),
    [
        (True, "application/json", "text/event-stream (a stream was asked for)"),
        (False, "text/event-stream", "application/json (no stream was asked for)"),
        (False, "text/html; charset=utf-8", "application/json (no stream was asked for)"),
        (True, "text/html", "text/event-stream (a stream was asked for)"),
    ],
)
def test_wrong_content_type_is_bad_response(
    protocol: str, stream: bool, content_type: str, expected: str
) -> None:
    """A 2xx answer of the wrong content type is one bad_response naming the
    expected and received types and quoting the body's start."""
    body = b'{"error": "maintenance page"}'
    [error] = feed_all(parser(protocol, 200, content_type, stream), [body])
    assert error == ResponseError(
        "bad_response",
        f"{protocol}: expected content-type {expected}, got {content_type!r}; "
        f"body starts: {body.decode()!r}",
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("stream", "content_type"),
    [
        (True, None),
        (True, "text/event-stream; charset=utf-8"),
        (True, "Text/Event-Stream"),
        (False, None),
        (False, "application/json; charset=utf-8"),
        (False, "application/vnd.api+json"),
    ],
)
def test_accepted_content_types(protocol: str, stream: bool, content_type: str | None) -> None:
    """A missing content type, parameters, letter case and +json types are accepted."""
    accepted = parser(protocol, 200, content_type, stream)
    assert not isinstance(accepted, _common.WrongContentTypeParser | _common.ErrorBodyParser)


def test_oversized_body_is_bad_response(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-streamed body beyond the size limit is bad_response."""
    monkeypatch.setattr(_common, "JSON_BODY_LIMIT_BYTES", 10)
    [error] = feed_all(parser("openai-chat", 200, None, False), [b'{"choices": [', b"1234567890]}"])
    assert error == ResponseError("bad_response", "openai-chat response body: larger than 10 bytes")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_empty_200_body_is_bad_response(protocol: str) -> None:
    """An empty 200 body to a non-streamed request is bad_response."""
    [error] = feed_all(parser(protocol, 200, "application/json", False), [b""])
    assert isinstance(error, ResponseError)
    assert error.error_class == "bad_response"
    assert "not valid JSON" in error.message
    assert "nothing (empty body)" in error.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_endless_sse_event_is_bad_response(protocol: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream whose event never closes (no blank line) is cut off at the
    event size limit as bad_response instead of growing without bound."""
    monkeypatch.setattr(_sse, "SSE_EVENT_LIMIT_BYTES", 100)
    stream = parser(protocol, 200, "text/event-stream", True)
    assert stream.feed(b"data: " + b"x" * 90) == []
    assert stream.feed(b"x" * 20) == [
        ResponseError(
            "bad_response",
            f"{protocol} stream: an event still open after 100 bytes (no blank line)",
        )
    ]
    assert stream.feed(b"\n\n") == []
    assert stream.end() == []
