"""The samples the live endpoint (`--metrics-port`) serves for one stage.

Rules:
- A stage, running or finished, is shaped as the summary's stage is and
  goes through the same sample builders as `metrics-<ts>.prom`
  (`stage_samples`): a family has one name, type and label set live and in
  the file. `run` is the stamp of the engine's start (`run_stamp`), the
  value the file gets from the summary.
- Live, a stage has its counters, its load, its generator health figures,
  its elapsed time and turns in flight, and the `PROM_LIVE_LATENCY`
  summaries (latency, TTFT, ITL: quantiles over the stage so far); the
  per-window rates, which need the stage's end, are the file's only (use
  `rate()` on the counters).
- A finished stage's samples are built once (`stage_exposition`) and kept;
  only the running stage is built again on each scrape.

Pure: statistics in, samples out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from loadtest.metrics import HealthFigures, StatsSnapshot, merge_stats
from loadtest.report._exposition import Exposition, Labels
from loadtest.report._prometheus import stage_labels, stage_samples
from loadtest.report._schema import PROM_LIVE, PROM_LIVE_LATENCY, SUMMARY_METRICS
from loadtest.report._summary import metric_json
from loadtest.taxonomy import GEN_DROPPED

__all__ = ["LIVE_HISTOGRAMS", "LiveStage", "render_live", "stage_exposition"]

#: The histograms (`Metric` names) a live stage's statistics need.
LIVE_HISTOGRAMS: tuple[str, ...] = tuple(
    name for name, key in SUMMARY_METRICS.items() if key in PROM_LIVE_LATENCY
)


@attrs.frozen
class LiveStage:
    """One stage as the live endpoint shows it, running or finished.

    `scenarios` hold the counters and at least the `LIVE_HISTOGRAMS`;
    `health` the generator's figures so far (None before it has any)."""

    index: int
    mode: str
    duration_s: float
    concurrency: int | None
    rate: float | None
    scenarios: Sequence[StatsSnapshot]
    elapsed_s: float
    in_flight: int
    health: HealthFigures | None = None


def _stats(stats: StatsSnapshot) -> dict[str, Any]:
    """A statistics object shaped as the summary's, with what is known live."""
    errors = dict(sorted(stats.errors.items()))
    if stats.dropped:
        errors[GEN_DROPPED.value] = stats.dropped
    hists = {name: stats.histogram(name) for name in LIVE_HISTOGRAMS}
    return {
        "label": stats.label,
        "requests": stats.requests,
        "ok": stats.ok,
        "failed": stats.failed,
        "interrupted": stats.interrupted,
        "warmup_turns": stats.warmup_turns,
        "dropped": stats.dropped,
        "unanswered": stats.unanswered,
        "estimated_turns": stats.estimated_turns,
        "retries": stats.retries,
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "cached_tokens": stats.cached_tokens,
        "throughput_rps": None,
        "ok_rps": None,
        "output_tokens_per_s": None,
        "error_rate": None,
        "errors": errors,
        "status_codes": {str(code): n for code, n in sorted(stats.status_codes.items())},
        "overflow": {name: h.overflow for name, h in hists.items() if h.overflow},
        **{SUMMARY_METRICS[name]: metric_json(h) for name, h in hists.items()},
    }


def stage_exposition(stage: LiveStage, base: Labels) -> Exposition:
    """Every sample of one stage; `base` holds the `run` and `profile` labels."""
    total = merge_stats(
        "total",
        (
            attrs.evolve(s, histograms={n: s.histogram(n) for n in LIVE_HISTOGRAMS})
            for s in stage.scenarios
        ),
    )
    doc = {
        "duration_s": stage.duration_s,
        "concurrency": stage.concurrency,
        "rate": stage.rate,
        "health": {"figures": attrs.asdict(stage.health)} if stage.health else {},
        "scenarios": [_stats(s) for s in stage.scenarios],
        "total": _stats(total),
    }
    labels = stage_labels(base, stage.index, stage.mode)
    samples = Exposition()
    samples.add(PROM_LIVE["elapsed_s"], labels, round(stage.elapsed_s, 3))
    samples.add(PROM_LIVE["in_flight"], labels, stage.in_flight)
    stage_samples(samples, doc, labels, PROM_LIVE_LATENCY)
    return samples


def render_live(stages: Sequence[Exposition], base: Labels, current: int | None) -> str:
    """The live exposition: every stage's samples (`stage_exposition`) and
    the running stage's number (`current`, its 0-based index; None between
    stages)."""
    samples = Exposition()
    samples.add(PROM_LIVE["current_stage"], base, 0 if current is None else current + 1)
    for stage in stages:
        samples.extend(stage)
    return samples.render()
