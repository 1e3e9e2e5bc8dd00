"""Goodput: is one finished turn *good*, i.e. ok and within every SLO?

Rules (docs/metrics.md, "Goodput", defines them for users):
- Only ok turns can be good; the recorder judges every completed steady
  turn (ok or failed; warm-up and interrupted turns are not judged).
- The figures an SLO names (config/_slo.py): `latency`, `ttfb`, `ttft` of
  the turn; `tpot`; `itl_p50`/`itl_p90`/`itl_p99`/`itl_max`, percentiles
  of this turn's own per-token gaps (a chunk of k tokens gives its gap
  once and k - 1 zero gaps, as everywhere), nearest rank.
- Open loop (the turn has a schedule lag): `latency`, `ttfb` and `ttft`
  are judged **corrected**, from the turn's intended start (measured +
  lag): a user who arrived on schedule waited that long.
- A figure the turn does not have fails its SLO when it is a time from the
  start (`ttft` of a non-streamed turn); the gap figures (`tpot`, `itl_*`)
  of a turn with no gap (one token, or not streamed) are met: there is no
  gap to be late, as `vllm bench serve` counts TPOT 0 for one token.
- Cost: a few comparisons per turn; sorting the turn's gaps only when an
  `itl_p*` SLO is set.

Pure; no I/O.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loadtest.metrics._turn import TurnRecord

__all__ = ["SloLike", "is_good", "turn_gap_percentile_us"]


class SloLike(Protocol):
    """One per-turn limit (`loadtest.config.Slo`)."""

    @property
    def metric(self) -> str: ...
    @property
    def limit_us(self) -> int: ...


_PERCENTILES = {"itl_p50": 50.0, "itl_p90": 90.0, "itl_p99": 99.0}


def turn_gap_percentile_us(turn: TurnRecord, percentile: float) -> int | None:
    """Nearest-rank percentile of the turn's per-token gaps (None: no gap)."""
    gaps = turn.itl_gaps_us
    count = len(gaps) + turn.itl_zeros
    if not count:
        return None
    rank = max(math.ceil(percentile / 100 * count), 1)
    if rank <= turn.itl_zeros:
        return 0
    return sorted(gaps)[rank - turn.itl_zeros - 1]


def _figure_us(turn: TurnRecord, metric: str) -> int | None:
    lag_us = turn.lag_us or 0
    if metric == "latency":
        return None if turn.latency_us is None else turn.latency_us + lag_us
    if metric == "ttft":
        return None if turn.ttft_us is None else turn.ttft_us + lag_us
    if metric == "ttfb":
        return None if turn.ttfb_us is None else turn.ttfb_us + lag_us
    if metric == "tpot":
        return turn.tpot_us if turn.tpot_us is not None else 0
    if metric == "itl_max":
        return max(turn.itl_gaps_us, default=0)
    value = turn_gap_percentile_us(turn, _PERCENTILES[metric])
    return 0 if value is None else value


def is_good(slos: Sequence[SloLike], turn: TurnRecord) -> bool:
    """True when the turn is ok and meets every SLO (see the module rules)."""
    if turn.outcome != "ok":
        return False
    for slo in slos:
        value = _figure_us(turn, slo.metric)
        if value is None or value > slo.limit_us:
            return False
    return True
