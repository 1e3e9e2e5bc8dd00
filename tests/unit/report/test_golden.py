"""The summary's bytes: a summary and a merge of two shards, built from
fixed turns, equal the files under golden/ byte for byte (the version
aside). Refactoring how the document is built must not change a byte;
a deliberate format change rewrites the files (`GOLDEN_WRITE=1`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from loadtest import __version__
from loadtest.report import RunInfo, build_summary, merge_summaries
from tests.unit.report.builders import (
    START,
    failed,
    make_plan,
    random_turns,
    snapshot,
    turn,
)

GOLDEN = Path(__file__).parent / "golden"

HEALTH = {
    "verdict": "suspect",
    "reasons": ["event-loop lag p99 12.5 ms > 10 ms"],
    "figures": {
        "cpu_share": 0.5,
        "loop_lag_p99_ms": 12.5,
        "loop_lag_max_ms": 20.0,
        "peak_in_flight": 4,
        "generator_errors": {"gen_dropped": 2},
    },
}


def _text(doc: Any) -> bytes:
    doc["run"]["version"] = "VERSION"
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def _shard(run_id: str, seed: int, **info: Any) -> dict[str, Any]:
    first = [*random_turns(seed, 300, lag=True), failed(0), failed(1, "http_429", 429)]
    second = [*random_turns(seed + 1, 200, stage=1), turn(0, stage=1, lag_us=1500)]
    stages = [
        snapshot(first, health=HEALTH),
        snapshot(second, 1, mode="open", dropped=[0, 1], stopped_early=True),
    ]
    plan = make_plan(thresholds={"error_rate": 0.05}, seed=seed)
    run = RunInfo(START, START + 20, run_id=run_id, jsonl_lines=500, **info)
    doc: dict[str, Any] = orjson.loads(orjson.dumps(build_summary(plan, stages, run)))
    return doc


def _check(name: str, doc: Any) -> None:
    path = GOLDEN / name
    if os.environ.get("GOLDEN_WRITE"):
        path.write_bytes(_text(doc))
    assert _text(doc) == path.read_bytes(), name


def test_a_summary_is_byte_identical_to_its_golden_file() -> None:
    assert __version__
    _check("summary.json", _shard("run-a", 1, generator={"fd_limits": {"soft": 1024}}))


def test_a_merged_summary_is_byte_identical_to_its_golden_file() -> None:
    shards = [_shard("run-a", 1), _shard("run-b", 2, sink_overflow=3)]
    _check("merged.json", merge_summaries(shards, ["a.json", "b.json"]))
    merged_again = merge_summaries(
        [merge_summaries(shards), _shard("run-c", 1)], ["ab.json", "c.json"]
    )
    _check("merged-twice.json", merged_again)
