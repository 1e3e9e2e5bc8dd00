"""The generator-health verdict: each rule, and the worst one wins."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.metrics import LIMITS, HealthFigures, judge


def figures(**changes: Any) -> HealthFigures:
    base: dict[str, Any] = {
        "cpu_share": 0.3,
        "loop_lag_p99_ms": 1.0,
        "loop_lag_max_ms": 2.0,
        "peak_in_flight": 4,
    }
    return HealthFigures(**{**base, **changes})


def test_comfortable_stage_is_ok() -> None:
    """Low CPU, small loop lag, no drops: ok with no reasons."""
    assert judge(figures()) == ("ok", [])


@pytest.mark.parametrize(
    ("changes", "verdict", "reason"),
    [
        ({"cpu_share": 0.95}, "generator-bound", "CPU share 95% >= 90%"),
        ({"cpu_share": 0.8}, "suspect", "CPU share 80% >= 75%"),
        ({"loop_lag_p99_ms": 60.0}, "generator-bound", "event-loop lag p99 60.0 ms > 50 ms"),
        ({"loop_lag_p99_ms": 12.0}, "suspect", "event-loop lag p99 12.0 ms > 10 ms"),
        (
            {"target_rate": 100.0, "achieved_rate": 80.0},
            "generator-bound",
            "achieved rate 80.0/s = 80.0% of 100/s (< 90%)",
        ),
        (
            {"target_rate": 100.0, "achieved_rate": 95.0},
            "suspect",
            "achieved rate 95.0/s = 95.0% of 100/s (< 97%)",
        ),
        ({"dropped": 3}, "suspect", "3 arrivals dropped at max_in_flight"),
        ({"schedule_lag_p99_ms": 25.0}, "suspect", "schedule lag p99 25.0 ms > 10 ms"),
        (
            {"schedule_lag_p99_ms": 130.0},
            "generator-bound",
            "schedule lag p99 130.0 ms > 50 ms",
        ),
        (
            {"generator_errors": {"gen_port_exhaustion": 2}},
            "generator-bound",
            "generator-side errors: gen_port_exhaustion 2",
        ),
        ({"sink_overflow": 7}, "suspect", "7 JSONL lines dropped (buffer full)"),
    ],
)
def test_each_rule(changes: dict[str, Any], verdict: str, reason: str) -> None:
    """Each documented threshold gives its verdict and names its figure."""
    assert judge(figures(**changes)) == (verdict, [reason])


def test_worst_verdict_wins_and_reasons_are_ordered() -> None:
    """With a suspect and a bound reason, the verdict is generator-bound and
    the bound reason comes first."""
    verdict, reasons = judge(figures(dropped=1, cpu_share=0.99))
    assert verdict == "generator-bound"
    assert reasons == ["CPU share 99% >= 90%", "1 arrivals dropped at max_in_flight"]


def test_full_rate_passes() -> None:
    """An open stage at 100% of its target rate raises nothing."""
    assert judge(figures(target_rate=50.0, achieved_rate=50.0)) == ("ok", [])
    assert figures(target_rate=None).to_json()["cpu_share"] == 0.3


@pytest.mark.parametrize(
    ("limit", "value", "changes", "reason"),
    [
        ("cpu_share_suspect", 0.5, {"cpu_share": 0.6}, "CPU share 60% >= 50%"),
        ("loop_lag_p99_bound_ms", 20.0, {"loop_lag_p99_ms": 25.0}, "> 20 ms"),
        (
            "rate_suspect",
            0.99,
            {"target_rate": 100.0, "achieved_rate": 98.0},
            "of 100/s (< 99%)",
        ),
        ("schedule_lag_p99_suspect_ms", 5.0, {"schedule_lag_p99_ms": 6.0}, "> 5 ms"),
    ],
)
def test_the_reasons_quote_the_limits_the_rules_use(
    monkeypatch: pytest.MonkeyPatch, limit: str, value: float, changes: Any, reason: str
) -> None:
    """A reason states the limit from LIMITS, never a copy of it."""
    monkeypatch.setitem(LIMITS, limit, value)  # type: ignore[arg-type]
    _, reasons = judge(figures(**changes))
    assert reasons[0].endswith(reason), reasons
