"""Execution segments: K/N parsed 0-based, largest-remainder shares, dealing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.config import Segment, parse_segment, split_by_weight
from loadtest.errors import ConfigError
from tests.integration.conftest import make_plan


def test_parse_segment_is_zero_based() -> None:
    assert parse_segment("0/4") == Segment(0, 4)
    assert parse_segment(" 3 / 4 ") == Segment(3, 4)
    assert str(Segment(3, 4)) == "3/4"
    assert Segment().whole
    assert not Segment(0, 2).whole


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4/4", "--segment 4/4: K is 0-based, 0 to 3"),
        ("1/0", "--segment 1/0: the count is 1 to 10,000"),
        ("1-4", "--segment '1-4': expected K/N, e.g. 0/4 (K is 0-based)"),
        ("-1/4", "--segment '-1/4': expected K/N"),
    ],
)
def test_bad_segments_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_segment(text)
    assert caught.value.problems[0].startswith(message)


def test_limits_split_or_are_refused() -> None:
    assert Segment(1, 2).limit(None, "max_in_flight") is None
    assert [Segment(k, 3).limit(7, "x") for k in range(3)] == [3, 2, 2]
    with pytest.raises(ConfigError, match="x 2 cannot be split over 3 segments"):
        Segment(0, 3).limit(2, "x")


@given(total=st.integers(0, 10_000), count=st.integers(1, 50))
def test_shares_add_up_and_differ_by_at_most_one(total: int, count: int) -> None:
    """A request-count stop or a limit split by largest remainder: the
    shards' parts are the whole, and as even as whole numbers allow."""
    shares = [Segment(k, count).share(total) for k in range(count)]
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1
    # Dealing items round-robin gives each shard its share.
    assert shares == [sum(Segment(k, count).owns(n) for n in range(total)) for k in range(count)]


@given(
    vus=st.integers(1, 300),
    weights=st.lists(st.integers(0, 100), min_size=1, max_size=5).filter(any),
    count=st.integers(1, 9),
)
def test_segment_vus_add_up_to_the_one_process_split(
    vus: int, weights: list[int], count: int
) -> None:
    """Each scenario's VUs over the shards add up to the one-process split."""
    scenarios = [{"name": f"s{i}", "weight": w} for i, w in enumerate(weights)]
    plan = make_plan(stages=[f"{vus}:10s"], scenarios=scenarios)
    stage = plan.stages[0]
    parts = [plan.for_segment(Segment(k, count)).segment_vus(stage) for k in range(count)]
    assert [sum(col) for col in zip(*parts, strict=True)] == split_by_weight(vus, weights)
    totals = [sum(p) for p in parts]
    assert max(totals) - min(totals) <= 1
