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
- Rate ramps (`rate` a to `rate_end` b over D seconds): the rate at t is
  a + (b - a)·t/D, so the arrivals expected by t are
  Λ(t) = a·t + (b - a)·t²/(2D). `constant` puts arrival k (k = 0, 1, ...)
  where Λ(t) = k: t_k = 2k / (a + sqrt(a² + 2(b - a)·k/D)) (the root that
  stays exact when b < a and when a = 0), so the stage has ceil(Λ(D))
  arrivals (Λ(D) = (a + b)·D/2 when that is whole, like a constant rate).
  `poisson` and `gamma` draw the unit-rate process's event times S_1,
  S_2, ... (gaps of mean 1 and the same shape) and put arrival k at
  Λ⁻¹(S_k) (the time-rescaling theorem), while S_k < Λ(D). A ramp whose
  ends are equal gives the constant-rate times for `constant`.
- Closed ramps (VUs from A to B over D seconds): the VUs running are the
  linear target A + (B - A)·t/D rounded to the nearest whole number (VU n,
  1-based, starts or stops as the target crosses n - 1/2). So ramping
  up, VUs 1..A start at 0 (with the start spread) and VU n > A starts at
  (n - A - 1/2)·D/(B - A); ramping down, VU n > B stops at
  (A - n + 1/2)·D/(A - B). The VUs at the start are split over scenarios
  as a constant stage's; each VU added goes to the scenario furthest below
  its exact share of the new count, and each VU removed comes from the
  scenario furthest above its exact share of the count left (ties to the
  earlier scenario when adding, the later when removing), so at every
  moment each scenario is within one VU of its share (`vu_plan`).
The schedule never looks at the server: the runner starts each arrival at
its intended time or drops it (never shifts it).
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

import attrs

from loadtest.config import split_by_weight

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator, Sequence

    from loadtest.config import Arrival

__all__ = [
    "ScenarioPicker",
    "VuSlot",
    "arrival_offsets",
    "ramp_arrival_time",
    "ramp_offsets",
    "vu_plan",
]


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


def ramp_arrival_time(expected: float, rate: float, rate_end: float, duration_s: float) -> float:
    """The time t at which a ramp from `rate` to `rate_end` over
    `duration_s` has `expected` arrivals expected (Λ(t) = expected)."""
    if expected <= 0:
        return 0.0
    root = math.sqrt(max(rate * rate + 2 * (rate_end - rate) * expected / duration_s, 0.0))
    return 2 * expected / (rate + root)


def ramp_offsets(
    rate: float,
    rate_end: float,
    duration_s: float,
    process: Arrival,
    rng: random.Random,
    burstiness: float = 1.0,
) -> Iterator[float]:
    """Intended start offsets of a rate ramp, in order (see the module rules)."""
    total = (rate + rate_end) / 2 * duration_s
    if process == "constant":
        k = 0
        while k < total:
            yield ramp_arrival_time(k, rate, rate_end, duration_s)
            k += 1
        return
    operational = 0.0
    while True:
        if process == "poisson":
            operational += rng.expovariate(1.0)
        else:
            operational += rng.gammavariate(burstiness, 1.0 / burstiness)
        if operational >= total:
            return
        yield ramp_arrival_time(operational, rate, rate_end, duration_s)


@attrs.frozen
class VuSlot:
    """One VU of a closed stage: its scenario, and when it starts and stops
    (seconds from the stage's start; `stop_s` None: at the stage's end)."""

    scenario: int
    start_s: float
    stop_s: float | None = None


def vu_plan(
    start: int,
    end: int,
    duration_s: float,
    weights: Sequence[float],
    spread_s: float = 0.0,
) -> list[VuSlot]:
    """Every VU of a closed stage that ramps from `start` to `end` VUs (equal
    for a constant stage), in VU order (see the module rules): the `start`
    VUs at the stage's start, by scenario, VU i of them starting
    i / start × `spread_s` in; then the ones a ramp up adds."""
    initial = split_by_weight(start, weights)
    spread_step_s = spread_s / max(start, 1)
    slots = [VuSlot(scenario, 0.0) for scenario, count in enumerate(initial) for _ in range(count)]
    slots = [attrs.evolve(slot, start_s=i * spread_step_s) for i, slot in enumerate(slots)]
    shares = [max(w, 0.0) / sum(max(w, 0.0) for w in weights) for w in weights]
    counts = list(initial)
    if end > start:
        step_s = duration_s / (end - start)
        for n in range(start + 1, end + 1):
            scenario = max(range(len(shares)), key=lambda i: (n * shares[i] - counts[i], -i))
            counts[scenario] += 1
            slots.append(VuSlot(scenario, (n - start - 0.5) * step_s))
    elif end < start:
        step_s = duration_s / (start - end)
        running: list[list[int]] = [[] for _ in shares]
        for index, slot in enumerate(slots):
            running[slot.scenario].append(index)
        for n in range(start, end, -1):
            scenario = max(range(len(shares)), key=lambda i: (counts[i] - (n - 1) * shares[i], i))
            counts[scenario] -= 1
            last = running[scenario].pop()
            slots[last] = attrs.evolve(slots[last], stop_s=(start - n + 0.5) * step_s)
    return slots


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
