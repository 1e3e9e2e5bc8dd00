"""Dataset conversations and drawn token counts, on the mock clock."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import orjson

from loadtest.engine import MemorySink, open_engine, probe_scenarios
from loadtest.metrics import Metric
from loadtest.report import stats_json
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    from pathlib import Path

    import trio

RECORDS = [
    {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an old reply, never sent"},
            {"role": "user", "content": "second question"},
            {"role": "user", "content": "third question"},
        ]
    },
    {"conversations": [{"from": "human", "value": "only question"}]},
    {"prompt": "a lone prompt"},
]


def dataset(tmp_path: Path) -> str:
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS))
    return str(path)


async def run(nursery: trio.Nursery, plan: Any) -> tuple[FakeGateway, MemorySink]:
    gateway = FakeGateway(Script(ttft_s=0.05, itl_s=0.001))
    sink = MemorySink()
    backend = MemoryBackend(nursery, gateway.serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        await engine.run()
    return gateway, sink


def conversations(gateway: FakeGateway) -> dict[str, list[list[dict[str, Any]]]]:
    """Each conversation's requests' messages, by conversation id, in order."""
    seen: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for received in gateway.received:
        conversation = received.headers["x-request-id"].rsplit("-t", 1)[0]
        seen[conversation].append(orjson.loads(received.body)["messages"])
    return seen


async def test_a_conversation_sends_its_records_user_turns(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """Each conversation is one record: its user turns in order, the live
    replies between them (never the file's), the record's system prompt.
    Without replacement, every record is used once before any repeats."""
    plan = make_plan(
        stages=["1:3s"],
        warmup="0s",
        cache_mode="natural",
        defaults={
            "turns": 1,
            "content": {"mode": "dataset", "path": dataset(tmp_path), "replacement": False},
        },
    )
    gateway, sink = await run(nursery, plan)
    convs = list(conversations(gateway).values())
    assert len(convs) >= 6
    firsts = []
    for requests in convs[:-1]:  # the last one may have been cut by the stage's end
        last = requests[-1]
        users = [m["content"] for m in last if m["role"] == "user"]
        system = [m["content"] for m in last if m["role"] == "system"]
        firsts.append(users[0])
        assert len(requests) == len(users)
        if users[0] == "first question":
            assert users == ["first question", "second question", "third question"]
            assert system == ["You are terse."]
            assert "an old reply, never sent" not in json.dumps(last)
            assert [m["role"] for m in last] == ["system"] + ["user", "assistant"] * 2 + ["user"]
        else:
            assert users in (["only question"], ["a lone prompt"])
            assert system == []
    starts = {"first question", "only question", "a lone prompt"}
    assert set(firsts[:3]) == starts
    assert set(firsts[3:6]) == starts
    assert max(r.turn for r in sink.records) == 3


async def test_with_replacement_the_seed_decides_the_records(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """Drawn with replacement from each conversation's RNG: the same seed
    sends the same records in the same order."""
    path = dataset(tmp_path)

    async def firsts(seed: int) -> list[str]:
        plan = make_plan(
            stages=["1:2s"],
            warmup="0s",
            seed=seed,
            cache_mode="natural",
            defaults={"content": {"mode": "dataset", "path": path}},
        )
        gateway, _ = await run(nursery, plan)
        return [c[0][-1]["content"] for c in conversations(gateway).values()]

    one = await firsts(3)
    assert one == await firsts(3)
    assert len(set(one)) == 3


async def test_drawn_max_tokens_reach_the_gateway_per_turn(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """max_tokens from a distribution: one draw per turn, within its bounds,
    the same for the same seed; the answers' lengths (the gateway answers
    max_tokens) make the summary's completion token distribution."""
    plan = make_plan(
        stages=["1:3s"],
        warmup="0s",
        defaults={
            "turns": 2,
            "max_tokens": {"dist": "uniform", "min": 5, "max": 40},
            "content": {
                "mode": "sized",
                "approx_input_tokens": {"dist": "normal", "mean": 60, "stddev": 20, "min": 30},
            },
        },
        cache_mode="natural",
    )
    gateway, sink = await run(nursery, plan)
    asked = [r.request.max_tokens for r in gateway.received]
    assert len(set(asked)) > 10
    assert all(5 <= n <= 40 for n in asked)
    again, _ = await run(nursery, plan)
    assert [r.request.max_tokens for r in again.received][:20] == asked[:20]
    first_turns = [r.prompt_tokens for r in sink.records if r.turn == 1]
    assert len(set(first_turns)) > 10
    assert min(first_turns) >= 30
    completions = [r.completion_tokens for r in sink.records if r.outcome == "ok"]
    assert completions == asked[: len(completions)]  # the gateway answers max_tokens
    async with open_engine(plan, backend=MemoryBackend(nursery, FakeGateway().serve)) as engine:
        snapshot = await engine.run_stage(0)
    hist = snapshot.total.histogram(Metric.COMPLETION_TOKENS)
    assert hist.count == snapshot.total.ok
    assert 5 <= hist.min <= hist.max <= 40
    doc = stats_json(snapshot.total, 3.0)["completion_tokens_dist"]
    assert doc["count"] == snapshot.total.ok
    assert 5 <= doc["p50"] <= doc["p90"] <= doc["p99"] <= 40
    prompt_doc = stats_json(snapshot.total, 3.0)["prompt_tokens_dist"]
    assert prompt_doc["min"] >= 30


async def test_a_probe_sends_a_records_first_turn(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    plan = make_plan(
        cache_mode="natural",
        defaults={"content": {"mode": "dataset", "path": dataset(tmp_path)}},
    )
    gateway = FakeGateway(Script(ttft_s=0.05, itl_s=0.001))
    (record,) = await probe_scenarios(plan, [0], backend=MemoryBackend(nursery, gateway.serve))
    assert record.outcome == "ok"
    (received,) = gateway.received
    users = [m["content"] for m in orjson.loads(received.body)["messages"] if m["role"] == "user"]
    assert users[0] in ("first question", "only question", "a lone prompt")
