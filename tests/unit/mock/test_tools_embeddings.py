"""The mock's tool calls and embeddings: when it calls a tool, what the call
carries, and the vectors it answers embeddings with."""

from __future__ import annotations

import orjson
import pytest

from loadtest.errors import ConfigError
from loadtest.mock import MockConfig
from loadtest.mock._answer import Planner, tool_arguments
from loadtest.protocol import ServedRequest


def served(
    tools: tuple[str, ...] = ("a", "b"), required: bool = False, max_tokens: int | None = 4
) -> ServedRequest:
    return ServedRequest("m", "hi", max_tokens, True, tools=tools, tool_required=required)


def test_tool_arguments_wrap_the_pieces_in_one_json_object() -> None:
    fragments = tool_arguments(["one", " two", " three"])
    assert fragments == ['{"text": "one', " two", ' three"}']
    assert orjson.loads("".join(fragments)) == {"text": "one two three"}
    assert tool_arguments(["solo"]) == ['{"text": "solo"}']


def test_a_request_with_tools_gets_a_call_of_its_first_tool() -> None:
    planner = Planner(MockConfig(seed=1))
    plan = planner.plan(served())
    assert plan.tool == "a"
    assert planner.text(plan) == ""
    call = planner.tool_call(plan, "r1")
    assert call is not None
    assert (call.id, call.name) == ("call_r1", "a")
    assert len(orjson.loads(call.arguments)["text"].split()) == 4


def test_no_call_without_tools_or_tokens() -> None:
    planner = Planner(MockConfig(seed=1))
    for request in (served(tools=()), served(max_tokens=0)):
        plan = planner.plan(request)
        assert plan.tool is None
        assert planner.tool_call(plan, "r") is None


def test_the_tool_call_rate() -> None:
    """With rate 0 only a required call is made; in between, about that share."""
    never = Planner(MockConfig(seed=1, tool_call_rate=0.0))
    assert never.plan(served()).tool is None
    assert never.plan(served(("b",), required=True)).tool == "b"
    some = Planner(MockConfig(seed=1, tool_call_rate=0.3))
    calls = sum(some.plan(served()).tool is not None for _ in range(1000))
    assert 200 < calls < 400


def test_the_rate_is_a_probability() -> None:
    with pytest.raises(ConfigError, match="tool_call_rate: expected a probability"):
        MockConfig(tool_call_rate=1.5)
    with pytest.raises(ConfigError, match="embedding_dim: expected an integer >= 1"):
        MockConfig(embedding_dim=0)


def test_embeddings_have_no_tokens_and_one_vector_per_input() -> None:
    planner = Planner(MockConfig(seed=3, embedding_dim=8, ttft="50ms", itl="10ms"))
    request = ServedRequest("e", "one\ntwo", None, False, embeddings=2)
    plan = planner.plan(request)
    assert (plan.tokens, plan.events, plan.finish_reason) == (0, 0, "stop")
    assert planner.generation_s(plan) == pytest.approx(0.05)
    vectors = planner.vectors(request)
    assert len(vectors) == 2
    assert all(len(v) == 8 and all(-1 <= x <= 1 for x in v) for v in vectors)
    assert planner.vectors(served()) == ()
    assert "embeddings of 8 numbers" in " ".join(MockConfig(embedding_dim=8).summary())
