"""The live view of a running stage: what a progress line or a script reads.

Rules:
- A `LiveView` reads its stage as it is now: counts, turns in flight,
  elapsed time, any percentile of any metric (`Metric`), and the health
  verdict so far (CPU, loop lag and drops only; the full verdict comes
  with the frozen snapshot).
- Reading is sync and cheap enough for every 100 ms: counters are summed,
  and a percentile merges the scenarios' histograms of one metric (about a
  millisecond for a long stage). No read changes the stage.
- Percentiles are named by unit: `percentile_us` (integer microseconds, as
  recorded), `percentile_ms`; both are None while the metric has no value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest.metrics import (
    Health,
    HealthFigures,
    Histogram,
    LiveStats,
    Metric,
    ReadsPercentiles,
    StatsSnapshot,
    assess,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from loadtest.config import ClosedStage, OpenStage
    from loadtest.engine._stage import StageContext, StageStats

__all__ = ["LiveView"]


class LiveView(ReadsPercentiles):
    """The running stage now. Get it from `Engine.live` (None between stages)."""

    def __init__(self, ctx: StageContext) -> None:
        self._ctx = ctx

    @property
    def index(self) -> int:
        """The stage's number: its place in the plan, or the next free number
        for a stage given at run time."""
        return self._ctx.index

    @property
    def stage(self) -> ClosedStage | OpenStage:
        """The stage being run (closed or open)."""
        return self._ctx.stage

    @property
    def stats(self) -> StageStats:
        """Elapsed time, duration, turns and conversations in flight, arrivals, drops."""
        return self._ctx.statistics()

    @property
    def counts(self) -> LiveStats:
        """Turns so far, across scenarios: completed, ok, failed, interrupted,
        warm-up, dropped, completion tokens and errors by class."""
        return self._ctx.recorder.statistics()

    @property
    def in_flight(self) -> int:
        """Turns running now."""
        return self._ctx.in_flight

    @property
    def elapsed_s(self) -> float:
        return self._ctx.statistics().elapsed_s

    def scenario_stats(self, histograms: Iterable[Metric | str]) -> tuple[StatsSnapshot, ...]:
        """Each scenario so far: a copy of its counters and of the named
        histograms only (the others read as empty)."""
        return self._ctx.recorder.scenario_stats([Metric(name) for name in histograms])

    def histogram(self, metric: Metric | str) -> Histogram:
        """A copy of one metric's histogram so far, merged over scenarios
        (steady turns only, like the snapshot's)."""
        return self._ctx.recorder.live_histogram(Metric(metric))

    def health(self) -> Health:
        """The verdict so far and its reasons, from CPU share, loop lag and drops."""
        ctx = self._ctx
        lag_p99, lag_max = ctx.monitor.p99_and_max_ms() if ctx.monitor else (0.0, 0.0)
        figures = HealthFigures(
            cpu_share=ctx.cpu.share(),
            loop_lag_p99_ms=lag_p99,
            loop_lag_max_ms=lag_max,
            peak_in_flight=ctx.peak_in_flight,
            dropped=ctx.dropped,
        )
        return assess(figures)
