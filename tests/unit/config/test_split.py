"""Largest-remainder split of virtual users over weighted scenarios."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.config import split_by_weight


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (1000, [55, 30, 15], [550, 300, 150]),
        (1000, [70, 20, 10], [700, 200, 100]),
        (3, [98, 1, 1], [1, 1, 1]),
        (2, [98, 1, 1], [2, 0, 0]),
        (7, [1, 1, 1], [3, 2, 2]),
        (10, [0, 1], [0, 10]),
        (5, [0, 0], [0, 0]),
        (0, [1, 2], [0, 0]),
        (1, [1], [1]),
    ],
)
def test_split_examples(total: int, weights: list[float], expected: list[int]) -> None:
    """Known splits, including the at-least-one rule and zero weights."""
    assert split_by_weight(total, weights) == expected


@given(
    st.integers(min_value=1, max_value=5000),
    st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=8).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_split_properties(total: int, weights: list[float]) -> None:
    """The split sums to the total, gives nothing to zero weights, gives every
    positive weight at least one unit when there are enough units, and stays
    within one unit of the exact share otherwise (before the minimum rule)."""
    shares = split_by_weight(total, weights)
    assert sum(shares) == total
    positive = [i for i, w in enumerate(weights) if w > 0]
    assert all(shares[i] == 0 for i, w in enumerate(weights) if w <= 0)
    if total >= len(positive):
        assert all(shares[i] >= 1 for i in positive)
    weight_sum = sum(w for w in weights if w > 0)
    bumped = sum(1 for i in positive if total * weights[i] / weight_sum < 1)
    for i in positive:
        assert abs(shares[i] - total * weights[i] / weight_sum) < 1 + bumped
