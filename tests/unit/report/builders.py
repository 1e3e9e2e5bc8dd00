"""Summaries for report tests, built the way `loadtest run` builds them:
turn records -> StageRecorder -> StageSnapshot -> build_summary (and a JSON
round trip, as if read back from disk)."""

from __future__ import annotations

import copy
import random
from typing import TYPE_CHECKING, Any

import jsonschema
import orjson

from loadtest.config import RunPlan, parse_slos, resolve, structure_profile
from loadtest.metrics import Health, HealthFigures, StageRecorder, StageSnapshot, TurnRecord
from loadtest.report import RunInfo, build_summary, summary_schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

NAMES = ("chat", "batch")
START = 1_795_831_110.5
SECRET = "sk-test-SECRET-123"

PROFILE: dict[str, Any] = {
    "name": "unit",
    "stages": ["4:10s", "@5:10s"],
    "warmup": "0s",
    "defaults": {
        "target": "http://gw.test/v1",
        "model": "m",
        "headers": {"Authorization": f"Bearer {SECRET}"},
        "content": {"mode": "pool", "prompts": ["hi"]},
    },
    "scenarios": [
        {"name": "chat", "weight": 1, "stream": True},
        {"name": "batch", "weight": 1, "stream": False},
    ],
}


def make_plan(**changes: Any) -> RunPlan:
    """PROFILE with top-level keys replaced."""
    return resolve(structure_profile({**PROFILE, **changes}), env={})


def turn(scenario_index: int = 0, **changes: Any) -> TurnRecord:
    """One ok turn of `scenario_index` (streamed for chat, plain for batch)."""
    stream = scenario_index == 0
    fields: dict[str, Any] = {
        "stage": 0,
        "scenario": NAMES[scenario_index],
        "scenario_index": scenario_index,
        "conversation": "c",
        "turn": 1,
        "stream": stream,
        "start_unix_s": START,
        "warmup": False,
        "outcome": "ok",
        "status": 200,
        "latency_us": 100_000,
        "ttfb_us": 10_000,
        "ttft_us": 20_000 if stream else None,
        "tpot_us": 1_000 if stream else None,
        "itl_gaps_us": (2_000, 3_000) if stream else (),
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "cached_tokens": 2,
    }
    fields.update(changes)
    return TurnRecord(**fields)


def failed(
    scenario_index: int = 0, error: str = "http_5xx", status: int | None = 503
) -> TurnRecord:
    """One failed turn."""
    return turn(scenario_index, outcome="error", error_class=error, status=status, latency_us=None)


def random_turns(seed: int, count: int, stage: int = 0, lag: bool = False) -> list[TurnRecord]:
    """`count` turns of both scenarios with random timings and outcomes."""
    rng = random.Random(seed)
    turns = []
    for _ in range(count):
        index = rng.randrange(2)
        roll = rng.random()
        extra: dict[str, Any] = {"stage": stage}
        if lag:
            extra["lag_us"] = rng.randrange(0, 50_000)
        if roll < 0.03:
            turns.append(turn(index, outcome="interrupted", **extra))
        elif roll < 0.05:  # cut off before any response byte
            wait_us = rng.randrange(1, 20_000_000)
            turns.append(
                turn(index, outcome="interrupted", ttfb_us=None, latency_us=wait_us, **extra)
            )
        elif roll < 0.1:
            turns.append(turn(index, warmup=True, **extra))
        elif roll < 0.2:
            error = rng.choice(["http_5xx", "http_429", "timeout_read"])
            turns.append(turn(index, outcome="error", error_class=error, status=503, **extra))
        else:
            latency = int(rng.lognormvariate(11, 1))
            turns.append(
                turn(
                    index,
                    latency_us=latency,
                    ttfb_us=latency // 10,
                    ttft_us=latency // 5 if index == 0 else None,
                    tail_us=latency // 20 if index == 0 else None,
                    itl_gaps_us=tuple(rng.randrange(0, 80_000) for _ in range(rng.randrange(5))),
                    itl_zeros=rng.randrange(3),
                    completion_tokens=rng.randrange(1, 500),
                    tokens_estimated=rng.random() < 0.1,
                    **extra,
                )
            )
    return turns


def snapshot(
    turns: Iterable[TurnRecord],
    index: int = 0,
    *,
    mode: str = "closed",
    steady_s: float = 10.0,
    dropped: Sequence[int] = (),
    health: Mapping[str, object] | None = None,
    stopped_early: bool = False,
    concurrency: int = 4,
    rate: float = 5.0,
    slo: Sequence[str] = (),
) -> StageSnapshot:
    """The frozen stage those turns (and dropped arrivals) make, judged
    against `slo` (SLO strings) if any."""
    recorder = StageRecorder(NAMES, parse_slos(slo))
    for record in turns:
        recorder.record(record)
    for scenario_index in dropped:
        recorder.record_dropped(scenario_index)
    started = START + 10 * index
    closed = mode == "closed"
    return recorder.freeze(
        index=index,
        mode=mode,
        duration_s=10.0,
        warmup_s=0.0,
        steady_s=steady_s,
        started_unix_s=started,
        ended_unix_s=started + 10,
        concurrency=concurrency if closed else None,
        rate=None if closed else rate,
        vus=(concurrency // 2, concurrency - concurrency // 2) if closed else (),
        stopped_early=stopped_early,
        health=health_of(health),
    )


def health_of(doc: Mapping[str, Any] | None) -> Health | None:
    """The `Health` a summary's health object was written from (None: not assessed)."""
    if not doc:
        return None
    return Health(doc["verdict"], tuple(doc["reasons"]), HealthFigures(**doc["figures"]))


def summary(
    stages: Sequence[StageSnapshot], plan: RunPlan | None = None, **info: Any
) -> dict[str, Any]:
    """The summary document of those stages, as read back from its JSON file
    (checked against the summary's JSON Schema)."""
    run = RunInfo(**{"started_unix_s": START, "ended_unix_s": START + 20, **info})
    doc = build_summary(plan or make_plan(), stages, run)
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    jsonschema.validate(loaded, summary_schema(), cls=jsonschema.Draft202012Validator)
    return loaded


def another_shard(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `doc` as if another shard of its run had written it (its own run id)."""
    copied: dict[str, Any] = copy.deepcopy(dict(doc))
    copied["run"]["run_id"] = f"{copied['run']['run_id']}-other"
    return copied


def two_stage_summary(**info: Any) -> dict[str, Any]:
    """A closed and an open stage with errors, drops, lag and an empty TTFT (batch)."""
    first = [turn(0) for _ in range(30)] + [turn(1) for _ in range(20)]
    first += [failed(0), failed(1, "http_429", 429)]
    second = [turn(0, stage=1, lag_us=1_500) for _ in range(12)]
    return summary(
        [snapshot(first), snapshot(second, 1, mode="open", dropped=[0])],
        **info,
    )
