"""The human report (`report-<ts>.txt`): rendered from a summary document.

Layout, for a 100-column terminal:
1. the run's verdict first: thresholds and generator health, with reasons;
2. the saturation table: one line per stage (load, rps, ok%, goodput when
   the run had SLOs, TTFT p50/p99, latency p99, generator health), the
   load -> throughput -> latency view; a sweep's knee and probe table
   (report/_text_sweep.py) come before it;
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
5. generator health per stage; 6. threshold verdicts.
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
    few_legend,
    fmt_ms,
    ok_pct,
    pct,
    rate,
    share,
    table,
    tokens,
    wrap,
)
from loadtest.report._text_sweep import goodput_cell, goodput_lines, sweep_lines
from loadtest.taxonomy import is_generator_class

__all__ = ["FEW_LEGEND", "FEW_SAMPLES", "LEGEND", "fmt_ms", "render_text"]

Doc = Mapping[str, Any]


#: Where the headings' metric names are defined, printed under each stage.
LEGEND = (
    "names as defined in docs/metrics.md#definitions: TTFT, ITL (per token), "
    "TPOT (to the last token), chunk gap, stream tail (last token to end of stream), "
    "cached share"
)


def _latency_rows(stats: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for s in stats:
        lat = s["latency_ms"]
        rows.append(
            [s["label"], f"{s['requests']:,}", rate(s, "throughput_rps"), ok_pct(s)]
            + [pct(lat, k) for k in ("p50", "p90", "p95", "p99", "p999")]
            + [fmt_ms(lat["max"])]
        )
    return rows


def _stream_rows(stats: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for s in stats:
        ttft, itl, tpot = s["ttft_ms"], s["itl_ms"], s["tpot_ms"]
        rows.append(
            [s["label"]]
            + [pct(ttft, k) for k in ("p50", "p95", "p99")]
            + [pct(itl, "p50"), pct(itl, "p99"), pct(tpot, "p50")]
            + [rate(s, "output_tokens_per_s"), errors_text(s["errors"])]
        )
    return rows


def _tail_rows(stats: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for s in stats:
        gap, tail, cache = (
            s.get("chunk_gap_ms") or {},
            s.get("stream_tail_ms") or {},
            s.get("cache"),
        )
        rows.append(
            [
                s["label"],
                pct(gap, "p50"),
                pct(gap, "p99"),
                pct(tail, "p50"),
                pct(tail, "p99"),
                fmt_ms(tail.get("max")),
                share(cache and cache["first_turns"]),
                share(cache and cache["later_turns"]),
            ]
        )
    return rows


def _token_rows(stats: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for s in stats:
        prompt, completion = s.get("prompt_tokens_dist"), s.get("completion_tokens_dist")
        rows.append(
            [s["label"]]
            + [tokens(prompt, k) for k in ("p50", "p90", "p99", "mean")]
            + [tokens(completion, k) for k in ("p50", "p90", "p99", "mean")]
            + [f"{s['estimated_turns']:,}"]
        )
    return rows


def _corrected_rows(stats: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for s in stats:
        lat, ttft, lag = s["latency_corrected_ms"], s["ttft_corrected_ms"], s["schedule_lag_ms"]
        rows.append(
            [s["label"]]
            + [pct(lat, k) for k in ("p50", "p95", "p99")]
            + [pct(ttft, k) for k in ("p50", "p95", "p99")]
            + [pct(lag, "p99"), fmt_ms(lag["max"])]
        )
    return rows


def _seconds(value_s: float) -> str:
    """Seconds to one decimal at most (a stage stopped early has a ragged window)."""
    return f"{round(value_s, 1):g}s"


def _load(stage: Doc) -> str:
    """`10 VUs`, `10->100 VUs`, `200/s`, `10->200/s`, then `, 100 turns` for
    a stage with a request count."""
    ramp = f"->{stage['ramp_to']:g}" if stage.get("ramp_to") is not None else ""
    if stage["mode"] == "closed":
        load = f"{stage['concurrency']}{ramp} VUs"
    else:
        load = f"{stage['rate']:g}{ramp}/s"
    count = stage.get("requests")
    return load if count is None else f"{load}, {count:,} turns"


#: How the text report says what ended a stage's time (nothing for its duration).
_ENDED_BY = {
    "requests": "  [ended by its request count]",
    "run-requests": "  [ended by the run's max_requests]",
}


def _saturation_lines(stages: Sequence[Doc], slo: Sequence[str] = ()) -> list[str]:
    """One line per stage: offered load against throughput, ok share,
    TTFT and latency (stage totals, measured from the actual send); and
    goodput when the run had SLOs."""
    rows = []
    for stage in stages:
        total = stage["total"]
        health = stage.get("health") or {}
        rows.append(
            [
                str(stage["index"] + 1),
                f"{stage['mode']} {_load(stage)}",
                rate(total, "throughput_rps"),
                ok_pct(total),
                *([goodput_cell(total)] if slo else []),
                pct(total["ttft_ms"], "p50"),
                pct(total["ttft_ms"], "p99"),
                pct(total["latency_ms"], "p99"),
                health.get("verdict", "-"),
            ]
        )
    header = ["stage", "load", "rps", "ok%", *(["goodput"] if slo else [])]
    header += ["TTFT p50", "p99", "latency p99", "health"]
    lines = ["Saturation (stage totals; ms, measured from actual send)"]
    return [*lines, *table(header, rows, first=5), *few_legend(rows)]


def _stage_title(stage: Doc, count: int) -> str:
    load = _load(stage)
    windows = [_seconds(stage[key]) for key in ("duration_s", "warmup_s", "steady_s")]
    title = (
        f"Stage {stage['index'] + 1}/{count}: {stage['mode']} loop, {load}, "
        f"{windows[0]} (warm-up {windows[1]}, steady {windows[2]})"
    )
    if stage.get("stopped_early"):
        return title + "  [stopped early]"
    return title + _ENDED_BY.get(stage.get("ended_by", "duration"), "")


def _stage_lines(stage: Doc, count: int, slo: Sequence[str] = ()) -> list[str]:
    stats = (
        [*stage["scenarios"], stage["total"]] if len(stage["scenarios"]) > 1 else [stage["total"]]
    )
    kind = "service time, ms" if stage["mode"] == "closed" else "measured from actual send, ms"
    lines = [_stage_title(stage, count), f"latency ({kind})"]
    shown = [*_latency_rows(stats), *_stream_rows(stats), *_tail_rows(stats)]
    lines += table(
        ["scenario", "requests", "rps", "ok%", "p50", "p90", "p95", "p99", "p99.9", "max"],
        _latency_rows(stats),
    )
    lines.append("streaming (ms) and output")
    lines += table(
        ["scenario", "TTFT p50", "p95", "p99", "ITL p50", "p99", "TPOT p50", "out tok/s", "errors"],
        _stream_rows(stats),
    )
    lines.append("end of stream (ms) and prompt cache (cached share of prompt tokens)")
    lines += table(
        [
            "scenario",
            "chunk gap p50",
            "p99",
            "stream tail p50",
            "p99",
            "max",
            "cached 1st turns",
            "later turns",
        ],
        _tail_rows(stats),
    )
    if any(s.get("prompt_tokens_dist") for s in stats):  # older summaries have none
        lines.append("tokens per ok turn (from the server's usage; estimated turns counted apart)")
        header = ["scenario", "prompt p50", "p90", "p99", "mean"]
        header += ["completion p50", "p90", "p99", "mean", "estimated"]
        lines += table(header, _token_rows(stats))
        shown += _token_rows(stats)
    if stage["mode"] == "open":
        lines.append("corrected for coordinated omission (from intended start, ms)")
        lines += table(
            ["scenario", "lat p50", "p95", "p99", "ttft p50", "p95", "p99", "lag p99", "lag max"],
            _corrected_rows(stats),
        )
        shown += _corrected_rows(stats)
    lines += goodput_lines(stats, slo)
    lines += wrap(LEGEND, "  ")
    return lines + few_legend(shown)


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


def _actual_text(result: Doc) -> str:
    """A threshold's actual, marked when it is a percentile of fewer than
    `FEW_SAMPLES` values."""
    samples = result.get("samples")
    few = result["actual"] is not None and samples is not None and samples < FEW_SAMPLES
    text: str = result["actual_text"]
    return text + (FEW_MARK if few else "")


def _few_note(results: Sequence[Doc]) -> list[str]:
    """`FEW_LEGEND`, indented, when one of `results` shows a marked actual."""
    return [f"  {FEW_LEGEND}"] if any(_actual_text(r).endswith(FEW_MARK) for r in results) else []


def _threshold_lines(results: Sequence[Doc]) -> list[str]:
    lines = ["Thresholds"]
    if not results:
        return [*lines, "  none set"]
    for r in results:
        mark = "pass" if r["passed"] else "FAIL"
        lines.append(
            f"  {mark}  stage {r['stage'] + 1} {r['scope']}: {r['name']} = "
            f"{_actual_text(r)} (limit {r['limit_text']})"
        )
    return lines + _few_note(results)


def verdict_lines(summary: Doc) -> list[str]:
    """The first lines of the report: the run's verdict and why."""
    stages = summary["stages"]
    failed = [r for r in summary.get("thresholds", []) if not r["passed"]]
    unhealthy = [
        (s["index"], s["health"])
        for s in stages
        if s.get("health", {}).get("verdict", "ok") != "ok"
    ]
    results = summary.get("thresholds", [])
    nothing_ok = bool(stages) and not any(s["total"]["ok"] for s in stages)
    verdict = "FAIL" if failed or nothing_ok else "PASS" if results else "no thresholds set"
    lines = [
        f"verdict: {verdict}" + (" (run stopped early)" if summary["run"]["stopped_early"] else "")
    ]
    missing = summary["run"].get("missing_segments") or {}
    if missing:
        held = len(summary["run"].get("segments", []))
        lines.append(f"  PARTIAL run: {held} of {held + len(missing)} segments merged")
        lines += [f"    segment {segment} missing: {why}" for segment, why in missing.items()]
    if nothing_ok:
        lines.append("  no steady turn succeeded in any stage: the gateway was not measured")
    for r in failed:
        lines.append(
            f"  threshold failed: stage {r['stage'] + 1} {r['scope']} {r['name']} = "
            f"{_actual_text(r)} (limit {r['limit_text']})"
        )
    lines.extend(_failure_lines(stages))
    lines.extend(_cache_lines(summary["run"].get("cache_mode"), stages))
    for stage in stages:
        lines += wrap(_unanswered_line(stage), "    ") if _unanswered(stage) else []
    few_waits = any(_few_waits(s) for s in stages if _unanswered(s))
    lines += [f"  {FEW_LEGEND}"] if few_waits else _few_note(failed)
    for index, health in unhealthy:
        reasons = "; ".join(health.get("reasons", []))
        verdict = health["verdict"]  # "generator-bound" names the generator itself
        who = verdict if verdict.startswith("generator") else f"generator {verdict}"
        lines += wrap(f"  {who} in stage {index + 1}: {reasons}", "    ")
    if not unhealthy and any(s.get("health") for s in stages):
        lines.append("  generator: healthy in every stage")
    return lines


def _failure_lines(stages: Sequence[Doc]) -> list[str]:
    """One line per stage whose turns failed: a run without thresholds must
    not hide that every request was refused."""
    lines = []
    for stage in stages:
        total = stage["total"]
        if total["failed"]:
            failed_pct = 100 * total["failed"] / total["requests"]
            errors = errors_text(total["errors"])
            lines.append(
                f"  errors in stage {stage['index'] + 1}: {total['failed']:,} of "
                f"{total['requests']:,} turns failed ({failed_pct:.1f}%): {errors}"
            )
    return lines


def _cache_lines(mode: str | None, stages: Sequence[Doc]) -> list[str]:
    """`bust`: a warning when any first turn came back with cached tokens
    (the busting did not hold). Other modes: the cached share reached."""
    parts: dict[str, list[int]] = {"first_turns": [0, 0, 0], "later_turns": [0, 0, 0]}
    for stage in stages:
        cache = stage["total"].get("cache") or {}
        for name, sums in parts.items():
            part = cache.get(name) or {}
            sums[0] += part.get("prompt_tokens", 0)
            sums[1] += part.get("cached_tokens", 0)
            sums[2] += part.get("cached_turns", 0)
    if mode == "bust":
        hits = parts["first_turns"][2]
        if not hits:
            return []
        return [
            f"  warning: cache busting did not hold: {hits:,} first "
            f"turn{'s were' if hits != 1 else ' was'} served from cache"
        ]
    if mode is None:
        return []
    shares = {
        name: share({"cached_share": cached / prompt if prompt else None})
        for name, (prompt, cached, _) in parts.items()
    }
    return [
        f"  prompt cache ({mode}): cached share {shares['first_turns']} on first turns, "
        f"{shares['later_turns']} on later turns"
    ]


def _unanswered(stage: Doc) -> int:
    count: int = stage["total"].get("unanswered", 0)
    return count


def _few_waits(stage: Doc) -> bool:
    """Whether the unanswered turns' wait p50 comes from fewer than `FEW_SAMPLES`."""
    wait = stage["total"].get("unanswered_wait_ms") or {}
    count = wait.get("count")
    return wait.get("p50") is not None and count is not None and count < FEW_SAMPLES


def _unanswered_line(stage: Doc) -> str:
    """Turns cut off with no response byte: the one trace a gateway that
    accepts requests and never answers leaves (no error, no latency)."""
    count = _unanswered(stage)
    wait = stage["total"].get("unanswered_wait_ms") or {}
    waited = ""
    if wait.get("max") is not None:
        p50 = f"{wait['p50'] / 1000:.1f} s" + (FEW_MARK if _few_waits(stage) else "")
        waited = f" after waiting up to {wait['max'] / 1000:.1f} s (p50 {p50})"
    if stage.get("stopped_early"):
        cause, hint = "the early stop", ""
    else:
        cause, hint = "the stage end", ": the gateway may be hung"
    turns = "1 turn was" if count == 1 else f"{count:,} turns were"
    return (
        f"  stage {stage['index'] + 1}: {turns} cut off by {cause} with no response byte"
        f"{waited}{hint}"
    )


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
