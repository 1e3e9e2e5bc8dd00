"""Fuzzing the contract: whatever bytes or JSON arrive, no adapter raises;
at most one ResponseError or Finish comes out, and it comes last."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.protocol import Event, Finish, ResponseError
from loadtest.testing import feed_all
from tests.unit.protocol.recorded import body_parser, cut, stream_parser

PROTOCOLS = st.sampled_from(["openai-chat", "anthropic", "openai-responses", "openai-embeddings"])
KEYS = st.sampled_from(
    [
        "type", "choices", "delta", "content", "text", "usage", "message", "error", "code",
        "finish_reason", "reasoning_content", "response", "output", "status", "input_tokens",
        "output_tokens", "prompt_tokens", "completion_tokens", "stop_reason", "thinking",
        "incomplete_details", "reason", "prompt_tokens_details", "cached_tokens",
        "input_tokens_details", "cache_read_input_tokens", "index", "tool_calls", "function",
        "name", "arguments", "id", "partial_json", "content_block", "data", "embedding",
    ]
)  # fmt: skip
TYPES = st.sampled_from(
    [
        "message_start", "content_block_delta", "message_delta", "message_stop", "error",
        "text_delta", "thinking_delta", "response.output_text.delta", "response.completed",
        "response.incomplete", "response.failed", "response.reasoning_text.delta", "message",
        "output_text", "text", "thinking", "tool_use", "input_json_delta", "content_block_start",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.text(max_size=3)
    | TYPES
)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


def check_contract(events: list[Event]) -> None:
    terminal = [i for i, event in enumerate(events) if isinstance(event, Finish | ResponseError)]
    assert len(terminal) == 1
    assert terminal[0] == len(events) - 1


@settings(max_examples=400)
@given(PROTOCOLS, st.lists(JSON, max_size=6), st.lists(st.integers(0, 400), max_size=5))
def test_streams_of_arbitrary_json_never_raise(
    protocol: str, docs: list[Any], offsets: list[int]
) -> None:
    """Any JSON documents as stream events, split anywhere: no exception,
    exactly one terminal event (Finish or ResponseError), last."""
    data = b"".join(b"data: " + orjson.dumps(doc) + b"\n\n" for doc in docs)
    check_contract(feed_all(stream_parser(protocol), cut(data, offsets)))


@settings(max_examples=400)
@given(PROTOCOLS, JSON)
def test_bodies_of_arbitrary_json_never_raise(protocol: str, doc: Any) -> None:
    """Any JSON document as a non-streamed body: no exception, one terminal
    event, last."""
    check_contract(feed_all(body_parser(protocol), [orjson.dumps(doc)]))


@settings(max_examples=300)
@given(PROTOCOLS, st.binary(max_size=300), st.booleans())
def test_arbitrary_bytes_never_raise(protocol: str, data: bytes, stream: bool) -> None:
    """Arbitrary bytes, streamed or not: no exception, one terminal event, last."""
    parser = stream_parser(protocol) if stream else body_parser(protocol)
    check_contract(feed_all(parser, [data]))
