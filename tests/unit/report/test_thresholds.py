"""evaluate_thresholds: every stage checked, total and per scenario."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from loadtest.errors import ConfigError
from loadtest.report import (
    THRESHOLD_NAMES,
    evaluate_thresholds,
    render_text,
    thresholds_failed,
)
from tests.unit.report.builders import failed, make_plan, snapshot, summary, turn

if TYPE_CHECKING:
    from loadtest.metrics import StageSnapshot


def run(thresholds: dict[str, float], *stages: StageSnapshot) -> list[dict[str, Any]]:
    return evaluate_thresholds(summary(list(stages), make_plan(thresholds=thresholds)))


def test_total_limits_pass_and_fail_with_texts() -> None:
    """Maxima pass at or below the limit; results list every key with human texts."""
    turns = [turn(0, latency_us=312_000) for _ in range(99)] + [failed(0)]
    results = run({"p95_ms": 300, "p99_ms": 400, "error_rate": 0.02}, snapshot(turns))
    by_name = {r["name"]: r for r in results}
    assert [r["name"] for r in results] == ["p95_ms", "p99_ms", "error_rate"]
    assert by_name["p95_ms"] == {
        "stage": 0,
        "scope": "total",
        "name": "p95_ms",
        "limit": 300,
        "actual": 312.063,  # the highest value of its HDR bucket
        "samples": 99,
        "passed": False,
        "actual_text": "312 ms",
        "limit_text": "<= 300 ms",
    }
    assert by_name["p99_ms"]["passed"] is True
    assert by_name["error_rate"]["passed"] is True
    assert (by_name["error_rate"]["actual_text"], by_name["error_rate"]["limit_text"]) == (
        "1%",
        "<= 2%",
    )
    assert thresholds_failed(results)


def test_every_stage_is_checked_including_one_stopped_early() -> None:
    """One result per stage; a stage stopped early is still checked."""
    fast = snapshot([turn(0, latency_us=10_000)] * 20)
    slow = snapshot([turn(0, stage=1, latency_us=900_000)] * 20, 1, stopped_early=True)
    results = run({"p95_ms": 100}, fast, slow)
    assert [(r["stage"], r["passed"]) for r in results] == [(0, True), (1, False)]


def test_min_rps_counts_successful_turns_only() -> None:
    """A stage that fails fast has throughput but no ok_rps: it fails the floor."""
    results = run({"min_rps": 1}, snapshot([failed(0)] * 100))
    assert results[0]["actual"] == 0.0
    assert results[0]["passed"] is False
    assert (results[0]["actual_text"], results[0]["limit_text"]) == ("0/s", ">= 1.0/s")
    ok = run({"min_rps": 4.5}, snapshot([turn(0)] * 451))
    assert (ok[0]["passed"], ok[0]["actual_text"]) == (True, "45.1/s")


def test_no_data_fails() -> None:
    """An empty stage fails latency and error-rate limits with actual "no data"."""
    results = run({"p95_ms": 100, "ttft_p95_ms": 100, "error_rate": 0.1}, snapshot([]))
    assert [(r["name"], r["passed"], r["actual"], r["actual_text"]) for r in results] == [
        ("p95_ms", False, None, "no data"),
        ("ttft_p95_ms", False, None, "no data"),
        ("error_rate", False, None, "no data"),
    ]


def test_scenario_limits_read_that_scenario() -> None:
    """A scenario's limits use its own stats; TTFT of a non-streamed scenario is no data."""
    plan = make_plan(
        scenarios=[
            {"name": "chat", "weight": 1, "stream": True, "thresholds": {"itl_p99_ms": 2}},
            {"name": "batch", "weight": 1, "stream": False, "thresholds": {"ttft_p95_ms": 50}},
        ]
    )
    doc = summary([snapshot([turn(0), turn(1)] * 10)], plan)
    results = evaluate_thresholds(doc)
    assert [(r["scope"], r["name"], r["passed"], r["actual_text"]) for r in results] == [
        ("chat", "itl_p99_ms", False, "3.00 ms"),
        ("batch", "ttft_p95_ms", False, "no data"),
    ]


def test_a_scenario_missing_from_a_stage_has_no_data() -> None:
    """Limits for a scenario the stage does not hold fail as no data (no KeyError)."""
    doc = summary([snapshot([turn(0)] * 10)], make_plan(thresholds={"min_rps": 0}))
    doc["run"]["thresholds"]["scenarios"] = {"gone": {"min_rps": 0, "p99_ms": 5}}
    results = evaluate_thresholds(doc)
    assert [(r["scope"], r["passed"], r["actual_text"]) for r in results] == [
        ("total", True, "1.0/s"),
        ("gone", False, "no data"),
        ("gone", False, "no data"),
    ]


def test_no_thresholds_no_results() -> None:
    """A run without limits gives no results, and does not fail."""
    doc = summary([snapshot([turn(0)])])
    del doc["run"]["thresholds"]
    assert evaluate_thresholds(doc) == []
    assert not thresholds_failed([])


def test_unknown_threshold_names_are_an_error() -> None:
    """A limit this version does not know is refused, naming it and the known ones."""
    doc = summary([snapshot([turn(0)])])
    doc["run"]["thresholds"] = {"total": {"p42_ms": 1}, "scenarios": {}}
    with pytest.raises(ConfigError, match=r"\$\.run\.thresholds\.total: unknown threshold p42_ms"):
        evaluate_thresholds(doc)
    assert "min_rps" in THRESHOLD_NAMES


def test_small_rates_and_percentages_read_well() -> None:
    """Below 1/s a rate keeps 3 significant digits; error rates keep 3 too."""
    results = run({"min_rps": 0.5, "error_rate": 0.001}, snapshot([turn(0)] * 3 + [failed(0)]))
    texts = {r["name"]: (r["actual_text"], r["limit_text"]) for r in results}
    assert texts == {"error_rate": ("25%", "<= 0.1%"), "min_rps": ("0.3/s", ">= 0.5/s")}


def test_results_render_in_the_text_report() -> None:
    """The text report shows the verdict and each result from these dicts."""
    doc = summary(
        [snapshot([turn(0, latency_us=312_000)] * 20)], make_plan(thresholds={"p95_ms": 300})
    )
    doc["thresholds"] = evaluate_thresholds(doc)
    text = render_text(doc)
    assert "verdict: FAIL" in text
    assert "FAIL  stage 1 total: p95_ms = 312 ms (limit <= 300 ms)" in text


def test_verdict_without_thresholds_still_shows_failures() -> None:
    """No thresholds: the verdict says so, and a stage whose turns failed is
    named in the first lines with its share and error classes."""
    doc = summary([snapshot([turn(0)] + [failed(0)] * 3)])
    doc["thresholds"] = []
    lines = render_text(doc).splitlines()
    assert lines[1] == "verdict: no thresholds set"
    assert lines[2].startswith("  errors in stage 1: 3 of 4 turns failed (75.0%): ")


def test_report_fits_100_columns() -> None:
    """Closed and open stages, health reasons and thresholds: no line of the
    text report is wider than 100 columns."""
    health = {
        "verdict": "generator-bound",
        "reasons": [f"reason number {i} with a fair amount of explanatory text" for i in range(4)],
        "figures": {
            "cpu_share": 0.97,
            "loop_lag_p99_ms": 61.2,
            "loop_lag_max_ms": 300.5,
            "peak_in_flight": 1200,
            "target_rate": 3000.0,
            "achieved_rate": 822.0,
            "schedule_lag_p99_ms": 1435.6,
            "dropped": 12345,
        },
    }
    turns = [turn(0, lag_us=5000), turn(1, lag_us=900), failed(1, "gen_port_exhaustion")]
    doc = summary([snapshot(turns), snapshot(turns, index=1)], make_plan(thresholds={"p95_ms": 1}))
    for stage in doc["stages"]:
        stage["health"] = health
    doc["thresholds"] = evaluate_thresholds(doc)
    widths = [len(line) for line in render_text(doc).splitlines()]
    assert max(widths) <= 100
