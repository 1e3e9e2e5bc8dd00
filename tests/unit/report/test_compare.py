"""compare_summaries and render_comparison: matching, regressions, noise guards."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.report import (
    MIN_RISE_MS,
    MIN_SAMPLES,
    Delta,
    compare_summaries,
    render_comparison,
)
from tests.unit.report.builders import failed, snapshot, summary, turn


def baseline() -> dict[str, Any]:
    """Two stages, 40 ok turns per scenario in each, latency 100 ms, TTFT 20 ms."""
    turns = [turn(0) for _ in range(40)] + [turn(1) for _ in range(40)]
    opened = [turn(0, stage=1, lag_us=1000) for _ in range(40)]
    return summary([snapshot(turns), snapshot(opened, 1, mode="open")])


def deltas(c: Any, stage: int = 0, scope: str = "total") -> dict[str, Delta]:
    (found,) = [s for s in c.scopes if (s.stage, s.scope) == (stage, scope)]
    return {d.metric: d for d in found.deltas}


def test_identical_summaries_do_not_regress() -> None:
    """Same summary twice: every scope compared, nothing flagged, exit-worthy verdict is none."""
    c = compare_summaries(baseline(), baseline())
    assert not c.regressed
    assert [(s.stage, s.scope) for s in c.scopes] == [
        (0, "total"),
        (0, "chat"),
        (0, "batch"),
        (1, "total"),
        (1, "chat"),
        (1, "batch"),
    ]
    assert c.unmatched == ()
    assert list(deltas(c)) == [
        "rps",
        "latency p50",
        "latency p95",
        "latency p99",
        "ttft p50",
        "ttft p95",
        "itl p99",
        "error rate",
    ]
    assert deltas(c)["latency p95"].change == 0.0


def test_rps_drop_beyond_the_limit_regresses() -> None:
    """RPS down 10.5% regresses at 10%; down exactly 10% does not."""
    new = baseline()
    new["stages"][0]["total"]["throughput_rps"] = 8.0 * 0.895
    new["stages"][0]["scenarios"][0]["throughput_rps"] = 4.0 * 0.9
    c = compare_summaries(baseline(), new)
    assert deltas(c)["rps"].regression
    assert deltas(c)["rps"].change == pytest.approx(-10.5)
    assert not deltas(c, 0, "chat")["rps"].regression
    assert not compare_summaries(baseline(), new, regress_pct=11).regressed


def test_latency_rise_needs_percent_and_one_ms() -> None:
    """A rise regresses only when above regress_pct % and at least MIN_RISE_MS."""
    new = baseline()
    total = new["stages"][0]["total"]
    total["latency_ms"]["p95"] += 20  # +20%, +20 ms
    total["latency_ms"]["p50"] += 5  # +5%
    total["itl_ms"]["p99"] = 3.9  # 3.0 -> 3.9 ms: +30% but < 1 ms
    c = compare_summaries(baseline(), new)
    found = deltas(c)
    assert found["latency p95"].regression
    assert not found["latency p50"].regression
    assert not found["itl p99"].regression
    assert MIN_RISE_MS == 1.0


def test_rise_from_zero_regresses_when_large_enough() -> None:
    """From 0 ms, a rise of at least 1 ms regresses (the % change is undefined)."""
    old, new = baseline(), baseline()
    old["stages"][0]["total"]["itl_ms"]["p99"] = 0.0
    new["stages"][0]["total"]["itl_ms"]["p99"] = 2.0
    delta = deltas(compare_summaries(old, new))["itl p99"]
    assert delta.regression
    assert delta.change is None


def test_error_rate_rise_in_points() -> None:
    """Error rate +1.25 points regresses at 1 point; +0.5 points does not."""
    new = baseline()
    new["stages"][0]["total"]["error_rate"] = 0.0125
    new["stages"][0]["scenarios"][0]["error_rate"] = 0.005
    c = compare_summaries(baseline(), new)
    assert deltas(c)["error rate"].regression
    assert deltas(c)["error rate"].change == pytest.approx(1.25)
    assert not deltas(c, 0, "chat")["error rate"].regression
    assert not compare_summaries(baseline(), new, error_points=2).regressed


def test_missing_data_is_not_a_regression() -> None:
    """A percentile missing on a side is n/a and never regresses."""
    old, new = baseline(), baseline()
    new["stages"][0]["scenarios"][0]["ttft_ms"]["p95"] = None
    c = compare_summaries(old, new)
    assert deltas(c, 0, "chat")["ttft p95"].note == "n/a"
    assert deltas(c, 0, "chat")["ttft p95"].change is None
    assert deltas(c, 0, "batch")["ttft p50"].note == "n/a"
    assert not c.regressed


def test_few_samples_are_shown_not_judged() -> None:
    """Under MIN_SAMPLES values on a side, a delta is marked few and never regresses."""
    old = summary([snapshot([turn(0)] * (MIN_SAMPLES - 1))])
    new = summary([snapshot([turn(0, latency_us=900_000)] + [failed(0)] * 5)])
    found = deltas(compare_summaries(old, new))
    assert {name: d.note for name, d in found.items() if d.note} == {
        "rps": "few",
        "latency p50": "few",
        "latency p95": "few",
        "latency p99": "few",
        "ttft p50": "few",
        "ttft p95": "few",
        "itl p99": "few",
        "error rate": "few",
    }
    assert not any(d.regression for d in found.values())


def test_rps_collapse_to_zero_regresses() -> None:
    """With a real baseline, a new run that completed nothing is a regression."""
    new = summary([snapshot([]), snapshot([], 1, mode="open")])
    c = compare_summaries(baseline(), new)
    assert deltas(c)["rps"].regression
    assert deltas(c)["latency p50"].note == "n/a"
    assert deltas(c)["rps"].change == -100.0


def test_unmatched_stages_are_listed_not_compared() -> None:
    """A stage whose load differs, or that exists on one side only, is listed apart."""
    one_stage = summary([snapshot([turn(0)] * 20, concurrency=8)])
    c = compare_summaries(baseline(), one_stage)
    assert c.scopes == ()
    assert c.unmatched == (
        "stage 1: load differs (closed 4 VUs -> closed 8 VUs)",
        "stage 2 (open 5/s): only in the old summary",
    )
    c = compare_summaries(one_stage, baseline())
    assert c.unmatched[1] == "stage 2 (open 5/s): only in the new summary"
    one_vu = summary([snapshot([turn(0)] * 20, concurrency=1)])
    assert compare_summaries(baseline(), one_vu).unmatched[0] == (
        "stage 1: load differs (closed 4 VUs -> closed 1 VU)"
    )


def test_only_scenarios_in_both_are_compared() -> None:
    """A scenario present on one side only is skipped; the total is still compared."""
    new = baseline()
    new["stages"][0]["scenarios"][1]["label"] = "renamed"
    c = compare_summaries(baseline(), new)
    assert [s.scope for s in c.scopes if s.stage == 0] == ["total", "chat"]


def test_rendering_fits_100_columns_and_leads_with_the_verdict() -> None:
    """Verdict and regressions first, then a table per stage, then the unmatched list."""
    new = baseline()
    new["stages"][0]["total"]["latency_ms"]["p95"] = 250.0
    new["stages"][0]["scenarios"][0]["label"] = "a-very-long-scenario-name"
    new["stages"][1]["rate"] = 6.0
    text = render_comparison(compare_summaries(baseline(), new))
    lines = text.splitlines()
    assert lines[0].startswith("old: unit started 2026-11-28T01:58:30.500")
    assert lines[2] == "verdict: REGRESSION (1 found)"
    assert lines[3] == "  stage 1 total: latency p95 100 ms -> 250 ms (+149.9%)"
    assert "rises > 10% and >= 1 ms" in text
    assert all(len(line) <= 100 for line in lines)
    assert "Stage 1: closed 4 VUs" in text
    assert "REGRESSION" in next(line for line in lines if "latency p95 ms" in line)
    assert "  stage 2: load differs (open 5/s -> open 6/s)" in lines
    assert text.endswith("\n")


def test_rendering_without_regressions() -> None:
    """No regression: the verdict says so and n/a rows are marked."""
    text = render_comparison(compare_summaries(baseline(), baseline()))
    assert "verdict: no regression" in text
    assert "Not compared" not in text
    row = next(line for line in text.splitlines() if "ttft p50" in line and "n/a" in line)
    assert row.split()[-1] == "n/a"
    error_row = next(line for line in text.splitlines() if line.strip().startswith("error rate"))
    assert "0.00%" in error_row
    assert "+0.00 pt" in error_row


def test_nothing_compared_is_said_plainly() -> None:
    """When no stage matches, the verdict says nothing was compared (not "no regression")."""
    other = summary([snapshot([turn(0)] * 20, concurrency=8)])
    text = render_comparison(compare_summaries(other, other | {"stages": []}))
    assert "verdict: nothing compared" in text
    assert "stage 1 (closed 8 VUs): only in the old summary" in text
