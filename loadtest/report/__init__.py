"""Reports: the summary document and its renderings (all pure).

`build_summary(plan, snapshots, info)` gives the versioned summary document
(`loadtest.summary/1`, histograms embedded); `render_text(summary)` the
human report. Importing this package imports neither trio nor httpcore.
"""

from __future__ import annotations

from loadtest.report._schema import CSV_COLUMNS, PERCENTILES, SCHEMA, SUMMARY_METRICS
from loadtest.report._summary import (
    RunInfo,
    build_summary,
    metric_json,
    stats_from_json,
    stats_json,
)
from loadtest.report._text import fmt_ms, render_text

__all__ = [
    "CSV_COLUMNS",
    "PERCENTILES",
    "SCHEMA",
    "SUMMARY_METRICS",
    "RunInfo",
    "build_summary",
    "fmt_ms",
    "metric_json",
    "render_text",
    "stats_from_json",
    "stats_json",
]
