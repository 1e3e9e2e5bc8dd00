"""`ResponseParser.complete`: a stream is complete at its terminal or error
event, before the body ends; a JSON body only when it ends."""

from __future__ import annotations

import pytest

from loadtest.protocol import ContentDelta, Finish, ResponseError, Usage, get_adapter

PROTOCOLS = ["openai-chat", "anthropic", "openai-responses"]
SSE = {"content-type": "text/event-stream"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_is_complete_at_its_terminal_event(protocol: str) -> None:
    adapter = get_adapter(protocol)()
    codec = adapter.server_codec()
    assert codec is not None
    renderer = codec.open_stream("id-1", "m", 0, Usage(3, None, 0))
    parser = adapter.open_response(200, SSE, stream=True)
    parser.feed(renderer.head() + renderer.delta(" hello"))
    assert not parser.complete
    events = parser.feed(renderer.tail("stop", Usage(3, 1, 0)))
    assert parser.complete
    assert isinstance(events[-1], Finish)
    assert parser.feed(renderer.delta(" more")) == []  # nothing after completion
    assert parser.end() == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_is_complete_at_an_error_event(protocol: str) -> None:
    adapter = get_adapter(protocol)()
    codec = adapter.server_codec()
    assert codec is not None
    renderer = codec.open_stream("id-1", "m", 0, None)
    parser = adapter.open_response(200, SSE, stream=True)
    events = parser.feed(renderer.head() + renderer.error("rate_limit_error", "slow down"))
    assert parser.complete
    assert isinstance(events[-1], ResponseError)
    assert events[-1].error_class == "http_429"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_json_body_is_complete_only_when_it_ends(protocol: str) -> None:
    adapter = get_adapter(protocol)()
    parser = adapter.open_response(200, {"content-type": "application/json"}, stream=False)
    parser.feed(b'{"id": "x"')
    assert not parser.complete


def test_stream_content_before_completion_is_not_lost() -> None:
    adapter = get_adapter("openai-chat")()
    parser = adapter.open_response(200, SSE, stream=True)
    chunk = b'data: {"choices": [{"index": 0, "delta": {"content": "hi"}}]}\n\n'
    events = parser.feed(chunk + b"data: [DONE]\n\n")
    assert events[0] == ContentDelta("hi")
    assert parser.complete
