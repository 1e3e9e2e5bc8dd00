"""Histogram: recording, index math and statistics, checked against hdrh itself."""

from __future__ import annotations

import math
import random

import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.metrics._histogram import (
    DEFAULT_HIGHEST_US,
    MAX_HIGHEST_US,
    Histogram,
)

HOUR_US = 3_600_000_000
PERCENTILES = [0.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0]

# Every power of two (a bucket boundary) and its neighbours, up to the last
# value hdrh's 1 h array can hold.
BOUNDARIES = sorted({v for k in range(33) for v in (2**k - 1, 2**k, 2**k + 1)})
in_range_boundaries = st.sampled_from([v for v in BOUNDARIES if v <= HOUR_US] + [HOUR_US - 1])
hour_values = st.one_of(st.integers(0, HOUR_US), in_range_boundaries)


def both(
    values: list[int], highest_us: int = HOUR_US, figures: int = 3
) -> tuple[Histogram, HdrHistogram]:
    """The same values recorded into ours and into hdrh."""
    ours, ref = Histogram(highest_us, figures), HdrHistogram(1, highest_us, figures)
    for value in values:
        assert ours.record(value)
        assert ref.record_value(value)
    return ours, ref


def assert_same_counts(ours: Histogram, ref: HdrHistogram) -> None:
    assert bytes(ours.to_hdr().counts) == bytes(ref.counts)
    assert (ours.count, ours.min, ours.max) == (
        ref.get_total_count(),
        ref.get_min_value(),
        ref.get_max_value(),
    )


def latencies_us(n: int, seed: int) -> list[int]:
    """Log-normal latencies from ~1 ms to ~10 s, plus a few extremes."""
    rng = random.Random(seed)
    values = [int(rng.lognormvariate(math.log(200_000), 1.5)) for _ in range(n)]
    return [*values, 0, 1, HOUR_US]


@pytest.mark.parametrize("figures", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("highest_us", [2, 1000, 2047, 2048, 60_000_000, HOUR_US])
def test_layout_matches_hdrh_at_the_extremes(highest_us: int, figures: int) -> None:
    """0, 1 and the highest trackable value land in hdrh's slots for every precision."""
    assert_same_counts(*both([0, 1, highest_us, highest_us], highest_us, figures))


@settings(deadline=None)
@given(st.lists(hour_values, min_size=1, max_size=50))
def test_index_math_matches_hdrh(values: list[int]) -> None:
    """Any value in 0..1 h, bucket boundaries included, is counted in hdrh's slot."""
    assert_same_counts(*both(values))


@settings(deadline=None, max_examples=40)
@given(
    st.integers(2, 2**36).flatmap(
        lambda highest: st.tuples(
            st.just(highest),
            st.integers(1, 5),
            st.lists(st.integers(0, highest), min_size=1, max_size=20),
        )
    )
)
def test_index_math_matches_hdrh_for_any_parameters(params: tuple[int, int, list[int]]) -> None:
    """The index math equals hdrh's for every precision and highest value."""
    highest_us, figures, values = params
    assert_same_counts(*both([*values, highest_us], highest_us, figures))


def test_random_latencies_match_hdrh() -> None:
    """100k latencies: counts, total, min, max, mean, stddev and percentiles equal hdrh's."""
    ours, ref = both(latencies_us(100_000, seed=1))
    assert_same_counts(ours, ref)
    assert ours.mean == ref.get_mean_value()
    assert ours.stddev == ref.get_stddev()
    rng = random.Random(2)
    ps = [*PERCENTILES, 0.001, 99.99, 99.999, 12.5, *(rng.uniform(0, 100) for _ in range(50))]
    assert ours.percentiles(ps) == {p: ref.get_value_at_percentile(p) for p in ps}


@settings(deadline=None)
@given(
    st.lists(st.integers(0, 100_000_000), min_size=1, max_size=200),
    st.lists(st.floats(0, 100) | st.sampled_from(PERCENTILES), min_size=1, max_size=10),
)
def test_percentiles_match_hdrh_on_random_data(values: list[int], ps: list[float]) -> None:
    """percentiles() gives hdrh's get_value_at_percentile for every requested p."""
    ours, ref = both(values)
    assert ours.percentiles(ps) == {p: ref.get_value_at_percentile(p) for p in ps}
    assert ours.mean == ref.get_mean_value()


def test_record_with_count_matches_hdrh() -> None:
    """record(value, count) adds count occurrences, like record_value(value, count)."""
    ours, ref = Histogram(), HdrHistogram(1, HOUR_US, 3)
    for value, count in [(5, 3), (123_456, 1000), (0, 2), (5, 1)]:
        assert ours.record(value, count)
        ref.record_value(value, count)
    assert_same_counts(ours, ref)
    assert ours.count == 1006
    assert ours.percentiles([50.0]) == {50.0: ref.get_value_at_percentile(50.0)}


def test_zero_is_a_valid_value() -> None:
    """0 µs is recorded, and is the min, max and every percentile."""
    hist = Histogram()
    assert hist.record(0)
    assert (hist.count, hist.overflow, hist.min, hist.max, hist.mean) == (1, 0, 0, 0, 0.0)
    assert hist.percentiles([0.0, 100.0]) == {0.0: 0, 100.0: 0}


@pytest.mark.parametrize(
    ("value", "count"),
    [(-1, 1), (-(10**12), 3), (HOUR_US + 1, 1), (HOUR_US + 1, 7), (2**70, 2)],
)
def test_out_of_range_values_are_counted_in_overflow(value: int, count: int) -> None:
    """A negative or too large value returns False and adds count to overflow, not to count."""
    hist = Histogram()
    hist.record(1000)
    assert hist.record(value, count) is False
    assert (hist.count, hist.overflow) == (1, count)
    assert hist.record(value) is False
    assert hist.overflow == count + 1
    assert hist.max == 1000


def test_highest_value_is_the_limit_even_where_hdrh_accepts_more() -> None:
    """Values above highest_us are refused although hdrh's last bucket (to 2**32 - 1) takes them."""
    ref = HdrHistogram(1, HOUR_US, 3)
    assert ref.record_value(2**32 - 1)  # hdrh's quirk, pinned so a change is noticed
    hist = Histogram()
    assert hist.record(HOUR_US)
    assert not hist.record(HOUR_US + 1)
    assert not hist.record(2**32 - 1)
    assert (hist.count, hist.overflow) == (1, 2)


def test_empty_histogram_reports_zero_like_hdrh() -> None:
    """An empty histogram: count 0, min/max/percentiles 0, mean/stddev 0.0 (hdrh's answers)."""
    hist, ref = Histogram(), HdrHistogram(1, HOUR_US, 3)
    assert (hist.count, hist.overflow, hist.min, hist.max) == (0, 0, 0, 0)
    assert (hist.mean, hist.stddev) == (0.0, 0.0) == (ref.get_mean_value(), ref.get_stddev())
    assert (ref.get_min_value(), ref.get_max_value()) == (0, 0)
    assert hist.percentiles(PERCENTILES) == dict.fromkeys(PERCENTILES, 0)
    assert ref.get_value_at_percentile(50.0) == 0


@pytest.mark.parametrize("p", [-0.001, 100.001, math.nan, math.inf])
def test_percentiles_outside_0_100_are_rejected(p: float) -> None:
    """A percentile outside [0, 100] (or NaN) raises ValueError, even on an empty histogram."""
    with pytest.raises(ValueError, match="within \\[0, 100\\]"):
        Histogram().percentiles([50.0, p])


def test_percentiles_keep_the_callers_keys() -> None:
    """Keys are the requested percentiles as given; duplicates collapse."""
    hist, _ = both([1000, 2000, 3000])
    assert hist.percentiles([50, 50.0, 100]) == {50: 2000, 100: 3001}


@pytest.mark.parametrize(
    ("highest_us", "figures"),
    [(1, 3), (0, 3), (MAX_HIGHEST_US + 1, 3), (HOUR_US, 0), (HOUR_US, 6)],
)
def test_invalid_parameters_are_rejected(highest_us: int, figures: int) -> None:
    """highest_us must be within [2, 2**62 - 1] and significant_figures within [1, 5]."""
    with pytest.raises(ValueError, match="must be within"):
        Histogram(highest_us, figures)


def test_parameters_are_exposed() -> None:
    """The defaults are 1 h at 3 significant figures, readable as properties."""
    hist = Histogram()
    assert (hist.highest_us, hist.significant_figures) == (DEFAULT_HIGHEST_US, 3) == (HOUR_US, 3)
    assert Histogram(60_000_000, 2).highest_us == 60_000_000


def test_merge_adds_counts_and_overflow() -> None:
    """merge() equals recording both value sets into one histogram, whichever is wider."""
    small = [5_000, 20_000, 49_999]  # inter-token latencies: a short counts list
    wide = [1_000, 2_500_000, 9_000_000]
    for first, second in [(small, wide), (wide, small)]:
        left, _ = both(first)
        right, _ = both(second)
        right.record(-5)
        left.merge(right)
        everything, ref = both(first + second)
        everything.record(-5)
        assert left == everything
        assert_same_counts(left, ref)
        assert (left.count, left.overflow) == (6, 1)
        assert left.mean == ref.get_mean_value()


def test_merge_with_itself_doubles_the_counts() -> None:
    """h.merge(h) doubles every count and the overflow."""
    hist, _ = both([10, 10_000])
    hist.record(-1)
    hist.merge(hist)
    doubled, _ = both([10, 10, 10_000, 10_000])
    doubled.record(-1, 2)
    assert hist == doubled


@pytest.mark.parametrize(("highest_us", "figures"), [(60_000_000, 3), (HOUR_US, 2)])
def test_merge_rejects_mismatched_parameters(highest_us: int, figures: int) -> None:
    """Merging histograms with different parameters raises ValueError and changes nothing."""
    hist, _ = both([100])
    other, _ = both([200], highest_us, figures)
    with pytest.raises(ValueError, match="different parameters"):
        hist.merge(other)
    assert hist.count == 1


def test_copy_is_independent() -> None:
    """copy() has equal counts and overflow; later records do not leak between the two."""
    hist, _ = both([100, 100_000])
    hist.record(-1)
    clone = hist.copy()
    assert clone == hist
    clone.record(5)
    hist.record(7_000_000)
    assert (clone.count, hist.count, clone.overflow) == (3, 3, 1)
    assert clone.max == 100_031
    assert clone != hist


def test_clear_forgets_everything() -> None:
    """clear() empties counts and overflow; the histogram records again afterwards."""
    hist, _ = both([100, 100_000])
    hist.record(-1)
    hist.clear()
    assert hist == Histogram()
    assert (hist.count, hist.overflow, hist.max) == (0, 0, 0)
    hist.record(42)
    assert (hist.count, hist.min, hist.max) == (1, 42, 42)


def test_equality_ignores_memory_layout_but_not_content() -> None:
    """Equal means same parameters, counts and overflow; a histogram is unhashable."""
    grown = Histogram()
    grown.record(3_000_000)
    grown.clear()
    grown.record(10)
    small = Histogram()
    small.record(10)
    assert grown == small
    assert small == grown
    small.record(11)
    assert grown != small
    assert Histogram() != Histogram(60_000_000)
    overflowed = Histogram()
    overflowed.record(10)
    overflowed.record(-1)
    assert grown != overflowed
    assert grown != "Histogram"
    with pytest.raises(TypeError, match="unhashable"):
        hash(grown)


def test_repr_shows_parameters_and_totals() -> None:
    """repr() names the parameters, the count and the overflow."""
    hist = Histogram(60_000_000, 2)
    hist.record(1)
    hist.record(-1)
    assert (
        repr(hist) == "Histogram(highest_us=60000000, significant_figures=2, count=1, overflow=1)"
    )
