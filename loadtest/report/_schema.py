"""Every output format's names, defined once.

- The summary document (`summary-<ts>.json`): its schema id, the names of
  its latency-type statistics and the percentiles each holds.
- The CSV columns of `report-<ts>.csv`.
- The Prometheus metric names, types and units of `metrics-<ts>.prom`.

Readers (`compare`, `merge`, `multi-service.py`, other tools) rely on these
names; changing one is a new schema version.
"""

from __future__ import annotations

__all__ = [
    "CSV_COLUMNS",
    "PERCENTILES",
    "PERCENTILE_KEYS",
    "SCHEMA",
    "SUMMARY_METRICS",
]

SCHEMA = "loadtest.summary/1"

#: Histogram name -> the key of its statistics object in the summary.
SUMMARY_METRICS: dict[str, str] = {
    "latency": "latency_ms",
    "ttfb": "ttfb_ms",
    "ttft": "ttft_ms",
    "itl": "itl_ms",
    "tpot": "tpot_ms",
    "lag": "schedule_lag_ms",
    "latency_corrected": "latency_corrected_ms",
    "ttft_corrected": "ttft_corrected_ms",
}

#: Percentile -> its key in a statistics object.
PERCENTILES: dict[float, str] = {
    50.0: "p50",
    90.0: "p90",
    95.0: "p95",
    99.0: "p99",
    99.9: "p999",
}
PERCENTILE_KEYS = ("min", "mean", *PERCENTILES.values(), "max", "count")

#: One row per stage x scenario (and per stage total, scenario "total").
CSV_COLUMNS: tuple[str, ...] = (
    "run_started",
    "profile",
    "stage",
    "mode",
    "concurrency",
    "rate",
    "duration_s",
    "steady_s",
    "scenario",
    "requests",
    "ok",
    "failed",
    "interrupted",
    "warmup_turns",
    "dropped",
    "error_rate",
    "throughput_rps",
    "ok_rps",
    "output_tokens_per_s",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    *(f"latency_{k}_ms" for k in ("p50", "p90", "p95", "p99", "p999", "max", "mean")),
    *(f"ttft_{k}_ms" for k in ("p50", "p95", "p99")),
    *(f"itl_{k}_ms" for k in ("p50", "p99")),
    "tpot_p50_ms",
    "ttfb_p50_ms",
    *(f"latency_corrected_{k}_ms" for k in ("p50", "p95", "p99")),
    *(f"ttft_corrected_{k}_ms" for k in ("p50", "p95", "p99")),
    "schedule_lag_p99_ms",
    "errors",
)
