"""Splitting a whole number of virtual users across weighted scenarios.

The largest-remainder method: each scenario gets the floor of its exact
share, and the units left over go to the largest fractional parts (ties to
the earlier scenario). Then every scenario with a weight above 0 that got
nothing takes one unit from the scenario holding the most, as long as there
are at least as many units as such scenarios. 1000 VUs at 55/30/15 give
550/300/150; 3 VUs at 98/1/1 give 1/1/1.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["split_by_weight"]


def split_by_weight(total: int, weights: Sequence[float]) -> list[int]:
    """`total` units split over `weights` (see the module docstring)."""
    weight_sum = sum(w for w in weights if w > 0)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum if w > 0 else 0.0 for w in weights]
    shares = [int(x) for x in exact]
    left = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for index in by_remainder[:left]:
        shares[index] += 1
    positive = [i for i, w in enumerate(weights) if w > 0]
    if total >= len(positive):
        for index in positive:
            if shares[index] == 0:
                donor = max(range(len(shares)), key=lambda i: (shares[i], -i))
                shares[donor] -= 1
                shares[index] += 1
    return shares
