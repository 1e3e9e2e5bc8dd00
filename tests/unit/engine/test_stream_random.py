"""StreamRandom: SplitMix64 over a counter, keyed by the seed tree."""

from __future__ import annotations

import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.engine._content import StreamRandom, stream_key, subkey

MASK64 = (1 << 64) - 1


def splitmix64(state: int, count: int) -> list[int]:
    """The reference algorithm (splitmix64.c): add the gamma, then mix."""
    out = []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append(z ^ (z >> 31))
    return out


def test_published_splitmix64_values() -> None:
    """Seed 1234567 gives SplitMix64's published first outputs."""
    rng = StreamRandom(1234567)
    assert [rng.getrandbits(64) for _ in range(3)] == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
    ]


@given(st.integers(0, MASK64), st.lists(st.integers(0, 200), min_size=1, max_size=12))
def test_draws_are_the_reference_stream(key: int, widths: list[int]) -> None:
    """getrandbits(k) takes the top k bits of as many 64-bit outputs as it
    needs, in order; random() the top 53 bits of one."""
    rng = StreamRandom(key)
    outputs = iter(splitmix64(key, 64))
    for k in widths:
        words = -(-k // 64)
        bits = 0
        for _ in range(words):
            bits = (bits << 64) | next(outputs)
        assert rng.getrandbits(k) == bits >> (64 * words - k)
    assert rng.random() == (next(outputs) >> 11) / 2**53


@given(st.integers(0, MASK64), st.integers(-50, 50), st.integers(0, 10**30))
def test_random_methods_stay_in_range(key: int, low: int, span: int) -> None:
    rng = StreamRandom(key)
    assert 0.0 <= rng.random() < 1.0
    assert low <= rng.randint(low, low + span) <= low + span
    assert rng.choice("abc") in "abc"
    assert rng.getrandbits(0) == 0


def test_negative_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        StreamRandom(1).getrandbits(-1)


def test_distributions_look_like_the_mersenne_twister() -> None:
    """Means of 20,000 draws agree with the Mersenne Twister's within a
    few standard errors (gauss, lognormvariate and uniform build on random())."""
    mine, mt = StreamRandom(stream_key(3, 0, "conv", 1)), random.Random(3)
    for draw in (
        lambda r: r.random(),
        lambda r: r.gauss(10.0, 2.0),
        lambda r: r.randint(1, 100),
        lambda r: r.lognormvariate(1.0, 0.5),
    ):
        ours = [draw(mine) for _ in range(20_000)]
        theirs = [draw(mt) for _ in range(20_000)]
        error = statistics.stdev(theirs) / 20_000**0.5
        assert abs(statistics.fmean(ours) - statistics.fmean(theirs)) < 6 * error


def test_keys_compose_and_separate() -> None:
    """A branch's key is the same built at once or in steps; neighbouring
    branches, seeds and labels get different keys."""
    assert subkey(stream_key(7, 2, "conv"), 41) == stream_key(7, 2, "conv", 41)
    keys = {
        stream_key(seed, stage, kind, n)
        for seed in (0, 1)
        for stage in (0, 1)
        for kind in ("vu", "conv")
        for n in range(500)
    }
    assert len(keys) == 2 * 2 * 2 * 500
    assert stream_key(0, 0, "vu", 0) != stream_key(0, 0, "vu", 0, 0)


def test_same_key_same_stream() -> None:
    first, again = StreamRandom(stream_key(5, 1, "vu", 3)), StreamRandom(stream_key(5, 1, "vu", 3))
    assert [first.random() for _ in range(10)] == [again.random() for _ in range(10)]
