"""build_summary gives the complete document: threshold verdicts included,
from a run result or from stage snapshots, and it round-trips through JSON."""

from __future__ import annotations

from typing import Any

import attrs
import orjson
import pytest

from loadtest.metrics import Histogram, StageSnapshot
from loadtest.report import (
    RunInfo,
    build_summary,
    check_summary,
    metric_json,
    render_text,
    run_info,
    stats_from_json,
)

from .builders import START, failed, make_plan, random_turns, snapshot, turn


@attrs.frozen
class _Limits:
    soft_before: int = 1024
    soft: int = 4096

    def to_json(self) -> dict[str, int]:
        return attrs.asdict(self)


@attrs.frozen
class _Result:
    """What the engine's RunResult gives build_summary."""

    stages: tuple[StageSnapshot, ...]
    started_unix_s: float = START
    ended_unix_s: float = START + 20
    stopped_early: bool = False
    fd_limits: _Limits | None = None


def test_a_profile_threshold_is_judged_without_the_cli() -> None:
    """A script's summary of a plan that sets an error-rate limit holds the
    verdict: the text report says FAIL, not "no thresholds set"."""
    plan = make_plan(thresholds={"error_rate": 0.01})
    stage = snapshot([turn(), failed()])
    summary = build_summary(plan, _Result((stage,)))
    (result,) = summary["thresholds"]
    assert (result["name"], result["actual"], result["passed"]) == ("error_rate", 0.5, False)
    assert "no thresholds set" not in render_text(summary)
    assert "FAIL" in render_text(summary)


def test_thresholds_can_be_left_out() -> None:
    plan = make_plan(thresholds={"error_rate": 0.01})
    summary = build_summary(plan, _Result((snapshot([turn()]),)), thresholds=False)
    assert summary["thresholds"] == []
    assert summary["run"]["thresholds"]["total"] == {"error_rate": 0.01}


def test_a_run_result_gives_the_run_facts() -> None:
    """From a run result alone: its times, its stop, its open-file limits;
    the same document as with its RunInfo spelled out (as the CLI does)."""
    result = _Result((snapshot([turn()]),), stopped_early=True, fd_limits=_Limits())
    info = run_info(result, jsonl_lines=7)
    assert info.generator == {"fd_limits": {"soft_before": 1024, "soft": 4096}}
    assert info.jsonl_lines == 7
    assert info.stopped_early
    plan = make_plan()
    assert build_summary(plan, result, info) == build_summary(plan, result.stages, info)
    assert run_info(_Result(())).generator == {}
    alone = build_summary(plan, result)
    assert alone["run"]["generator"] == info.generator
    assert alone["run"]["stopped_early"]


def test_snapshots_need_their_run_info() -> None:
    with pytest.raises(TypeError, match="pass `info`"):
        build_summary(make_plan(), [snapshot([turn()])])


def test_a_summary_round_trips_through_json() -> None:
    """build -> JSON -> read: the document is equal, it passes the check, and
    every statistics object reads back to the snapshot it was built from."""
    stages = (
        snapshot(random_turns(1, 400)),
        snapshot(random_turns(2, 400, stage=1, lag=True), 1, mode="open", dropped=(0, 1)),
    )
    plan = make_plan(thresholds={"p99_ms": 1000, "min_rps": 1})
    doc = build_summary(plan, stages, RunInfo(START, START + 20, jsonl_lines=800))
    read: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    assert read == doc
    check_summary(read)
    assert read["thresholds"] == doc["thresholds"]
    for stage, stage_doc in zip(stages, read["stages"], strict=True):
        assert stats_from_json(stage_doc["total"]) == _comparable(stage.total)
        for stats, stats_doc in zip(stage.scenarios, stage_doc["scenarios"], strict=True):
            assert stats_from_json(stats_doc) == _comparable(stats)


def _comparable(stats: Any) -> Any:
    """The snapshot with only its non-empty histograms (the document keeps those)."""
    kept = {name: hist for name, hist in stats.histograms.items() if hist.count}
    return attrs.evolve(stats, histograms=kept)


def test_metric_json_is_the_statistic_the_summary_holds() -> None:
    stage = snapshot(random_turns(3, 200))
    doc = build_summary(make_plan(), [stage], RunInfo(START, START + 20))
    assert metric_json(stage.total.histogram("latency")) == doc["stages"][0]["total"]["latency_ms"]
    assert metric_json(Histogram())["count"] == 0


def test_stages_decided_at_run_time_are_the_stage_plan() -> None:
    """A script that ran stages of its own (not the plan's): `stage_plan` lists
    what ran and the report counts those stages (it read "Stage 3/2")."""
    ran = [
        snapshot([turn(0)], 0, concurrency=2),
        snapshot([turn(0)], 1, concurrency=8),
        snapshot([turn(0)], 2, mode="open", rate=20.0),
    ]
    doc = build_summary(make_plan(), ran, RunInfo(started_unix_s=START, ended_unix_s=START + 30))
    assert doc["run"]["stage_plan"] == ["2:10s", "8:10s", "@20:10s"]
    titles = [line for line in render_text(doc).splitlines() if line.startswith("Stage ")]
    assert [title.split(":")[0] for title in titles] == ["Stage 1/3", "Stage 2/3", "Stage 3/3"]
    beyond = snapshot([turn(0)], 5)  # the plan's load, but no stage 6 in the plan
    info = RunInfo(started_unix_s=START, ended_unix_s=START + 10)
    assert build_summary(make_plan(), [beyond], info)["run"]["stage_plan"] == ["4:10s"]


def test_the_plans_stages_keep_the_plan_even_when_a_stop_ran_fewer() -> None:
    """The plan's first stage alone (a run stopped after it): the plan is kept,
    and a stage stopped early makes the run stopped early whatever RunInfo says."""
    first = snapshot([turn(0)], 0, stopped_early=True)
    doc = build_summary(make_plan(), [first], RunInfo(started_unix_s=START, ended_unix_s=START + 9))
    assert doc["run"]["stage_plan"] == ["4:10s", "@5:10s"]
    assert doc["run"]["stopped_early"] is True
