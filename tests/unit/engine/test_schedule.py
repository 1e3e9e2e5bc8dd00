"""The open-loop arrival plan: exact constant schedules, seeded Poisson and gamma."""

from __future__ import annotations

import random
import statistics
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.engine import ScenarioPicker, arrival_offsets

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
