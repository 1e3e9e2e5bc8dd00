"""The text report's stage blocks: the saturation table (one line per
stage) and each stage's tables (report/_text.py lays out the report and
calls these).

- Saturation: load, rps, ok%, goodput when the run had SLOs, TTFT
  p50/p99, latency p99 and generator health, of each stage's total.
- A stage: tables of its scenarios plus the stage total: throughput and
  latency percentiles; TTFT, ITL, TPOT, output tokens/s and errors; the
  chunk gap, the stream tail and the prompt cache's cached share (first
  turns and later turns apart); prompt and completion tokens per turn
  (p50/p90/p99, mean). Open stages add the coordinated-omission-corrected
  latency and TTFT (measured from each turn's intended start) and the
  schedule lag; a run with SLOs adds a goodput table. Metric names in
  headings are those of the definitions table in docs/metrics.md
  (`LEGEND`).

Rules: cells follow `loadtest.report._cells`, as in report/_text.py.

Pure: summary dicts in, lines out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.report._cells import (
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
from loadtest.report._text_sweep import goodput_cell, goodput_lines

__all__ = ["LEGEND"]

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
