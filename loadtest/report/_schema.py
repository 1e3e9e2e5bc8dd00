"""Every output format's names, defined once, and the check of a summary read back.

- The summary document (`summary-<ts>.json`): its schema id, the names of
  its latency-type statistics and the percentiles each holds.
- The CSV columns of `report-<ts>.csv`.
- The Prometheus metric families of `metrics-<ts>.prom` and of the live
  endpoint (`--metrics-port`): name, type, help (the help states the unit;
  times are in seconds, the base unit). Both expose the same family under
  the same name; `PROM_LIVE` lists the families only the live endpoint has.
- `check_summary`: what a reader (`compare`, `merge`) needs from a summary
  before it trusts one read from disk.

Readers (`compare`, `merge`, `multi-service.py`, other tools) rely on these
names; changing one is a new schema version. Adding a CSV column at the end
of a group, or a new Prometheus family, is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import attrs

from loadtest.errors import ConfigError
from loadtest.report._document import MetricDoc, summary_problems

__all__ = [
    "CSV_COLUMNS",
    "PERCENTILES",
    "PERCENTILE_KEYS",
    "PROM_ENDED_BY",
    "PROM_FAMILIES",
    "PROM_HEALTH",
    "PROM_LATENCY",
    "PROM_LIVE",
    "PROM_LIVE_LATENCY",
    "PROM_RUN",
    "PROM_STAGE",
    "PROM_STATS",
    "PROM_THRESHOLD",
    "SCHEMA",
    "SUMMARY_METRICS",
    "PromFamily",
    "check_summary",
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
    "chunk_gap": "chunk_gap_ms",
    "stream_tail": "stream_tail_ms",
}


#: Percentile -> its key in a statistics object.
PERCENTILES: dict[float, str] = {
    50.0: "p50",
    90.0: "p90",
    95.0: "p95",
    99.0: "p99",
    99.9: "p999",
}
#: The keys of a latency-type statistic, in order (`MetricDoc`'s fields).
PERCENTILE_KEYS: tuple[str, ...] = tuple(attrs.fields_dict(MetricDoc))

#: One row per stage x scenario (and per stage total, scenario "total").
#: `stage` is 1-based (as in the text report); times in ms; `error_rate` a
#: fraction; `errors` and `status_codes` are `name=count;name=count`.
CSV_COLUMNS: tuple[str, ...] = (
    "run_started",
    "profile",
    "stage",
    "mode",
    "concurrency",
    "rate",
    "duration_s",
    "warmup_s",
    "steady_s",
    "stopped_early",
    "scenario",
    "requests",
    "ok",
    "failed",
    "interrupted",
    "warmup_turns",
    "dropped",
    "unanswered",
    "error_rate",
    "throughput_rps",
    "ok_rps",
    "output_tokens_per_s",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "estimated_turns",
    "retries",
    *(f"latency_{k}_ms" for k in ("p50", "p90", "p95", "p99", "p999", "max", "mean")),
    *(f"ttft_{k}_ms" for k in ("p50", "p95", "p99")),
    *(f"itl_{k}_ms" for k in ("p50", "p99")),
    "tpot_p50_ms",
    "ttfb_p50_ms",
    *(f"latency_corrected_{k}_ms" for k in ("p50", "p95", "p99")),
    *(f"ttft_corrected_{k}_ms" for k in ("p50", "p95", "p99")),
    "schedule_lag_p99_ms",
    "unanswered_wait_p50_ms",
    "unanswered_wait_max_ms",
    "status_codes",
    "errors",
    *(f"stream_tail_{k}_ms" for k in ("p50", "p95", "p99", "max")),
    *(f"chunk_gap_{k}_ms" for k in ("p50", "p99")),
    "goodput_judged",
    "goodput_good",
    "goodput",
    "goodput_rps",
    "ramp_to",
    "stage_requests",
    "ended_by",
)


class PromFamily(NamedTuple):
    """One Prometheus metric family: exposed name, type and help text."""

    name: str
    type: str
    help: str


#: Families with one sample per stage x scenario (and stage total), keyed by
#: what they are read from. Labels: run, profile, stage, mode, scenario
#: (+ `kind`, `error_class`, `code` or `histogram` where named).
PROM_STATS: dict[str, PromFamily] = {
    "requests": PromFamily(
        "loadtest_requests_total", "counter", "Completed steady turns (ok and failed)."
    ),
    "ok": PromFamily("loadtest_ok_total", "counter", "Steady turns that succeeded."),
    "failed": PromFamily("loadtest_failed_total", "counter", "Steady turns that failed."),
    "interrupted": PromFamily(
        "loadtest_interrupted_total", "counter", "Steady turns cut off by the end of the stage."
    ),
    "warmup_turns": PromFamily(
        "loadtest_warmup_turns_total", "counter", "Turns started during warm-up (not measured)."
    ),
    "dropped": PromFamily(
        "loadtest_dropped_total", "counter", "Open-loop arrivals dropped at max_in_flight."
    ),
    "unanswered": PromFamily(
        "loadtest_unanswered_total",
        "counter",
        "Turns (warm-up included) cut off by the stage end with no response byte.",
    ),
    "estimated_turns": PromFamily(
        "loadtest_estimated_turns_total", "counter", "Ok turns whose tokens were estimated."
    ),
    "retries": PromFamily(
        "loadtest_retries_total",
        "counter",
        "Requests resent because their write failed on a reused connection.",
    ),
    "tokens": PromFamily(
        "loadtest_tokens_total", "counter", "Tokens of ok steady turns, by kind (server usage)."
    ),
    "errors": PromFamily(
        "loadtest_errors_total", "counter", "Failed steady turns (and dropped arrivals) by class."
    ),
    "status_codes": PromFamily(
        "loadtest_http_responses_total", "counter", "Steady turns by HTTP status code."
    ),
    "overflow": PromFamily(
        "loadtest_histogram_overflow_total", "counter", "Values outside a histogram's range."
    ),
    "throughput_rps": PromFamily(
        "loadtest_throughput_requests_per_second",
        "gauge",
        "Completed steady turns per second of the steady window (none if it is empty).",
    ),
    "ok_rps": PromFamily(
        "loadtest_ok_requests_per_second",
        "gauge",
        "Successful steady turns per second of the steady window.",
    ),
    "output_tokens_per_s": PromFamily(
        "loadtest_output_tokens_per_second",
        "gauge",
        "Completion tokens of ok steady turns per second of the steady window.",
    ),
    "error_rate": PromFamily(
        "loadtest_error_ratio",
        "gauge",
        "Failed share of completed steady turns (0 to 1; no sample when none completed).",
    ),
    "goodput_judged": PromFamily(
        "loadtest_goodput_judged_total",
        "counter",
        "Completed steady turns judged against the run's SLOs.",
    ),
    "goodput_good": PromFamily(
        "loadtest_goodput_good_total", "counter", "Ok steady turns that met every SLO."
    ),
    "goodput": PromFamily(
        "loadtest_goodput_ratio",
        "gauge",
        "Good share of judged turns (0 to 1; no sample when none was judged).",
    ),
    "goodput_rps": PromFamily(
        "loadtest_good_requests_per_second",
        "gauge",
        "Good steady turns per second of the steady window.",
    ),
}

#: Latency-type statistics (their summary key) -> a `summary` family in seconds.
PROM_LATENCY: dict[str, PromFamily] = {
    key: PromFamily(
        f"loadtest_{key.removesuffix('_ms')}_seconds",
        "summary",
        f"{text}, seconds (HDR histogram quantiles; _sum is mean x count).",
    )
    for key, text in (
        ("latency_ms", "Turn latency of ok turns, measured from the actual send"),
        ("ttfb_ms", "Time to first response byte of ok turns"),
        ("ttft_ms", "Time to first content token of ok streamed turns"),
        ("itl_ms", "Inter-token latency, one value per token after the first"),
        ("tpot_ms", "Time per output token of ok streamed turns"),
        ("schedule_lag_ms", "Open loop: actual start minus intended start of steady turns"),
        ("latency_corrected_ms", "Open loop: latency measured from the intended start"),
        ("ttft_corrected_ms", "Open loop: TTFT measured from the intended start"),
        ("chunk_gap_ms", "Gap between content chunks of ok streamed turns, one per chunk"),
        ("stream_tail_ms", "Last content token to the end of the stream, ok streamed turns"),
    )
}

#: Stage-level gauges (labels run, profile, stage, mode), keyed by stage field.
PROM_STAGE: dict[str, PromFamily] = {
    "duration_s": PromFamily("loadtest_stage_duration_seconds", "gauge", "Planned stage length."),
    "steady_s": PromFamily(
        "loadtest_stage_steady_seconds", "gauge", "Steady window that rates are computed over."
    ),
    "concurrency": PromFamily(
        "loadtest_stage_virtual_users", "gauge", "Closed loop: virtual users of the stage."
    ),
    "rate": PromFamily(
        "loadtest_stage_arrival_rate_per_second",
        "gauge",
        "Open loop: planned conversation starts per second.",
    ),
    "ramp_to": PromFamily(
        "loadtest_stage_ramp_to",
        "gauge",
        "A ramp's end: virtual users (closed loop) or starts per second (open loop).",
    ),
    "requests": PromFamily(
        "loadtest_stage_planned_requests", "gauge", "A stage that stops after this many requests."
    ),
}

#: A finished stage's `ended_by`, as a sample of 1 labelled `reason`.
PROM_ENDED_BY = PromFamily(
    "loadtest_stage_ended_by",
    "gauge",
    "Why a finished stage ended (label reason: duration, requests, run-requests, stopped).",
)

#: Run-level counters (labels run, profile), keyed by `run` field.
PROM_RUN: dict[str, PromFamily] = {
    "jsonl_lines": PromFamily(
        "loadtest_jsonl_lines_total", "counter", "JSONL lines written (one per turn)."
    ),
    "sink_overflow": PromFamily(
        "loadtest_jsonl_dropped_lines_total", "counter", "JSONL lines dropped (buffer full)."
    ),
    "jsonl_lost_lines": PromFamily(
        "loadtest_jsonl_lost_lines_total",
        "counter",
        "JSONL lines not written because the file failed (a full disk).",
    ),
}

#: One sample per threshold result: 1 passed, 0 failed.
PROM_THRESHOLD = PromFamily(
    "loadtest_threshold_passed",
    "gauge",
    "1 if the threshold held in the stage, 0 if it failed (labels scope, threshold).",
)


#: Generator health gauges per stage (labels run, profile, stage, mode), keyed
#: by the stage's health figure they are read from.
PROM_HEALTH: dict[str, PromFamily] = {
    "cpu_share": PromFamily(
        "loadtest_generator_cpu_ratio",
        "gauge",
        "The generator's CPU time / wall time of the stage (1 = one core busy).",
    ),
    "loop_lag_p99_ms": PromFamily(
        "loadtest_loop_lag_p99_seconds", "gauge", "Event-loop lag p99 of the stage, seconds."
    ),
    "loop_lag_max_ms": PromFamily(
        "loadtest_loop_lag_max_seconds", "gauge", "Event-loop lag maximum of the stage, seconds."
    ),
}

#: Families only the live endpoint has (keyed by what they show).
PROM_LIVE: dict[str, PromFamily] = {
    "current_stage": PromFamily(
        "loadtest_current_stage",
        "gauge",
        "Number of the running stage (1-based); 0 between stages (labels run, profile).",
    ),
    "in_flight": PromFamily(
        "loadtest_in_flight", "gauge", "Turns in flight now (0 once the stage has ended)."
    ),
    "elapsed_s": PromFamily(
        "loadtest_stage_elapsed_seconds", "gauge", "Time since the stage started, seconds."
    ),
}

#: The latency-type families the live endpoint keeps per stage x scenario
#: (the file has every one of `PROM_LATENCY`).
PROM_LIVE_LATENCY: tuple[str, ...] = ("latency_ms", "ttft_ms", "itl_ms")

#: Every family, in the order an exposition lists them.
PROM_FAMILIES: tuple[PromFamily, ...] = (
    *PROM_LIVE.values(),
    *PROM_STAGE.values(),
    PROM_ENDED_BY,
    *PROM_HEALTH.values(),
    *PROM_STATS.values(),
    *PROM_LATENCY.values(),
    *PROM_RUN.values(),
    PROM_THRESHOLD,
)


# -- reading a summary back --------------------------------------------------

_MAX_PROBLEMS = 10


def check_summary(doc: object) -> None:
    """Raise ConfigError (one line per problem, at most 10, each naming its
    `$` path) unless `doc` is a summary of this schema holding every key
    `compare` and `merge` read, with values of the right types."""
    if not isinstance(doc, Mapping):
        raise ConfigError("expected a summary document (a JSON object)")
    if doc.get("schema") != SCHEMA:
        raise ConfigError(f"$.schema: expected {SCHEMA!r}, got {doc.get('schema')!r:.60}")
    problems = summary_problems(doc)
    if len(problems) > _MAX_PROBLEMS:
        more = len(problems) - _MAX_PROBLEMS
        problems = [*problems[:_MAX_PROBLEMS], f"... and {more} more"]
    if problems:
        raise ConfigError(problems)
