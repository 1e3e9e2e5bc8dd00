"""Open-loop arrival plans: when each conversation is meant to start, and which
scenario it runs. A pure function of (rate, duration, process, burstiness, seed).

Rules:
- `constant`: arrival n is at n / rate seconds, for every n with n / rate
  below the duration, so a stage of R/s for D seconds has exactly R·D
  arrivals when R·D is whole (computed by multiplication, not by adding
  gaps, so there is no drift).
- `poisson`: gaps drawn from an exponential distribution of mean 1 / rate
  from the seeded RNG; the first arrival comes after the first gap.
- `gamma`: gaps drawn from a gamma distribution of shape k = burstiness and
  mean 1 / rate (scale 1 / (k·rate)), so the coefficient of variation of the
  gaps is 1 / sqrt(k): k = 1 is poisson in distribution, k < 1 burstier,
  k > 1 smoother. The first arrival comes after the first gap.
- Scenario picks are weighted draws from the same RNG, in arrival order.
The schedule never looks at the server: the runner starts each arrival at
its intended time or drops it (never shifts it).
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator, Sequence

    from loadtest.config import Arrival

__all__ = ["ScenarioPicker", "arrival_offsets"]


def arrival_offsets(
    rate: float,
    duration_s: float,
    process: Arrival,
    rng: random.Random,
    burstiness: float = 1.0,
) -> Iterator[float]:
    """Intended start offsets (seconds from the stage's start), in order;
    `burstiness` is read by `gamma` only."""
    if process == "constant":
        n = 0
        while n / rate < duration_s:
            yield n / rate
            n += 1
        return
    scale = 1.0 / (burstiness * rate)
    offset = 0.0
    while True:
        if process == "poisson":
            offset += rng.expovariate(rate)
        else:
            offset += rng.gammavariate(burstiness, scale)
        if offset >= duration_s:
            return
        yield offset


class ScenarioPicker:
    """Draws a scenario index by weight (weights need not sum to 1)."""

    def __init__(self, weights: Sequence[float]) -> None:
        total = 0.0
        self._cumulative: list[float] = []
        for weight in weights:
            total += max(weight, 0.0)
            self._cumulative.append(total)
        if total <= 0:
            raise ValueError("at least one weight must be above 0")
        self._total = total

    def pick(self, rng: random.Random) -> int:
        point = rng.random() * self._total
        return min(bisect.bisect_right(self._cumulative, point), len(self._cumulative) - 1)
