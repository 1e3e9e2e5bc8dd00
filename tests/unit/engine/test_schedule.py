"""The open-loop arrival plan: exact constant schedules, seeded Poisson and gamma."""

from __future__ import annotations

import math
import random
import statistics
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.engine import ScenarioPicker, VuSlot, arrival_offsets, ramp_offsets, vu_plan
from loadtest.engine._schedule import ramp_arrival_time

if TYPE_CHECKING:
    from loadtest.config import Arrival


@given(
    st.integers(min_value=1, max_value=500),
    st.integers(min_value=1, max_value=60),
)
def test_constant_rate_gives_exactly_rate_times_duration(rate: int, duration_s: int) -> None:
    """R/s for D s (whole numbers): exactly R*D arrivals, the n-th at n/R."""
    offsets = list(arrival_offsets(rate, duration_s, "constant", random.Random(0)))
    assert len(offsets) == rate * duration_s
    assert offsets == [n / rate for n in range(rate * duration_s)]


def test_fractional_constant_rate() -> None:
    """A rate that does not divide the duration: every n with n/R < D."""
    assert list(arrival_offsets(1.5, 2.0, "constant", random.Random(0))) == [0.0, 1 / 1.5, 2 / 1.5]


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=5, max_value=500), st.integers(min_value=0, max_value=2**32))
def test_poisson_mean_rate(rate: float, seed: int) -> None:
    """Poisson arrivals are ordered, inside the window, and their count over
    200 expected arrivals is within 5 standard deviations of the mean."""
    duration_s = 200 / rate
    offsets = list(arrival_offsets(rate, duration_s, "poisson", random.Random(seed)))
    assert offsets == sorted(offsets)
    assert all(0 < t < duration_s for t in offsets)
    assert abs(len(offsets) - 200) < 5 * 200**0.5


def test_poisson_gaps_are_exponential_over_many_seeds() -> None:
    """Across 50 seeds the mean gap is 1/rate within 2% and the gaps' standard
    deviation matches their mean (an exponential's signature)."""
    gaps: list[float] = []
    for seed in range(50):
        offsets = list(arrival_offsets(100.0, 20.0, "poisson", random.Random(seed)))
        gaps.extend(b - a for a, b in zip([0.0, *offsets], offsets, strict=False))
    assert statistics.fmean(gaps) == pytest.approx(0.01, rel=0.02)
    assert statistics.stdev(gaps) == pytest.approx(0.01, rel=0.05)


def _gaps(offsets: list[float]) -> list[float]:
    return [b - a for a, b in zip([0.0, *offsets], offsets, strict=False)]


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    st.floats(min_value=1, max_value=1000),
    st.floats(min_value=0.25, max_value=20),
    st.integers(min_value=0, max_value=2**32),
)
def test_gamma_mean_rate_and_cv_match_theory(rate: float, burstiness: float, seed: int) -> None:
    """Gamma arrivals of shape k = burstiness over 20,000 expected arrivals:
    the realised rate is the planned one within 3%, and the gaps' coefficient
    of variation is 1/sqrt(k) within 10% (k < 1 burstier than poisson, k > 1
    smoother)."""
    duration_s = 20_000 / rate
    offsets = list(
        arrival_offsets(rate, duration_s, "gamma", random.Random(seed), burstiness=burstiness)
    )
    assert offsets == sorted(offsets)
    assert all(0 < t < duration_s for t in offsets)
    assert len(offsets) / duration_s == pytest.approx(rate, rel=0.03)
    gaps = _gaps(offsets)
    cv = statistics.stdev(gaps) / statistics.fmean(gaps)
    assert cv == pytest.approx(1 / burstiness**0.5, rel=0.10)


def test_gamma_is_seeded_and_burstiness_changes_the_plan() -> None:
    """Same seed and burstiness: the same offsets; another burstiness: others.
    Constant arrivals have a CV of 0, poisson about 1."""

    def plan(burstiness: float, process: Arrival = "gamma") -> list[float]:
        return list(arrival_offsets(50.0, 10.0, process, random.Random(3), burstiness=burstiness))

    assert plan(0.5) == plan(0.5)
    assert plan(0.5) != plan(2.0)
    constant = _gaps(plan(0.5, "constant")[1:])
    assert statistics.pstdev(constant) == pytest.approx(0.0, abs=1e-9)
    poisson = _gaps(plan(0.5, "poisson"))
    assert statistics.stdev(poisson) / statistics.fmean(poisson) == pytest.approx(1.0, rel=0.1)


def test_scenario_picker_follows_weights_and_skips_zero() -> None:
    """Picks follow the weights; a zero-weight scenario is never picked."""
    picker = ScenarioPicker([3, 0, 1])
    rng = random.Random(5)
    picks = [picker.pick(rng) for _ in range(40_000)]
    assert picks.count(1) == 0
    assert picks.count(0) / len(picks) == pytest.approx(0.75, abs=0.01)
    with pytest.raises(ValueError, match="above 0"):
        ScenarioPicker([0, 0])


# --- ramps --------------------------------------------------------------------


def _ramp_time(k: float, a: float, b: float, d: float) -> float:
    """Λ⁻¹(k) by the quadratic formula, written out independently."""
    if a == b:
        return k / a
    # (b - a)/(2D)·t² + a·t - k = 0
    qa, qb = (b - a) / (2 * d), a
    disc = qb * qb + 4 * qa * k
    return (-qb + math.sqrt(disc)) / (2 * qa)


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [(10.0, 200.0, 60.0), (200.0, 10.0, 60.0), (0.0, 50.0, 4.0), (50.0, 0.0, 4.0), (3.0, 3.0, 5.0)],
)
def test_constant_ramp_puts_arrival_k_where_lambda_is_k(a: float, b: float, d: float) -> None:
    """Every arrival of a constant ramp is at Λ⁻¹(k), k = 0, 1, ..., to float
    rounding; there are ceil(Λ(D)) of them, Λ(D) = (a + b)·D/2."""
    offsets = list(ramp_offsets(a, b, d, "constant", random.Random(0)))
    total = (a + b) * d / 2
    assert len(offsets) == math.ceil(total)
    for k, t in enumerate(offsets):
        assert t == pytest.approx(_ramp_time(k, a, b, d), rel=1e-9, abs=1e-9)
        # Λ(t) = k, as the rate integrates
        assert a * t + (b - a) * t * t / (2 * d) == pytest.approx(k, rel=1e-9, abs=1e-9)


def test_equal_ends_give_the_constant_rate_times() -> None:
    assert list(ramp_offsets(4.0, 4.0, 2.0, "constant", random.Random(0))) == [
        n / 4 for n in range(8)
    ]


def test_the_ramp_root_is_exact_at_the_edges() -> None:
    """Nothing expected: time 0 (also with a = 0, where the formula is 0/0);
    a ramp down to 0 reaches Λ(D) = a·D/2 exactly at D."""
    assert ramp_arrival_time(0, 0.0, 10.0, 5.0) == 0.0
    assert ramp_arrival_time(25, 10.0, 0.0, 5.0) == pytest.approx(5.0)
    assert ramp_arrival_time(1, 0.0, 2.0, 1.0) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=0, max_value=300),
    st.floats(min_value=0, max_value=300),
    st.floats(min_value=0.1, max_value=30),
)
def test_constant_ramp_count_and_order(a: float, b: float, d: float) -> None:
    """Any ramp (up, down, from or to 0): ceil(Λ(D)) arrivals, in order,
    inside [0, D)."""
    if a == b == 0:
        return
    offsets = list(ramp_offsets(a, b, d, "constant", random.Random(0)))
    assert len(offsets) == math.ceil((a + b) * d / 2)
    assert offsets == sorted(offsets)
    assert all(0 <= t < d * (1 + 1e-9) for t in offsets)


@pytest.mark.parametrize("process", ["poisson", "gamma"])
def test_random_ramps_are_the_unit_process_rescaled(process: Arrival) -> None:
    """Poisson/gamma ramps map the seeded unit-rate event times S_k through
    Λ⁻¹: drawing S_k the same way gives exactly the offsets."""
    a, b, d, burstiness = 10.0, 200.0, 6.0, 0.5
    offsets = list(ramp_offsets(a, b, d, process, random.Random(7), burstiness))
    rng, s, expected = random.Random(7), 0.0, []
    while True:
        s += rng.expovariate(1.0) if process == "poisson" else rng.gammavariate(0.5, 2.0)
        if s >= (a + b) * d / 2:
            break
        expected.append(_ramp_time(s, a, b, d))
    assert offsets == pytest.approx(expected, rel=1e-9)
    assert offsets == sorted(offsets)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=2**32))
def test_poisson_ramp_count_and_shape(seed: int) -> None:
    """A poisson ramp 0 -> 400/s over 10 s: about Λ(D) = 2,000 arrivals (5
    standard deviations), and about a quarter of them in the first half
    (Λ(D/2) / Λ(D) = 1/4 for a ramp from 0)."""
    offsets = list(ramp_offsets(0.0, 400.0, 10.0, "poisson", random.Random(seed)))
    assert abs(len(offsets) - 2000) < 5 * 2000**0.5
    first_half = sum(1 for t in offsets if t < 5.0)
    assert first_half / len(offsets) == pytest.approx(0.25, abs=0.05)


def _running(slots: list[VuSlot], t: float) -> list[int]:
    return [s.scenario for s in slots if s.start_s <= t and (s.stop_s is None or t < s.stop_s)]


def test_vu_ramp_up_starts_each_vu_at_its_half_step() -> None:
    """10 -> 100 VUs over 60 s: the first 10 at 0, VU n at (n - 10.5)·60/90."""
    slots = vu_plan(10, 100, 60.0, [1.0])
    assert [s.start_s for s in slots[:10]] == [0.0] * 10
    assert [s.start_s for s in slots[10:]] == pytest.approx(
        [(n - 10.5) * 60 / 90 for n in range(11, 101)]
    )
    assert all(s.stop_s is None for s in slots)


def test_vu_ramp_down_stops_the_last_first_at_mirrored_times() -> None:
    """8 -> 2 over 6 s: VU n (8..3) stops at (8 - n + 1/2)·1 s; 2 never stop."""
    slots = vu_plan(8, 2, 6.0, [1.0])
    assert [s.stop_s for s in slots] == [None, None, 5.5, 4.5, 3.5, 2.5, 1.5, 0.5]
    assert all(s.start_s == 0.0 for s in slots)


@pytest.mark.parametrize(("start", "end"), [(0, 37), (3, 40), (40, 3), (37, 0), (5, 5)])
def test_vu_ramps_hold_the_rounded_target_and_the_split(start: int, end: int) -> None:
    """At every moment the VUs running are the linear target rounded to the
    nearest whole number, and each scenario (55/30/15) is within one VU of
    its share."""
    weights = [55.0, 30.0, 15.0]
    d = 10.0
    slots = vu_plan(start, end, d, weights)
    for step in range(1000):
        t = (step + 0.37) * d / 1000  # never exactly on a half step
        running = _running(slots, t)
        target = start + (end - start) * t / d
        assert len(running) == round(target), t
        for scenario, weight in enumerate(weights):
            share = len(running) * weight / sum(weights)
            assert abs(running.count(scenario) - share) < 1 + 1e-9, (t, scenario)


def test_the_vus_at_the_start_are_a_constant_stages_with_its_spread() -> None:
    """The first VUs are split as `split_by_weight` and spread i/N apart."""
    slots = vu_plan(4, 8, 4.0, [3.0, 1.0], spread_s=2.0)
    assert [s.scenario for s in slots[:4]] == [0, 0, 0, 1]
    assert [s.start_s for s in slots[:4]] == [0.0, 0.5, 1.0, 1.5]
    assert [s.start_s for s in slots[4:]] == [0.5, 1.5, 2.5, 3.5]
