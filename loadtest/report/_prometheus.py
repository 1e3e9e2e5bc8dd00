"""The Prometheus text exposition (`metrics-<ts>.prom`) of a summary document.

For node_exporter's textfile collector or a Pushgateway. Rules:
- Format 0.0.4: each family once, `# HELP` and `# TYPE` before its samples;
  label values escaped (`\\`, `"`, newline) and help text escaped (`\\`,
  newline); no timestamps (the textfile collector refuses them).
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
from collections.abc import Mapping
from typing import Any

from loadtest.report._schema import (
    PERCENTILES,
    PROM_LATENCY,
    PROM_RUN,
    PROM_STAGE,
    PROM_STATS,
    PROM_THRESHOLD,
    PromFamily,
)

__all__ = ["render_prometheus", "run_stamp"]

Doc = Mapping[str, Any]
Labels = Mapping[str, str]

_FAMILIES: tuple[PromFamily, ...] = (
    *PROM_STAGE.values(),
    *PROM_STATS.values(),
    *PROM_LATENCY.values(),
    *PROM_RUN.values(),
    PROM_THRESHOLD,
)
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


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(number: float) -> str:
    return str(number) if isinstance(number, int) else repr(float(number))


class _Samples:
    """Sample lines grouped by family, written out in `_FAMILIES` order."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add(self, name: str, labels: Labels, value: float, family: PromFamily) -> None:
        text = ",".join(f'{key}="{_escape_label(v)}"' for key, v in labels.items())
        self._lines.setdefault(family.name, []).append(f"{name}{{{text}}} {_value(value)}")

    def render(self) -> str:
        out: list[str] = []
        for family in _FAMILIES:
            lines = self._lines.get(family.name)
            if lines:
                out.append(f"# HELP {family.name} {_escape_help(family.help)}")
                out.append(f"# TYPE {family.name} {family.type}")
                out.extend(lines)
        return "\n".join(out) + "\n"


def _add(samples: _Samples, key: str, labels: Labels, value: float) -> None:
    family = PROM_STATS[key]
    samples.add(family.name, labels, value, family)


def _stats_samples(samples: _Samples, stats: Doc, labels: Labels) -> None:
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
    for key, family in PROM_LATENCY.items():
        _latency_samples(samples, family, stats[key], labels)


def _latency_samples(samples: _Samples, family: PromFamily, metric: Doc, labels: Labels) -> None:
    count = metric["count"]
    if not count:
        return
    for percentile, key in PERCENTILES.items():
        quantile = f"{percentile / 100:g}"
        samples.add(family.name, {**labels, "quantile": quantile}, _seconds(metric[key]), family)
    samples.add(f"{family.name}_sum", labels, round(metric["mean"] * count / 1000, 6), family)
    samples.add(f"{family.name}_count", labels, count, family)


def _seconds(value_ms: float) -> float:
    return round(value_ms / 1000, 9)


def _stage_samples(samples: _Samples, stage: Doc, labels: Labels) -> None:
    for key, family in PROM_STAGE.items():
        if stage[key] is not None:
            samples.add(family.name, labels, stage[key], family)
    for stats in (*stage["scenarios"], stage["total"]):
        _stats_samples(samples, stats, {**labels, "scenario": stats["label"]})


def render_prometheus(summary: Doc) -> str:
    """Every metric of a summary document in the text exposition format."""
    run = summary["run"]
    base = {"run": run_stamp(run), "profile": str(run["profile"])}
    samples = _Samples()
    for stage in summary["stages"]:
        labels = {**base, "stage": str(stage["index"] + 1), "mode": stage["mode"]}
        _stage_samples(samples, stage, labels)
    for key, family in PROM_RUN.items():
        samples.add(family.name, base, run.get(key, 0), family)
    for result in summary.get("thresholds", []):
        labels = {
            **base,
            "stage": str(result["stage"] + 1),
            "scope": result["scope"],
            "threshold": result["name"],
        }
        samples.add(PROM_THRESHOLD.name, labels, int(result["passed"]), PROM_THRESHOLD)
    return samples.render()
