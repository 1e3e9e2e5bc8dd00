"""The human report (`report-<ts>.txt`): rendered from a summary document.

Layout, for a 100-column terminal:
1. the run's verdict first: thresholds and generator health, with reasons;
2. per stage, two tables of scenarios plus the stage total: throughput and
   latency percentiles; then TTFT, ITL, TPOT, output tokens/s and errors.
   Open stages add the coordinated-omission-corrected latency and TTFT
   (measured from each turn's intended start) and the schedule lag;
3. run totals (server-side and generator-side errors apart);
4. generator health per stage; 5. threshold verdicts.
Closed-loop percentiles are service times (each VU waits for its answer).

Pure: summary dict in, text out.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.taxonomy import is_generator_class

__all__ = ["fmt_ms", "render_text"]

Doc = Mapping[str, Any]


WIDTH = 100


def _wrap(line: str, indent: str) -> list[str]:
    """A long free-text line folded to the report's width."""
    if len(line) <= WIDTH:
        return [line]
    return textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_on_hyphens=False)


def fmt_ms(value: float | None) -> str:
    """Milliseconds with precision that fits their size ("-" for none)."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def _num(value: float) -> str:
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], first: int = 16) -> list[str]:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    widths[0] = max(widths[0], first)
    lines = []
    for row in (header, *rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _errors_text(errors: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in errors.items()) or "-"


def _latency_rows(stats: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for s in stats:
        lat = s["latency_ms"]
        ok_pct = 100 * s["ok"] / s["requests"] if s["requests"] else 0.0
        rows.append(
            [s["label"], f"{s['requests']:,}", _num(s["throughput_rps"]), f"{ok_pct:.1f}"]
            + [fmt_ms(lat[k]) for k in ("p50", "p90", "p95", "p99", "p999", "max")]
        )
    return rows


def _stream_rows(stats: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for s in stats:
        ttft, itl, tpot = s["ttft_ms"], s["itl_ms"], s["tpot_ms"]
        rows.append(
            [s["label"]]
            + [fmt_ms(ttft[k]) for k in ("p50", "p95", "p99")]
            + [fmt_ms(itl["p50"]), fmt_ms(itl["p99"]), fmt_ms(tpot["p50"])]
            + [_num(s["output_tokens_per_s"]), _errors_text(s["errors"])]
        )
    return rows


def _corrected_rows(stats: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for s in stats:
        lat, ttft, lag = s["latency_corrected_ms"], s["ttft_corrected_ms"], s["schedule_lag_ms"]
        rows.append(
            [s["label"]]
            + [fmt_ms(lat[k]) for k in ("p50", "p95", "p99")]
            + [fmt_ms(ttft[k]) for k in ("p50", "p95", "p99")]
            + [fmt_ms(lag["p99"]), fmt_ms(lag["max"])]
        )
    return rows


def _stage_title(stage: Doc, count: int) -> str:
    load = f"{stage['concurrency']} VUs" if stage["mode"] == "closed" else f"{stage['rate']:g}/s"
    title = (
        f"Stage {stage['index'] + 1}/{count}: {stage['mode']} loop, {load}, "
        f"{stage['duration_s']:g}s (warm-up {stage['warmup_s']:g}s, steady {stage['steady_s']:g}s)"
    )
    return title + ("  [stopped early]" if stage.get("stopped_early") else "")


def _stage_lines(stage: Doc, count: int) -> list[str]:
    stats = (
        [*stage["scenarios"], stage["total"]] if len(stage["scenarios"]) > 1 else [stage["total"]]
    )
    kind = "service time, ms" if stage["mode"] == "closed" else "measured from actual send, ms"
    lines = [_stage_title(stage, count), f"latency ({kind})"]
    lines += _table(
        ["scenario", "requests", "rps", "ok%", "p50", "p90", "p95", "p99", "p99.9", "max"],
        _latency_rows(stats),
    )
    lines.append("streaming (ms) and output")
    lines += _table(
        ["scenario", "ttft p50", "p95", "p99", "itl p50", "p99", "tpot p50", "out tok/s", "errors"],
        _stream_rows(stats),
    )
    if stage["mode"] == "open":
        lines.append("corrected for coordinated omission (from intended start, ms)")
        lines += _table(
            ["scenario", "lat p50", "p95", "p99", "ttft p50", "p95", "p99", "lag p99", "lag max"],
            _corrected_rows(stats),
        )
    return lines


def _totals_lines(stages: Sequence[Doc]) -> list[str]:
    requests = sum(s["total"]["requests"] for s in stages)
    ok = sum(s["total"]["ok"] for s in stages)
    interrupted = sum(s["total"]["interrupted"] for s in stages)
    warmup = sum(s["total"]["warmup_turns"] for s in stages)
    tokens = sum(s["total"]["completion_tokens"] for s in stages)
    server: dict[str, int] = {}
    generator: dict[str, int] = {}
    for stage in stages:
        for name, n in stage["total"]["errors"].items():
            bucket = generator if is_generator_class(name) else server
            bucket[name] = bucket.get(name, 0) + n
    return [
        "Totals",
        f"  turns: {requests:,} completed ({ok:,} ok), {interrupted:,} interrupted, "
        f"{warmup:,} in warm-up; {tokens:,} output tokens",
        f"  server-side errors: {_errors_text(server)}",
        f"  generator-side errors: {_errors_text(generator)}",
    ]


def _health_lines(stages: Sequence[Doc], run: Doc) -> list[str]:
    lines = ["Generator health"]
    for stage in stages:
        health = stage.get("health") or {}
        verdict = health.get("verdict", "not assessed")
        reasons = "; ".join(health.get("reasons", [])) or "-"
        lines += _wrap(f"  stage {stage['index'] + 1}: {verdict}  ({reasons})", "    ")
        figures = health.get("figures") or {}
        if figures:
            lines += _wrap("    " + _figures_text(figures), "    ")
    jsonl = (
        f"  JSONL: {run.get('jsonl_lines', 0):,} lines written, "
        f"{run.get('sink_overflow', 0):,} dropped (buffer full)"
    )
    lost = run.get("jsonl_lost_lines", 0)
    if lost:
        jsonl += f", {lost:,} lost (the file could not be written)"
    lines.append(jsonl)
    return lines


def _figures_text(f: Doc) -> str:
    """The health figures of one stage, with units."""
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
        parts.append(f"schedule lag p99 {fmt_ms(f['schedule_lag_p99_ms'])} ms")
    parts.append(f"dropped {f.get('dropped', 0)}")
    return ", ".join(parts)


def _threshold_lines(results: Sequence[Doc]) -> list[str]:
    lines = ["Thresholds"]
    if not results:
        return [*lines, "  none set"]
    for r in results:
        mark = "pass" if r["passed"] else "FAIL"
        lines.append(
            f"  {mark}  stage {r['stage'] + 1} {r['scope']}: {r['name']} = "
            f"{r['actual_text']} (limit {r['limit_text']})"
        )
    return lines


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
    verdict = "FAIL" if failed else "PASS" if results else "no thresholds set"
    lines = [
        f"verdict: {verdict}" + (" (run stopped early)" if summary["run"]["stopped_early"] else "")
    ]
    for r in failed:
        lines.append(
            f"  threshold failed: stage {r['stage'] + 1} {r['scope']} {r['name']} = "
            f"{r['actual_text']} (limit {r['limit_text']})"
        )
    lines.extend(_failure_lines(stages))
    for index, health in unhealthy:
        reasons = "; ".join(health.get("reasons", []))
        lines += _wrap(f"  generator {health['verdict']} in stage {index + 1}: {reasons}", "    ")
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
            share = 100 * total["failed"] / total["requests"]
            errors = _errors_text(total["errors"])
            lines.append(
                f"  errors in stage {stage['index'] + 1}: {total['failed']:,} of "
                f"{total['requests']:,} turns failed ({share:.1f}%): {errors}"
            )
    return lines


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
    for stage in stages:
        lines += [*_stage_lines(stage, len(run["stage_plan"])), ""]
    lines += [*_totals_lines(stages), ""]
    lines += [*_health_lines(stages, run), ""]
    lines += _threshold_lines(summary.get("thresholds", []))
    return "\n".join(lines) + "\n"
