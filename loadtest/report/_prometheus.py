"""The Prometheus text exposition (`metrics-<ts>.prom`) of a summary document.

For node_exporter's textfile collector or a Pushgateway. Rules:
- The format is written by `_exposition` (0.0.4, no timestamps), which the
  live endpoint shares; so do the samples of a stage and of a statistics
  object (`stage_samples`, `stats_samples`), so a family has one name, type
  and label set in the file and live.
- Names come from `_schema` (`loadtest_` prefix); times are seconds, the
  base unit; counters end in `_total`.
- Labels: `run` (the run's start stamp, `20261128T012345Z`, the `<ts>` of
  its files), `profile`, `stage` (1-based), `mode`, and `scenario` (`total`
  for the stage total) on per-scenario families.
- Latency-type statistics are `summary` families: quantiles 0.5 to 0.999
  from the HDR histograms, `_count` the histogram's count and `_sum` its
  mean x count. An empty histogram (a non-streamed scenario's TTFT, a closed
  stage's schedule lag) has no samples rather than NaN ones.
- Built from the summary only (no header values), so no secret can leak.

Pure: summary dict in, text out.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from loadtest.report._exposition import Exposition, Labels
from loadtest.report._schema import (
    PERCENTILES,
    PROM_ENDED_BY,
    PROM_HEALTH,
    PROM_LATENCY,
    PROM_RUN,
    PROM_STAGE,
    PROM_STATS,
    PROM_THRESHOLD,
    PromFamily,
)

__all__ = [
    "render_prometheus",
    "run_stamp",
    "stage_labels",
    "stage_samples",
    "stats_samples",
]

Doc = Mapping[str, Any]
_COUNTERS = ("requests", "ok", "failed", "interrupted", "warmup_turns", "dropped")
_GAUGES = ("throughput_rps", "ok_rps", "output_tokens_per_s", "error_rate")
_LABELLED = (  # (stats key, family key, label name)
    ("errors", "errors", "error_class"),
    ("status_codes", "status_codes", "code"),
    ("overflow", "overflow", "histogram"),
)
#: Goodput family key -> its key in a statistics object's `goodput` (runs with SLOs).
_GOODPUT = {
    "goodput_judged": "judged",
    "goodput_good": "good",
    "goodput": "share",
    "goodput_rps": "good_per_s",
}
_TOKENS = {"prompt": "prompt_tokens", "completion": "completion_tokens", "cached": "cached_tokens"}


def run_stamp(run: Doc) -> str:
    """The run's start as in its file names (`20261128T012345Z`, UTC)."""
    started = datetime.datetime.fromtimestamp(run["started_unix_s"], tz=datetime.UTC)
    return started.strftime("%Y%m%dT%H%M%SZ")


def _add(samples: Exposition, key: str, labels: Labels, value: float) -> None:
    samples.add(PROM_STATS[key], labels, value)


def stats_samples(
    samples: Exposition, stats: Doc, labels: Labels, latency: Iterable[str] = PROM_LATENCY
) -> None:
    """The samples of one statistics object (a summary's, or one shaped like
    it): counters, rates (a None rate has no sample), and the `latency`
    statistics (keys of `PROM_LATENCY`)."""
    for key in (*_COUNTERS, *_GAUGES):
        if stats[key] is not None:  # a rate of nothing has no sample, never NaN or 0
            _add(samples, key, labels, stats[key])
    _add(samples, "unanswered", labels, stats.get("unanswered", 0))
    _add(samples, "estimated_turns", labels, stats["estimated_turns"])
    _add(samples, "retries", labels, stats.get("retries", 0))
    for kind, key in _TOKENS.items():
        _add(samples, "tokens", {**labels, "kind": kind}, stats[key])
    for source, family_key, label in _LABELLED:
        for name, count in stats.get(source, {}).items():
            _add(samples, family_key, {**labels, label: str(name)}, count)
    goodput = stats.get("goodput") or {}
    for key, source in _GOODPUT.items():
        if goodput.get(source) is not None:
            _add(samples, key, labels, goodput[source])
    for key in latency:
        _latency_samples(samples, PROM_LATENCY[key], stats[key], labels)


def _latency_samples(samples: Exposition, family: PromFamily, metric: Doc, labels: Labels) -> None:
    count = metric["count"]
    if not count:
        return
    for percentile, key in PERCENTILES.items():
        quantile = f"{percentile / 100:g}"
        samples.add(family, {**labels, "quantile": quantile}, _seconds(metric[key]))
    samples.add(family, labels, round(metric["mean"] * count / 1000, 6), "_sum")
    samples.add(family, labels, count, "_count")


def _seconds(value_ms: float) -> float:
    return round(value_ms / 1000, 9)


def stage_samples(
    samples: Exposition, stage: Doc, labels: Labels, latency: Iterable[str] = PROM_LATENCY
) -> None:
    """The samples of one stage (a summary's, or one shaped like it): its
    load, its generator health figures (when it has them), and every
    statistics object, labelled by `scenario`."""
    for key, family in PROM_STAGE.items():
        if stage.get(key) is not None:
            samples.add(family, labels, stage[key])
    if stage.get("ended_by"):
        samples.add(PROM_ENDED_BY, {**labels, "reason": stage["ended_by"]}, 1)
    figures = stage.get("health", {}).get("figures", {})
    for key, family in PROM_HEALTH.items():
        if key in figures:
            value = figures[key] if key == "cpu_share" else _seconds(figures[key])
            samples.add(family, labels, value)
    for stats in (*stage["scenarios"], stage["total"]):
        stats_samples(samples, stats, {**labels, "scenario": stats["label"]}, latency)


def stage_labels(base: Labels, index: int, mode: str) -> dict[str, str]:
    """The labels of a stage's samples: `base` (run, profile), the 1-based
    stage number and its mode."""
    return {**base, "stage": str(index + 1), "mode": mode}


def render_prometheus(summary: Doc) -> str:
    """Every metric of a summary document in the text exposition format."""
    run = summary["run"]
    base = {"run": run_stamp(run), "profile": str(run["profile"])}
    samples = Exposition()
    for stage in summary["stages"]:
        stage_samples(samples, stage, stage_labels(base, stage["index"], stage["mode"]))
    for key, family in PROM_RUN.items():
        samples.add(family, base, run.get(key, 0))
    for result in summary.get("thresholds", []):
        labels = {
            **base,
            "stage": str(result["stage"] + 1),
            "scope": result["scope"],
            "threshold": result["name"],
        }
        samples.add(PROM_THRESHOLD, labels, int(result["passed"]))
    return samples.render()
