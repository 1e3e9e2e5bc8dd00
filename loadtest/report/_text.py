"""The human report (`report-<ts>.txt`): rendered from a summary document.

Layout, for a 100-column terminal:
1. the run's verdict first: thresholds and generator health, with reasons
   (report/_text_verdict.py);
2. the saturation table: one line per stage (load, rps, ok%, goodput when
   the run had SLOs, TTFT p50/p99, latency p99, generator health), the
   load -> throughput -> latency view (report/_text_stage.py, as 3.); a
   sweep's knee and probe table (report/_text_sweep.py) come before it;
3. per stage, tables of scenarios plus the stage total: throughput and
   latency percentiles; TTFT, ITL, TPOT, output tokens/s and errors; the
   chunk gap, the stream tail and the prompt cache's cached share (first
   turns and later turns apart); prompt and completion tokens per turn
   (p50/p90/p99, mean). Open stages add the
   coordinated-omission-corrected latency and TTFT (measured from each
   turn's intended start) and the schedule lag; a run with SLOs adds a
   goodput table. Metric names in headings
   are those of the definitions table in docs/metrics.md (`LEGEND`);
4. run totals (server-side and generator-side errors apart);
5. generator health per stage; 6. threshold verdicts (report/_text_verdict.py).
Closed-loop percentiles are service times (each VU waits for its answer).

Rules: cells follow `loadtest.report._cells` (a percentile from fewer than
`FEW_SAMPLES` values is marked and its block ends with `FEW_LEGEND`; a rate
or percentage with nothing behind it is `-`, never `0.0%`).

Pure: summary dict in, text out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.report._cells import (
    FEW_LEGEND,
    FEW_MARK,
    FEW_SAMPLES,
    errors_text,
    fmt_ms,
    wrap,
)
from loadtest.report._text_stage import LEGEND, _saturation_lines, _stage_lines
from loadtest.report._text_sweep import sweep_lines
from loadtest.report._text_verdict import _threshold_lines, verdict_lines
from loadtest.taxonomy import is_generator_class

__all__ = ["FEW_LEGEND", "FEW_SAMPLES", "LEGEND", "fmt_ms", "render_text", "verdict_lines"]

Doc = Mapping[str, Any]


def _totals_lines(stages: Sequence[Doc]) -> list[str]:
    requests = sum(s["total"]["requests"] for s in stages)
    ok = sum(s["total"]["ok"] for s in stages)
    interrupted = sum(s["total"]["interrupted"] for s in stages)
    warmup = sum(s["total"]["warmup_turns"] for s in stages)
    unanswered = sum(s["total"].get("unanswered", 0) for s in stages)
    tokens = sum(s["total"]["completion_tokens"] for s in stages)
    retries = sum(s["total"].get("retries", 0) for s in stages)
    server: dict[str, int] = {}
    generator: dict[str, int] = {}
    for stage in stages:
        for name, n in stage["total"]["errors"].items():
            bucket = generator if is_generator_class(name) else server
            bucket[name] = bucket.get(name, 0) + n
    return [
        "Totals",
        f"  turns: {requests:,} completed ({ok:,} ok), {interrupted:,} interrupted, "
        f"{warmup:,} in warm-up, {unanswered:,} cut off unanswered",
        f"  {tokens:,} output tokens; {retries:,} requests resent",
        f"  server-side errors: {errors_text(server)}",
        f"  generator-side errors: {errors_text(generator)}",
    ]


def _health_lines(stages: Sequence[Doc], run: Doc) -> list[str]:
    lines = ["Generator health"]
    marked = False
    for stage in stages:
        health = stage.get("health") or {}
        verdict = health.get("verdict", "not assessed")
        reasons = "; ".join(health.get("reasons", [])) or "-"
        lines += wrap(f"  stage {stage['index'] + 1}: {verdict}  ({reasons})", "    ")
        figures = health.get("figures") or {}
        if figures:
            lag = stage["total"].get("schedule_lag_ms") or {}
            few = lag.get("count") is not None and lag["count"] < FEW_SAMPLES
            text = _figures_text(figures, few_lag=few)
            marked = marked or (few and figures.get("schedule_lag_p99_ms") is not None)
            lines += wrap("    " + text, "    ")
        shards = health.get("shards", [])
        for label, shard in zip(_shard_labels(run, len(shards)), shards, strict=True):
            shard_figures = shard.get("figures") or {}
            if shard_figures:
                lines += wrap(
                    f"    {label}: {shard.get('verdict', '?')}, "
                    f"CPU {shard_figures['cpu_share']:.0%}, loop lag p99 "
                    f"{fmt_ms(shard_figures['loop_lag_p99_ms'])} ms",
                    "      ",
                )
    jsonl = (
        f"  JSONL: {run.get('jsonl_lines', 0):,} lines written, "
        f"{run.get('sink_overflow', 0):,} dropped (buffer full)"
    )
    lost = run.get("jsonl_lost_lines", 0)
    if lost:
        jsonl += f", {lost:,} lost (the file could not be written)"
    lines.append(jsonl)
    return lines + ([f"  {FEW_LEGEND}"] if marked else [])


def _shard_labels(run: Doc, count: int) -> list[str]:
    """How the report names each shard of a merged stage: by its segment
    (`segment 0/2`) when every shard ran one, else by its place (`shard 1`)."""
    facts = (run.get("generator") or {}).get("shards", [])
    segments = [fact.get("segment") for fact in facts]
    if len(segments) == count and all(segments):
        return [f"segment {segment}" for segment in segments]
    return [f"shard {number}" for number in range(1, count + 1)]


def _figures_text(f: Doc, *, few_lag: bool = False) -> str:
    """The health figures of one stage, with units; `few_lag`: the schedule
    lag p99 comes from fewer than `FEW_SAMPLES` turns (marked)."""
    parts = [
        f"CPU {f['cpu_share']:.0%}",
        f"loop lag p99 {fmt_ms(f['loop_lag_p99_ms'])} ms (max {fmt_ms(f['loop_lag_max_ms'])})",
    ]
    if f.get("target_in_flight") is not None:
        parts.append(f"peak in flight {f['peak_in_flight']} of {f['target_in_flight']} VUs")
    else:
        parts.append(f"peak in flight {f['peak_in_flight']}")
    if f.get("target_rate") is not None:
        parts.append(f"rate {f['achieved_rate']:g}/s of {f['target_rate']:g}/s")
    if f.get("schedule_lag_p99_ms") is not None:
        mark = FEW_MARK if few_lag else ""
        parts.append(f"schedule lag p99 {fmt_ms(f['schedule_lag_p99_ms'])} ms{mark}")
    parts.append(f"dropped {f.get('dropped', 0)}")
    return ", ".join(parts)


def _seed_text(run: Doc) -> str:
    if run.get("seed") is not None:
        return f"seed {run['seed']}"
    seeds = run.get("seeds") or []
    return "seeds " + ", ".join(str(s) for s in seeds) if seeds else "seed unknown"


def render_text(summary: Doc) -> str:
    """The whole text report of a summary document."""
    run = summary["run"]
    stages = summary["stages"]
    lines = [
        f"loadtest report: {run['profile']} ({_seed_text(run)}), "
        f"{run['started_at']} to {run['ended_at']}",
        *verdict_lines(summary),
        "",
    ]
    slo = run.get("slo") or []
    if summary.get("sweep"):
        lines += [*sweep_lines(summary["sweep"]), ""]
    if stages:
        lines += [*_saturation_lines(stages, slo), ""]
    for stage in stages:
        lines += [*_stage_lines(stage, len(run["stage_plan"]), slo), ""]
    lines += [*_totals_lines(stages), ""]
    lines += [*_health_lines(stages, run), ""]
    lines += _threshold_lines(summary.get("thresholds", []))
    return "\n".join(lines) + "\n"
