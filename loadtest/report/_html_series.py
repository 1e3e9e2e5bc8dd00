"""Charts over time and over percentiles, for the HTML pages.

Rules:
- The time series charts put every stage's buckets on one axis: seconds
  since the run's first bucket. A second two stages share (the last turns
  of one end as the next starts) shows their sum for counters and the
  percentiles of their merged histograms (exact, as `merge` does); a
  second no stage covers is a gap.
- Each stage's start is a vertical mark; its warm-up (from its start, for
  `warmup_s`) is a shaded band.
- Percentile distributions come from the HDR histograms (decoded), one
  series per stage; an open stage adds its corrected figures (from the
  intended start), dashed in the same colour.

Pure; no I/O.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.metrics import Histogram
from loadtest.report._html_model import (
    Band,
    Chart,
    Mark,
    Series,
    distribution_ms,
    percentile_chart,
)

__all__ = ["distribution_charts", "stage_bands", "stage_start_s", "timeseries_charts"]

Doc = Mapping[str, Any]

#: Per-second percentiles shown on the latency-type charts.
_SECOND_PERCENTILES = ("p50", "p90", "p99")


def stage_start_s(stage: Doc) -> float:
    """A stage's start, Unix seconds."""
    return datetime.datetime.fromisoformat(stage["started_at"]).timestamp()


def _merged_second(buckets: Sequence[Doc], metric: str) -> dict[str, float | None]:
    """One second's p50/p90/p99 (ms) of `metric` over `buckets`."""
    if len(buckets) == 1:
        doc = buckets[0][f"{metric}_ms"]
        return {p: doc[p] for p in _SECOND_PERCENTILES}
    parts = [_hist(bucket, metric) for bucket in buckets]
    hists = [h for h in parts if h is not None]
    if not hists:
        return dict.fromkeys(_SECOND_PERCENTILES)
    hist = hists[0]
    for other in hists[1:]:
        hist.merge(other)
    values = hist.percentiles([50.0, 90.0, 99.0])
    return {p: values[float(p[1:])] / 1000 for p in _SECOND_PERCENTILES}


def _by_second(stages: Sequence[Doc]) -> dict[int, list[Doc]]:
    seconds: dict[int, list[Doc]] = {}
    for stage in stages:
        for bucket in stage.get("timeseries") or ():
            seconds.setdefault(bucket["t"], []).append(bucket)
    return seconds


def _sum(buckets: Sequence[Doc] | None, key: str) -> float | None:
    if buckets is None:
        return None
    return float(sum(b[key] for b in buckets))


def _errors(buckets: Sequence[Doc] | None) -> float | None:
    if buckets is None:
        return None
    return float(sum(sum(b["errors"].values()) for b in buckets))


def stage_bands(
    stages: Sequence[Doc], origin_s: float
) -> tuple[tuple[Band, ...], tuple[Mark, ...]]:
    """Each stage's warm-up as a band and its start as a mark, in seconds
    since `origin_s`."""
    bands = tuple(
        Band(
            start=stage_start_s(s) - origin_s,
            end=stage_start_s(s) - origin_s + s["warmup_s"],
            label=f"stage {s['index'] + 1} warm-up",
        )
        for s in stages
        if s["warmup_s"] > 0
    )
    marks = tuple(
        Mark(x=stage_start_s(s) - origin_s, label=f"stage {s['index'] + 1}") for s in stages
    )
    return bands, marks


def timeseries_charts(stages: Sequence[Doc]) -> tuple[Chart, ...]:
    """Throughput and errors, latency, TTFT, ITL and in flight per second
    (a chart with no value at all is left out); empty without buckets."""
    seconds = _by_second(stages)
    if not seconds:
        return ()
    first, last = min(seconds), max(seconds)
    slots = [seconds.get(t) for t in range(first, last + 1)]
    xs = tuple(float(t - first) for t in range(first, last + 1))
    bands, marks = stage_bands(stages, first)
    common: dict[str, Any] = {
        "x_kind": "seconds",
        "x_label": "time since the first turn (s)",
        "xs": xs,
        "bands": bands,
        "marks": marks,
    }
    charts = [
        Chart(
            id="ts-throughput",
            title="Throughput and errors per second",
            y_label="turns per second",
            series=(
                Series(label="started", values=tuple(_sum(b, "started") for b in slots), color=7),
                Series(
                    label="completed", values=tuple(_sum(b, "requests") for b in slots), color=0
                ),
                Series(label="ok", values=tuple(_sum(b, "ok") for b in slots), color=2),
                Series(label="errors", values=tuple(_errors(b) for b in slots), color=3),
            ),
            note="Counted in the second a turn ended (started: the second it started); "
            "steady turns only, except started.",
            **common,
        )
    ]
    titles = {
        "latency": "Latency per second (ok turns)",
        "ttft": "Time to first token per second",
        "itl": "Inter-token latency per second",
    }
    for metric, title in titles.items():
        per_second = [_merged_second(b, metric) if b else None for b in slots]
        series = tuple(
            Series(
                label=p,
                values=tuple(None if s is None else s[p] for s in per_second),
                color=index,
            )
            for index, p in enumerate(_SECOND_PERCENTILES)
        )
        if any(v is not None for s in series for v in s.values):
            charts.append(
                Chart(id=f"ts-{metric}", title=title, y_label="ms", series=series, **common)
            )
    charts.append(
        Chart(
            id="ts-inflight",
            title="Turns in flight",
            y_label="turns in flight (end of second)",
            series=(
                Series(
                    label="in flight", values=tuple(_sum(b, "in_flight") for b in slots), color=4
                ),
            ),
            **common,
        )
    )
    return tuple(charts)


_DISTRIBUTIONS = (
    ("latency", "latency_corrected", "Latency distribution (ok turns)"),
    ("ttft", "ttft_corrected", "Time to first token distribution"),
    ("itl", None, "Inter-token latency distribution (per token)"),
)


def _hist(stats: Doc, name: str) -> Histogram | None:
    text = stats.get("histograms", {}).get(name)
    return Histogram.decode(text) if text else None


def distribution_charts(
    runs: Sequence[tuple[str, Sequence[Doc]]], *, id_prefix: str = "dist"
) -> tuple[Chart, ...]:
    """One chart per metric: a series per (run, stage) with a histogram,
    and the corrected one of open stages dashed; `runs` is (label prefix,
    stages) (a single run: an empty prefix). Metrics without any histogram
    are left out."""
    charts = []
    for metric, corrected, title in _DISTRIBUTIONS:
        series: list[Series] = []
        for run_index, (prefix, stages) in enumerate(runs):
            for stage in stages:
                color = run_index if len(runs) > 1 else stage["index"]
                name = f"{prefix}stage {stage['index'] + 1}"
                hist = _hist(stage["total"], metric)
                if hist is not None:
                    series.append(Series(label=name, values=distribution_ms(hist), color=color))
                fixed = _hist(stage["total"], corrected) if corrected else None
                if stage["mode"] == "open" and fixed is not None:
                    series.append(
                        Series(
                            label=f"{name} corrected",
                            values=distribution_ms(fixed),
                            color=color,
                            dash=True,
                        )
                    )
        if series:
            charts.append(
                percentile_chart(
                    id=f"{id_prefix}-{metric}",
                    title=title,
                    series=tuple(series),
                    note="From the HDR histograms of each stage's total. A tail point "
                    "needs enough values (the p99 needs 100), so short curves are small "
                    "samples. Dashed: open stages measured from the intended start "
                    "(corrected for coordinated omission).",
                )
            )
    return tuple(charts)
