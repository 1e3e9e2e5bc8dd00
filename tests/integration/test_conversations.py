"""Conversations on the mock clock: history, cache modes, correlation, seeds."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from loadtest.engine import MemorySink, open_engine
from loadtest.engine._content import StreamRandom, stream_key
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def run(
    nursery: trio.Nursery, plan: Any, script: Script | None = None
) -> tuple[FakeGateway, MemorySink]:
    gateway = FakeGateway(script or Script(ttft_s=0.25, itl_s=0.0, output_tokens=3))
    sink = MemorySink()
    async with open_engine(
        plan, sink=sink, backend=MemoryBackend(nursery, gateway.serve)
    ) as engine:
        await engine.run()
    return gateway, sink


def user_messages(body: bytes) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = orjson.loads(body)["messages"]
    return messages


async def test_history_grows_with_each_reply(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Turn n sends every earlier user message and assistant reply, so the
    prompt grows turn over turn."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        defaults={"turns": 3, "content": {"mode": "scripted", "script": ["one", "two", "three"]}},
    )
    gateway, sink = await run(nursery, plan)
    bodies = [user_messages(r.body) for r in gateway.received[:3]]
    assert [[m["role"] for m in b] for b in bodies] == [
        ["user"],
        ["user", "assistant", "user"],
        ["user", "assistant", "user", "assistant", "user"],
    ]
    assert bodies[1][1]["content"] == " the of and"  # the fake gateway's 3-word answer
    assert bodies[2][2]["content"] == "two"
    prompts = [r.prompt_tokens for r in sink.records[:3]]
    assert prompts[0] < prompts[1] < prompts[2]


async def test_bust_puts_a_fresh_uuid_first(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """cache_mode bust: every conversation's first user message starts with its
    own UUID (the same one as in its correlation header)."""
    plan = make_plan(stages=["2:2s"], warmup="0s", cache_mode="bust")
    gateway, _ = await run(nursery, plan)
    seen = set()
    for received in gateway.received:
        first = user_messages(received.body)[0]["content"]
        match = re.match(rf"({UUID})\nhello there$", first)
        assert match, first
        assert received.headers["x-request-id"] == f"{match.group(1)}-t1"
        seen.add(match.group(1))
    assert len(seen) == len(gateway.received) == 16


async def test_bust_with_a_system_prompt_busts_the_system_prompt(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """With a system prompt, bust puts the UUID at the front of the system
    prompt, so no prefix of the request is shared between conversations."""
    plan = make_plan(stages=["1:1s"], warmup="0s", defaults={"system": "You are terse."})
    gateway, _ = await run(nursery, plan)
    messages = user_messages(gateway.received[0].body)
    assert re.match(rf"{UUID}\nYou are terse\.$", messages[0]["content"])
    assert messages[1]["content"] == "hello there"


async def test_shared_prefix_and_natural_modes(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """shared-prefix appends the UUID to the first user message; natural adds none."""
    shared, _ = await run(
        nursery, make_plan(stages=["1:1s"], warmup="0s", cache_mode="shared-prefix")
    )
    assert re.match(rf"hello there\n{UUID}$", user_messages(shared.received[0].body)[0]["content"])
    natural, _ = await run(nursery, make_plan(stages=["1:1s"], warmup="0s", cache_mode="natural"))
    assert {user_messages(r.body)[0]["content"] for r in natural.received} == {"hello there"}


async def test_correlation_tag_and_header(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """The correlation header names conversation and turn; uuid_in_prompt tags
    each user message the same way; an empty header name sends none."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        cache_mode="natural",
        correlation={"header": "x-corr", "uuid_in_prompt": True},
        defaults={"turns": 2},
    )
    gateway, sink = await run(nursery, plan)
    second = gateway.received[1]
    tag = second.headers["x-corr"]
    assert re.fullmatch(rf"{UUID}-t2", tag)
    assert user_messages(second.body)[-1]["content"] == f"hello there\n[loadtest {tag}]"
    assert sink.records[1].request_id == tag
    quiet, _ = await run(nursery, make_plan(stages=["1:1s"], correlation={"header": ""}))
    assert "x-request-id" not in quiet.received[0].headers


async def test_same_seed_same_plan(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Same profile and seed: the same prompts, turn counts and sizes, in the
    same order; another seed: a different plan."""
    defaults = {
        "turns": {"min": 1, "max": 4},
        "content": {"mode": "pool", "prompts": [f"prompt {i}" for i in range(20)]},
    }

    async def plan_of(seed: int) -> list[str]:
        plan = make_plan(
            stages=["3:3s"], warmup="0s", seed=seed, cache_mode="natural", defaults=defaults
        )
        gateway, _ = await run(nursery, plan)
        return sorted(str(user_messages(r.body)) for r in gateway.received)

    first, again, other = await plan_of(7), await plan_of(7), await plan_of(8)
    assert first == again
    assert first != other


PROMPTS = [f"prompt {i}" for i in range(20)]


def planned(rng: StreamRandom, count: int) -> list[list[str]]:
    """The user prompts of `count` conversations drawn one after another
    from `rng`: a turn count (1 to 4), then one pool pick per turn."""
    conversations = []
    for _ in range(count):
        turns = rng.randint(1, 4)
        conversations.append([PROMPTS[int(rng.random() * len(PROMPTS))] for _ in range(turns)])
    return conversations


def sent(gateway: FakeGateway) -> list[list[str]]:
    """Each conversation's user prompts, conversations in the order they started."""
    by_conversation: dict[str, list[str]] = {}
    for received in gateway.received:
        conversation = received.headers["x-corr"].rpartition("-t")[0]
        prompt = user_messages(received.body)[-1]["content"]
        by_conversation.setdefault(conversation, []).append(prompt)
    return list(by_conversation.values())


async def test_each_arrival_draws_from_its_own_keyed_stream(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Open loop: arrival n's conversation draws its plan from
    StreamRandom(stream_key(seed, stage, "conv", n)), whatever the other
    arrivals drew (docs/profiles.md, seed)."""
    plan = make_plan(
        stages=["@2:3s"],
        warmup="0s",
        seed=11,
        cache_mode="natural",
        correlation={"header": "x-corr"},
        think_time="100ms",
        defaults={"turns": {"min": 1, "max": 4}, "content": {"mode": "pool", "prompts": PROMPTS}},
    )
    gateway, sink = await run(nursery, plan)
    stage = sink.records[0].stage
    expected = [planned(StreamRandom(stream_key(11, stage, "conv", n)), 1)[0] for n in range(6)]
    conversations = sent(gateway)
    # The stage's end may cut the last ones short.
    assert conversations[:4] == expected[:4]
    assert [e[: len(c)] for c, e in zip(conversations, expected, strict=True)] == conversations
    assert len({len(c) for c in expected}) > 1  # the turn counts differ: draws are checked


async def test_a_virtual_user_draws_from_its_own_keyed_stream(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Closed loop: VU v's conversations follow one another in one stream,
    StreamRandom(stream_key(seed, stage, "vu", v))."""
    plan = make_plan(
        stages=["1:3s"],
        warmup="0s",
        seed=11,
        cache_mode="natural",
        correlation={"header": "x-corr"},
        defaults={"turns": {"min": 1, "max": 4}, "content": {"mode": "pool", "prompts": PROMPTS}},
    )
    gateway, sink = await run(nursery, plan)
    conversations = sent(gateway)
    rng = StreamRandom(stream_key(11, sink.records[0].stage, "vu", 0))
    expected = planned(rng, len(conversations))
    # The stage's end cuts the last conversation short.
    assert conversations[:-1] == expected[:-1]
    assert expected[-1][: len(conversations[-1])] == conversations[-1]
    assert len(conversations) > 2


async def test_sized_content_has_the_asked_token_count(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """sized content sends approx_input_tokens words, which the gateway counts
    as that many tokens (natural mode: nothing else in the prompt)."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        cache_mode="natural",
        defaults={"content": {"mode": "sized", "approx_input_tokens": 500}},
    )
    _, sink = await run(nursery, plan)
    assert {r.prompt_tokens for r in sink.records} == {500}
