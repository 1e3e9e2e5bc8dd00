"""Percentiles by explicit unit, read the same way from a frozen snapshot
(`StatsSnapshot`) and from the engine's live view of a running stage.

Rules:
- A class that has `histogram(metric) -> Histogram` gets `percentiles_us`,
  `percentiles_ms`, `percentile_us` and `percentile_ms` from this mixin.
- µs are the recorded integers; ms are µs / 1000; a metric with no value
  gives None for every percentile (never 0).

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from loadtest.metrics._histogram import Histogram
    from loadtest.metrics._snapshot import Metric

__all__ = ["ReadsPercentiles"]


class ReadsPercentiles:
    """Percentile accessors over the class's own `histogram(metric)`."""

    __slots__ = ()

    if TYPE_CHECKING:
        histogram: Callable[[Metric | str], Histogram]

    def percentiles_us(
        self, metric: Metric | str, percentiles: Sequence[float]
    ) -> dict[float, int | None]:
        """Each percentile of `metric` in µs, as recorded (None without a value)."""
        hist = self.histogram(metric)
        if hist.count == 0:
            return dict.fromkeys(percentiles)
        return dict(hist.percentiles(list(percentiles)))

    def percentiles_ms(
        self, metric: Metric | str, percentiles: Sequence[float]
    ) -> dict[float, float | None]:
        """Each percentile of `metric` in ms (None without a value)."""
        values = self.percentiles_us(metric, percentiles)
        return {p: None if v is None else v / 1000 for p, v in values.items()}

    def percentile_us(self, metric: Metric | str, percentile: float) -> int | None:
        """One percentile of `metric` in µs (None without a value)."""
        return self.percentiles_us(metric, [percentile])[percentile]

    def percentile_ms(self, metric: Metric | str, percentile: float) -> float | None:
        """One percentile of `metric` in ms (None without a value)."""
        return self.percentiles_ms(metric, [percentile])[percentile]
