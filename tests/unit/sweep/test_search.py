"""The sweep's search, alone: a simulated gateway answers each probe, and
the knee found lies within one bisection step of its known limit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from loadtest.sweep import Done, Probe, ProbeResult, SweepSearch, SweepSettings
from loadtest.sweep._search import FLOOR_DIVISOR

Answer = Callable[[float], ProbeResult]


def gateway(limit: float, *, bound_at: float | None = None) -> Answer:
    """Rates up to `limit` pass; from `bound_at` up the generator is bound."""

    def answer(rate: float) -> ProbeResult:
        if bound_at is not None and rate >= bound_at:
            return ProbeResult("rate", False, "generator-bound", rate * 0.8, rate)
        if rate <= limit:
            return ProbeResult("rate", True, None, rate, rate)
        return ProbeResult("rate", False, "slo", rate, rate)

    return answer


def search(
    answer: Answer, settings: SweepSettings | None = None, ceiling: float = 50.0
) -> tuple[Done, list[Probe]]:
    machine = SweepSearch(settings or SweepSettings())
    probes: list[Probe] = []
    step = machine.next()
    while isinstance(step, Probe):
        probes.append(step)
        assert len(probes) < 40, probes
        if step.kind == "baseline":
            machine.record(ProbeResult("baseline", True, None, 1.5))
        elif step.kind == "ceiling":
            machine.record(ProbeResult("ceiling", False, "slo", ceiling))
        else:
            assert step.rate is not None
            machine.record(answer(step.rate))
        step = machine.next()
    return step, probes


@pytest.mark.parametrize("limit", [3.3, 12.0, 39.0, 46.0, 49.9, 55.0, 70.0, 120.0])
@pytest.mark.parametrize("precision", [0.05, 0.02])
def test_the_knee_is_within_one_bisection_step_of_the_limit(limit: float, precision: float) -> None:
    done, probes = search(gateway(limit), SweepSettings(precision=precision))
    assert [p.kind for p in probes[:2]] == ["baseline", "ceiling"]
    assert probes[1].vus == 64
    assert done.rate is not None
    assert limit * (1 - precision) - 0.01 <= done.rate <= limit
    assert done.next_failed_because == "slo"
    assert len(probes) <= 16


def test_the_first_rate_probe_is_below_the_ceiling_then_just_above() -> None:
    _, probes = search(gateway(100.0))
    assert [p.rate for p in probes[2:4]] == [40.0, 55.0]


def test_a_generator_bound_probe_is_never_the_knee() -> None:
    """The gateway could do 60/s, the generator is bound from 30/s: the knee
    is the highest healthy passing rate below 30, and says why it stopped."""
    done, _ = search(gateway(60.0, bound_at=30.0))
    assert done.rate is not None
    assert 30.0 * 0.95 - 0.01 <= done.rate < 30.0
    assert done.next_failed_because == "generator-bound"
    assert "generator-bound: not counted as the gateway's limit" in done.note


def test_a_generator_bound_probe_below_an_slo_failure_is_noted() -> None:
    """Bound at 50 (first probed at 55), the gateway's own limit at 44."""
    done, _ = search(gateway(44.0, bound_at=50.0))
    assert done.next_failed_because == "slo"
    assert done.rate is not None
    assert done.rate <= 44.0
    assert done.note.endswith("a generator-bound probe was not counted")


def test_nothing_sustainable_down_to_the_floor() -> None:
    done, probes = search(gateway(0.1))
    assert done.rate is None
    assert done.next_failed_because == "slo"
    assert probes[-1].rate == pytest.approx(50.0 / FLOOR_DIVISOR)
    assert "every rate failed" in done.note


def test_min_and_max_rate_bound_the_search() -> None:
    done, probes = search(gateway(100.0), SweepSettings(max_rate=30.0))
    assert done.rate == 30.0
    assert done.next_failed_because is None
    assert "up to --max-rate" in done.note
    assert max(p.rate or 0 for p in probes) == 30.0
    low, probes = search(gateway(1.0), SweepSettings(min_rate=5.0))
    assert low.rate is None
    assert min(p.rate or 99 for p in probes if p.kind == "rate") == 5.0


def test_a_failing_baseline_ends_the_search() -> None:
    machine = SweepSearch(SweepSettings())
    machine.next()
    machine.record(ProbeResult("baseline", False, "errors", 0.0))
    done = machine.next()
    assert isinstance(done, Done)
    assert (done.rate, done.next_failed_because) == (None, "errors")
    assert "even one user" in done.note


def test_a_generator_bound_baseline_ends_the_search() -> None:
    machine = SweepSearch(SweepSettings())
    machine.next()
    machine.record(ProbeResult("baseline", False, "generator-bound", 1.0))
    done = machine.next()
    assert isinstance(done, Done)
    assert done.next_failed_because == "generator-bound"
    assert "cannot measure the gateway" in done.note


def test_a_ceiling_with_no_turn_ends_the_search() -> None:
    machine = SweepSearch(SweepSettings())
    machine.next()
    machine.record(ProbeResult("baseline", True, None, 1.0))
    machine.next()
    machine.record(ProbeResult("ceiling", False, None, None))
    done = machine.next()
    assert isinstance(done, Done)
    assert (done.rate, done.next_failed_because) == (None, "errors")


def test_a_stopped_search_reports_the_best_rate_so_far() -> None:
    machine = SweepSearch(SweepSettings())
    for result in (
        ProbeResult("baseline", True, None, 1.0),
        ProbeResult("ceiling", True, None, 50.0),
        ProbeResult("rate", True, None, 40.0, 40.0),
    ):
        machine.next()
        machine.record(result)
    done = machine.stopped()
    assert done.rate == 40.0
    assert done.note.startswith("stopped before the search converged")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"goodput_target": 0}, "goodput target"),
        ({"goodput_target": 1.5}, "goodput target"),
        ({"precision": 1}, "precision"),
        ({"min_rate": 0}, "min rate must be above 0"),
        ({"max_rate": -1}, "max rate must be above 0"),
        ({"min_rate": 5, "max_rate": 2}, r"min rate \(5/s\) is above the max rate \(2/s\)"),
        ({"ceiling_vus": 0}, "needs 1 to 100,000 VUs"),
        ({"ceiling_vus": 100_001}, "needs 1 to 100,000 VUs"),
        ({"min_rate": 100_001}, "min rate must be above 0 and at most 100,000/s"),
        ({"max_rate": 1e9}, "max rate must be above 0 and at most 100,000/s"),
    ],
)
def test_bad_settings_are_one_line(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SweepSettings(**settings)  # type: ignore[arg-type]


def test_a_transient_generator_bound_probe_is_run_again() -> None:
    """Bound once at 40/s (a burst elsewhere on the machine), then healthy:
    the rerun counts and the search goes on to the gateway's own limit."""
    seen: set[float] = set()
    limit = gateway(46.0)

    def answer(rate: float) -> ProbeResult:
        if rate not in seen:
            seen.add(rate)
            if rate == 40.0:
                return ProbeResult("rate", False, "generator-bound", 30.0, rate)
        return limit(rate)

    done, probes = search(answer)
    assert [p.rate for p in probes[2:5]] == [40.0, 40.0, 55.0]
    assert done.rate is not None
    assert 46.0 * 0.95 <= done.rate <= 46.0
    assert done.next_failed_because == "slo"
    assert done.note.endswith("a generator-bound probe was not counted")


def test_without_a_max_rate_no_probe_exceeds_what_a_stage_takes() -> None:
    """A gateway faster than any stage can offer: the search stops at the
    highest rate a stage takes (100,000/s), the knee higher, never a probe
    a stage would refuse."""
    done, probes = search(gateway(1e12), ceiling=90_000.0)
    rates = [p.rate for p in probes if p.rate is not None]
    assert max(rates) == 100_000.0
    assert done.rate == 100_000.0
    assert done.next_failed_because is None
