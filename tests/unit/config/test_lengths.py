"""Token counts: fixed or drawn from a distribution; seeded draws, their
statistics, the bounds, and the profile's spelling of them."""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

import pytest
from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.config import (
    EmpiricalDist,
    LognormalDist,
    NormalDist,
    UniformDist,
    describe_plan,
    draw_tokens,
    dump_profile,
    load_datasets,
    mean_tokens,
    parse_profile,
    resolve,
)
from loadtest.errors import ConfigError

MAX = 1_000_000

bounds = st.tuples(st.integers(1, 5000), st.integers(1, 5000)).map(sorted)


@st.composite
def dists(draw: st.DrawFn) -> Any:
    low, high = draw(bounds)
    kind = draw(st.sampled_from(["uniform", "normal", "lognormal", "empirical"]))
    if kind == "uniform":
        return UniformDist(low, high)
    mean = draw(st.floats(low, high))
    if kind == "normal":
        return NormalDist(mean, draw(st.floats(0, 10_000)), low, high)
    if kind == "lognormal":
        return LognormalDist(max(mean, 1), draw(st.floats(0, 3)), low, high)
    return EmpiricalDist(None, low, high)


lengths = st.lists(st.integers(1, 100_000), min_size=1, max_size=50).map(tuple)


@settings(max_examples=200)
@given(dists(), st.integers(0, 2**32), lengths)
def test_every_draw_is_a_whole_count_within_the_bounds(
    dist: Any, seed: int, found: tuple[int, ...]
) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        value = draw_tokens(dist, rng, found)
        assert type(value) is int
        assert dist.min <= value <= dist.max


@given(dists(), st.integers(0, 2**32), lengths)
def test_the_same_seed_draws_the_same_counts(dist: Any, seed: int, found: tuple[int, ...]) -> None:
    first = [draw_tokens(dist, random.Random(seed), found) for _ in range(5)]
    again = [draw_tokens(dist, random.Random(seed), found) for _ in range(5)]
    assert first == again


@given(st.integers(1, MAX), st.integers(0, 2**32))
def test_a_fixed_count_draws_nothing(count: int, seed: int) -> None:
    """A fixed count is itself and leaves the RNG where it was, so plans
    without distributions are what they were before distributions existed."""
    rng = random.Random(seed)
    state = rng.getstate()
    assert draw_tokens(count, rng) == count
    assert rng.getstate() == state


def sample(dist: Any, n: int = 20_000, found: tuple[int, ...] = (), seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    return [draw_tokens(dist, rng, found) for _ in range(n)]


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**32))
def test_sample_statistics_match_the_distribution(seed: int) -> None:
    """20,000 draws (bounds far in the tails): the means within 2% of the
    asked mean, the spreads within 5% of the asked spread, and the
    lognormal's median at mean * exp(-sigma^2 / 2)."""
    uniform = sample(UniformDist(100, 300), seed=seed)
    assert statistics.fmean(uniform) == pytest.approx(200, rel=0.02)
    assert min(uniform) == 100
    assert max(uniform) == 300
    normal = sample(NormalDist(500, 100, 1, 2000), seed=seed)
    assert statistics.fmean(normal) == pytest.approx(500, rel=0.02)
    assert statistics.pstdev(normal) == pytest.approx(100, rel=0.05)
    lognormal = sample(LognormalDist(400, 0.5, 1, 100_000), seed=seed)
    assert statistics.fmean(lognormal) == pytest.approx(400, rel=0.02)
    assert statistics.median(lognormal) == pytest.approx(400 * math.exp(-0.125), rel=0.03)
    found = (10, 20, 30, 1000)
    empirical = sample(EmpiricalDist(None, 1, MAX), found=found, seed=seed)
    assert set(empirical) == set(found)
    assert statistics.fmean(empirical) == pytest.approx(
        mean_tokens(EmpiricalDist(), found), rel=0.05
    )


def test_bounds_clamp() -> None:
    """A draw beyond a bound is the bound: a normal centred on its floor has
    about half its draws there."""
    draws = sample(NormalDist(50, 30, 50, 60), n=2000)
    assert min(draws) == 50
    assert max(draws) == 60
    assert 0.45 < draws.count(50) / len(draws) < 0.55
    assert set(sample(EmpiricalDist(None, 15, 25), n=200, found=(10, 20, 30))) == {15, 20, 25}


def test_mean_tokens() -> None:
    assert mean_tokens(7) == 7.0
    assert mean_tokens(UniformDist(10, 20)) == 15.0
    assert mean_tokens(NormalDist(30, 1)) == 30.0
    assert mean_tokens(LognormalDist(40, 1)) == 40.0
    assert mean_tokens(EmpiricalDist(), (1, 2, 6)) == 3.0
    assert mean_tokens(EmpiricalDist()) == 0.0


BASE = '{"stages": ["1:1s"], "defaults": {"target": "http://h", "model": "m", '


def problems(max_tokens: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_profile(BASE + f'"max_tokens": {max_tokens}}}}}', "json")
    return caught.value.problems


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"dist": "uniform", "min": 5, "max": 4}', "max_tokens.min: must not exceed max (4)"),
        ('{"dist": "uniform", "min": 0, "max": 4}', "max_tokens.min: must be from 1 to 1000000"),
        ('{"dist": "normal", "mean": 10, "stddev": -1}', "max_tokens.stddev: must be from 0"),
        (
            '{"dist": "normal", "mean": 10, "stddev": 1, "min": 20}',
            "max_tokens.mean: must lie within min..max (20..1000000), got 10",
        ),
        (
            '{"dist": "lognormal", "mean": 10, "sigma": 11}',
            "max_tokens.sigma: must be from 0 to 10",
        ),
        ('{"dist": "lognormal", "mean": 0.5, "sigma": 1}', "max_tokens.mean: must be from 1"),
        ('{"dist": "empirical", "max": 2000000}', "max_tokens.max: must be from 1 to 1000000"),
        ('{"dist": "normal", "mean": 10}', "max_tokens.stddev: required key missing"),
        ('{"dist": "normal", "mean": 10, "stddev": 1, "sd": 1}', "max_tokens.sd: unknown key"),
        ('{"dist": "gamma"}', "max_tokens.dist: expected one of uniform, normal, lognormal, "),
        ('{"dist": 1}', "max_tokens.dist: expected one of"),
        ('{"mean": 10}', 'max_tokens: a distribution needs "dist"'),
        ('"200"', 'max_tokens: expected an integer, got "200" (or a distribution'),
        ("0", "max_tokens: must be from 1 to 1000000, got 0"),
    ],
)
def test_bad_distributions_name_their_field(value: str, message: str) -> None:
    (line,) = problems(value)
    assert message in line


@given(dists())
def test_a_distribution_survives_a_written_profile(dist: Any) -> None:
    """dump_profile writes a distribution that parses back equal (TOML)."""
    text = BASE + '"content": {"mode": "pool", "prompts": ["x"]}}}'
    profile = parse_profile(text, "json")
    profile = evolve(profile, defaults=evolve(profile.defaults, max_tokens=dist))
    assert parse_profile(dump_profile(profile), "toml") == profile


def test_the_plan_shows_the_distributions() -> None:
    text = (
        BASE + '"max_tokens": {"dist": "uniform", "min": 8, "max": 16}, '
        '"content": {"mode": "sized", "approx_input_tokens": '
        '{"dist": "lognormal", "mean": 400, "sigma": 0.5}}}, '
        '"scenarios": [{"name": "a"}, {"name": "b", "max_tokens": '
        '{"dist": "normal", "mean": 9, "stddev": 2, "max": 20}}]}'
    )
    shown = describe_plan(load_datasets(resolve(parse_profile(text, "json"), env={})))
    assert "max_tokens uniform (8-16)" in shown
    assert "max_tokens normal mean 9 stddev 2 (1-20)" in shown
    assert "sized, ~lognormal mean 400 sigma 0.5 (1-1000000) tokens per turn" in shown
