"""Reports: the summary document and its renderings (all pure).

`build_summary(plan, result)` gives the complete, versioned summary document
(`loadtest.summary/1`, histograms embedded, threshold verdicts included);
`render_text`, `render_csv`, `render_prometheus` and `render_html` render
it (`render_page` draws any page model: compare, multi-service;
`render_live` and `stage_exposition` give the live endpoint's exposition of
a running engine, same names and format); `evaluate_thresholds` checks its
limits;
`compare_summaries`/`render_comparison` compare two runs; `merge_summaries`
merges the shards of one run; `check_summary` validates one read from disk;
`summary_schema` is its JSON Schema, generated from the document classes.
Importing this package imports neither trio nor httpcore; nothing here
reads or writes a file but the HTML page's own assets (see docs/reports.md).
"""

from __future__ import annotations

from loadtest.report._compare import (
    MIN_RISE_MS,
    MIN_SAMPLES,
    Comparison,
    Delta,
    ScopeComparison,
    compare_summaries,
    render_comparison,
)
from loadtest.report._csv import render_csv
from loadtest.report._exposition import CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE
from loadtest.report._exposition import Exposition
from loadtest.report._goodput_doc import GoodputDoc, KneeDoc, ProbeDoc, SweepDoc
from loadtest.report._html import render_html, render_page
from loadtest.report._html_compare import GatewayRun, compare_page, gateways_page
from loadtest.report._live_metrics import (
    LIVE_HISTOGRAMS,
    LiveStage,
    render_live,
    stage_exposition,
)
from loadtest.report._merge import merge_summaries
from loadtest.report._prometheus import render_prometheus, run_stamp
from loadtest.report._schema import (
    CSV_COLUMNS,
    PERCENTILES,
    SCHEMA,
    SUMMARY_METRICS,
    check_summary,
)
from loadtest.report._summary import (
    RunInfo,
    RunLike,
    build_summary,
    metric_json,
    run_info,
    stats_from_json,
    stats_json,
    sweep_json,
)
from loadtest.report._summary_schema import summary_schema
from loadtest.report._text import fmt_ms, render_text
from loadtest.report._thresholds import THRESHOLD_NAMES, evaluate_thresholds, thresholds_failed

__all__ = [
    "CSV_COLUMNS",
    "LIVE_HISTOGRAMS",
    "MIN_RISE_MS",
    "MIN_SAMPLES",
    "PERCENTILES",
    "PROMETHEUS_CONTENT_TYPE",
    "SCHEMA",
    "SUMMARY_METRICS",
    "THRESHOLD_NAMES",
    "Comparison",
    "Delta",
    "Exposition",
    "GatewayRun",
    "GoodputDoc",
    "KneeDoc",
    "LiveStage",
    "ProbeDoc",
    "RunInfo",
    "RunLike",
    "ScopeComparison",
    "SweepDoc",
    "build_summary",
    "check_summary",
    "compare_page",
    "compare_summaries",
    "evaluate_thresholds",
    "fmt_ms",
    "gateways_page",
    "merge_summaries",
    "metric_json",
    "render_comparison",
    "render_csv",
    "render_html",
    "render_live",
    "render_page",
    "render_prometheus",
    "render_text",
    "run_info",
    "run_stamp",
    "stage_exposition",
    "stats_from_json",
    "stats_json",
    "summary_schema",
    "sweep_json",
    "thresholds_failed",
]
