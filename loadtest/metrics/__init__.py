"""Metrics: turn records, HDR histograms, per-stage recording and snapshots.

`TurnRecord` is what the engine measures about one turn; a `StageRecorder`
tallies them (sync, lock-free, flat memory); `freeze()` gives the
`StageSnapshot` that reports read. Histograms hold integer microseconds and
encode in the standard compressed HDR format, so shards merge exactly.
Importing this package imports neither trio nor httpcore.
"""

from __future__ import annotations

from loadtest.metrics._goodput import SloLike, is_good, turn_gap_percentile_us
from loadtest.metrics._health import LIMITS, Health, HealthFigures, Verdict, assess, judge
from loadtest.metrics._histogram import (
    DEFAULT_HIGHEST_US,
    DEFAULT_SIGNIFICANT_FIGURES,
    MAX_HIGHEST_US,
    Histogram,
)
from loadtest.metrics._percentiles import ReadsPercentiles
from loadtest.metrics._recorder import LiveStats, StageRecorder
from loadtest.metrics._snapshot import (
    COUNTERS,
    HISTOGRAMS,
    EndedBy,
    Metric,
    StageSnapshot,
    StatsSnapshot,
    merge_stats,
)
from loadtest.metrics._timeseries import Second, SeriesRecorder, merge_series
from loadtest.metrics._turn import Outcome, Phases, TurnRecord

__all__ = [
    "COUNTERS",
    "DEFAULT_HIGHEST_US",
    "DEFAULT_SIGNIFICANT_FIGURES",
    "HISTOGRAMS",
    "LIMITS",
    "MAX_HIGHEST_US",
    "EndedBy",
    "Health",
    "HealthFigures",
    "Histogram",
    "LiveStats",
    "Metric",
    "Outcome",
    "Phases",
    "ReadsPercentiles",
    "Second",
    "SeriesRecorder",
    "SloLike",
    "StageRecorder",
    "StageSnapshot",
    "StatsSnapshot",
    "TurnRecord",
    "Verdict",
    "assess",
    "is_good",
    "judge",
    "merge_series",
    "merge_stats",
    "turn_gap_percentile_us",
]
