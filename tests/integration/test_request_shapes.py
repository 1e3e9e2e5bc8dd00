"""Request shapes on the mock clock: extra_body on the wire, tool calls,
embeddings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import pytest

from loadtest.engine import MemorySink, open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Script
from loadtest.tokens import estimate_tokens

from .conftest import make_plan

if TYPE_CHECKING:
    import trio
    import trio.testing


async def run(
    nursery: trio.Nursery, plan: Any, script: Script | None = None
) -> tuple[FakeGateway, MemorySink]:
    gateway = FakeGateway(script or Script(ttft_s=0.25, itl_s=0.01, output_tokens=3))
    sink = MemorySink()
    async with open_engine(
        plan, sink=sink, backend=MemoryBackend(nursery, gateway.serve)
    ) as engine:
        await engine.run()
    return gateway, sink


EXTRA = {
    "top_p": 0.5,
    "response_format": {"type": "json_object"},
    "provider": {"order": ["a", "b"], "allow_fallbacks": False},
}


@pytest.mark.parametrize("protocol", ["openai-chat", "anthropic", "openai-responses"])
async def test_extra_body_is_sent_byte_for_byte(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, protocol: str
) -> None:
    """A scenario's extra_body, merged over the defaults' (the scenario's
    value wins), ends every request body exactly as orjson encodes it."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        defaults={"protocol": protocol, "extra_body": {"top_p": 0.9, "seed": 7}},
        scenarios=[{"name": "s", "extra_body": EXTRA}],
    )
    gateway, sink = await run(nursery, plan)
    assert gateway.received
    merged = {"top_p": 0.5, "seed": 7, **EXTRA}
    for received in gateway.received:
        assert received.body.endswith(orjson.dumps(merged)[1:])
        assert orjson.loads(received.body)["model"] == "m"
    assert all(r.outcome == "ok" for r in sink.records)


WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.mark.parametrize("protocol", ["openai-chat", "anthropic", "openai-responses"])
async def test_a_streamed_tool_call_is_timed_as_output(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, protocol: str
) -> None:
    """The piece naming the call is the first token (TTFT); each arguments
    fragment adds one gap; the arguments are the output text."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        defaults={"protocol": protocol, "tools": [WEATHER], "tool_choice": "required"},
    )
    gateway, sink = await run(nursery, plan)
    body = orjson.loads(gateway.received[0].body)
    assert body["tool_choice"] == ({"type": "any"} if protocol == "anthropic" else "required")
    record = sink.records[0]
    assert record.outcome == "ok"
    assert record.ttft_us == 250_000
    # the name piece, then 3 fragments (the first sent with it): 0, 10 ms, 10 ms
    assert record.itl_gaps_us == (0, 10_000, 10_000)
    assert record.chunks == 4
    assert record.content_chars == len('{"text": " the of and"}')
    assert record.completion_tokens == 3
    assert not record.tokens_estimated


async def test_a_tool_call_goes_into_the_history_with_its_result_openai(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """The next turn sends the assistant's call and a tool message answering
    it, then the next user message."""
    plan = make_plan(stages=["1:1s"], warmup="0s", defaults={"turns": 2, "tools": [WEATHER]})
    gateway, sink = await run(nursery, plan)
    first, second = (orjson.loads(r.body) for r in gateway.received[:2])
    assert first["tools"] == [{"type": "function", "function": WEATHER}]
    assert "tool_choice" not in first
    call_id = "call_fake-1"
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"text": " the of and"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": '{"ok": true}'},
        {"role": "user", "content": "hello there"},
    ]
    assert [r.outcome for r in sink.records[:2]] == ["ok", "ok"]


async def test_a_tool_call_goes_into_the_history_with_its_result_anthropic(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Anthropic: a tool_use block, then a user message led by its tool_result."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        defaults={"protocol": "anthropic", "turns": 2, "tools": [WEATHER], "stream": False},
        cache_mode="natural",
    )
    gateway, sink = await run(nursery, plan)
    first, second = (orjson.loads(r.body) for r in gateway.received[:2])
    assert first["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather in a city",
            "input_schema": WEATHER["parameters"],
        }
    ]
    call_id = "call_fake-1"
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": call_id,
                    "name": "get_weather",
                    "input": {"text": " the of and"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call_id, "content": '{"ok": true}'},
                {"type": "text", "text": "hello there"},
            ],
        },
    ]
    record = sink.records[0]
    assert (record.outcome, record.chunks, record.ttft_us) == ("ok", 1, None)


async def test_embeddings_are_measured_by_latency(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """An embeddings turn is never streamed (the defaults' stream is
    ignored), ok with a vector, without TTFT or gaps, its prompt counted."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        defaults={"protocol": "openai-embeddings", "system": "embed this"},
        cache_mode="natural",
    )
    gateway, sink = await run(nursery, plan)
    assert orjson.loads(gateway.received[0].body) == {
        "model": "m",
        "input": "embed this\nhello there",
        "encoding_format": "float",
    }
    assert gateway.received[0].headers["accept"] == "application/json"
    record = sink.records[0]
    assert record.outcome == "ok"
    assert not record.stream
    assert (record.ttft_us, record.itl_gaps_us, record.chunks) == (None, (), 0)
    assert record.latency_us == 250_000
    assert record.prompt_tokens == estimate_tokens("embed this\nhello there")
    assert record.completion_tokens == 0
    assert not record.tokens_estimated
