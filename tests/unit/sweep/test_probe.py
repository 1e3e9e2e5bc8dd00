"""A probe's verdict from its stage snapshot: its goodput counts the turns
it never finished as misses, and why it failed."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from loadtest.config import parse_slos
from loadtest.metrics import Health, HealthFigures, StageRecorder, StageSnapshot
from loadtest.sweep import judge_probe, probe_doc, probe_goodput
from tests.unit.metrics.test_recorder import turn


def stage(*turns: Any, dropped: int = 0, mode: str = "open", verdict: str = "ok") -> StageSnapshot:
    recorder = StageRecorder(["a"], parse_slos(["latency<=1ms"]))
    for record in turns:
        recorder.record(record)
    for _ in range(dropped):
        recorder.record_dropped(0)
    return recorder.freeze(
        index=3,
        mode=mode,
        duration_s=10,
        warmup_s=0,
        steady_s=4,
        started_unix_s=0,
        ended_unix_s=10,
        rate=5.0 if mode == "open" else None,
        concurrency=None if mode == "open" else 2,
        health=Health(verdict, (), HealthFigures(0.1, 1.0, 2.0, 1)),
    )


GOOD = turn()
SLOW = turn(latency_us=2_000)
FAILED = turn(outcome="error", error_class="http_5xx", latency_us=None)
CUT = turn(outcome="interrupted")


def test_goodput_counts_cut_off_turns_and_drops_as_misses() -> None:
    snapshot = stage(GOOD, GOOD, GOOD, CUT, dropped=1)
    assert probe_goodput(snapshot) == 3 / 5
    assert probe_goodput(stage()) is None


def test_a_probe_passes_at_the_target() -> None:
    result = judge_probe(stage(*[GOOD] * 9, SLOW), "rate", 0.9)
    assert (result.passed, result.reason, result.offered_rps) == (True, None, 5.0)
    assert result.achieved_rps == 10 / 4
    assert judge_probe(stage(*[GOOD] * 8, SLOW, SLOW), "rate", 0.9).reason == "slo"


def test_errors_and_nothing_judged_fail_on_errors() -> None:
    assert judge_probe(stage(GOOD, FAILED, FAILED, SLOW), "rate", 0.9).reason == "errors"
    assert judge_probe(stage(GOOD, FAILED, SLOW, SLOW), "rate", 0.9).reason == "slo"
    assert judge_probe(stage(CUT), "rate", 0.9).reason == "errors"


def test_a_generator_bound_probe_fails_whatever_its_goodput() -> None:
    result = judge_probe(stage(GOOD, GOOD, verdict="generator-bound"), "rate", 0.5)
    assert (result.passed, result.reason) == (False, "generator-bound")
    suspect = judge_probe(stage(GOOD, GOOD, verdict="suspect"), "rate", 0.5)
    assert suspect.passed


def test_the_probe_record_reads_corrected_times_for_open_probes() -> None:
    lagged = turn(lag_us=5_000, ttft_us=200)
    open_doc = probe_doc(stage(lagged), judge_probe(stage(lagged), "rate", 0.9))
    assert open_doc.ttft_p50_ms == pytest.approx(5.2, rel=0.01)
    assert (open_doc.stage, open_doc.kind, open_doc.health) == (3, "rate", "ok")
    closed = stage(lagged, mode="closed")
    closed_doc = probe_doc(closed, judge_probe(closed, "ceiling", 0.9))
    assert closed_doc.ttft_p50_ms == pytest.approx(0.2, rel=0.01)
    assert closed_doc.offered_rps is None
    assert (
        probe_doc(attrs.evolve(closed, health=None), judge_probe(closed, "ceiling", 0.9)).health
        == "-"
    )
