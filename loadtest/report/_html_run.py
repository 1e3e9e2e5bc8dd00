"""The HTML report of one run: its summary turned into a page model.

Rules:
- The page shows, in order: the verdict and thresholds; the saturation
  view across stages (load → throughput, goodput, latency and TTFT p50/p99;
  a sweep's probes with its knee marked); the time series; the percentile
  distributions; per stage, the per-scenario table; generator health.
- Every figure is the summary's own (the text report's wording for the
  verdict, its cell rules for figures: `-` for no data, `*` for a
  percentile of fewer than 10 values), so the pages never disagree with
  the text report.
- Goodput, SLOs and a sweep are shown only when the summary has them
  (`_html_extra`).

Pure; no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.report._cells import errors_text, few_legend, ok_pct, pct, rate
from loadtest.report._html_extra import goodput_of, slo_of, sweep_of
from loadtest.report._html_model import Chart, Item, Page, Section, Series, Table, Text, log_y
from loadtest.report._html_series import distribution_charts, timeseries_charts
from loadtest.report._html_sweep import sweep_items
from loadtest.report._text import verdict_lines

__all__ = ["build_run_page", "load_text", "saturation_items", "scenario_rows"]

Doc = Mapping[str, Any]


def load_text(stage: Doc) -> str:
    """A stage's offered load, as the text report writes it."""
    if stage["mode"] == "closed":
        return f"closed {stage['concurrency']:g} VUs"
    return f"open {stage['rate']:g}/s"


def _header(summary: Doc) -> tuple[str, ...]:
    run = summary["run"]
    lines = [
        f"profile {run['profile']}, started {run['started_at']}, ended {run['ended_at']}",
        "stages: "
        + ", ".join(str(s) for s in run["stage_plan"])
        + f"; warm-up {run['warmup_s']:g} s",
    ]
    targets = sorted({f"{t['url']} ({t['protocol']}, {t['model']})" for t in run["targets"]})
    lines += [f"target: {t}" for t in targets]
    return tuple(lines)


def _verdict_section(summary: Doc) -> Section:
    lines = verdict_lines(summary)
    tone = "fail" if "FAIL" in lines[0] else "pass" if "PASS" in lines[0] else "info"
    items: list[Item] = [Text(lines=tuple(line.strip() for line in lines), tone=tone)]
    slo = slo_of(summary)
    if slo:
        items.append(Text(title="Service-level objectives", lines=slo))
    results = summary.get("thresholds") or []
    rows = tuple(
        (
            "pass" if r["passed"] else "FAIL",
            str(r["stage"] + 1),
            r["scope"],
            r["name"],
            r["actual_text"],
            r["limit_text"],
        )
        for r in results
    )
    items.append(
        Table(
            title="Thresholds",
            columns=("result", "stage", "scope", "limit", "actual", "allowed"),
            rows=rows,
            note="" if rows else "none set",
        )
    )
    return Section(id="verdict", title="Verdict", items=tuple(items))


def _load_axis(stages: Sequence[Doc]) -> tuple[str, str, tuple[float, ...], tuple[str, ...]]:
    """The x of the saturation charts: the offered load when every stage
    has the same mode and the loads rise, else the stage number with its
    load (the page drops the load from the ticks when they would overlap)."""
    modes = {s["mode"] for s in stages}
    loads = [s["concurrency"] if s["mode"] == "closed" else s["rate"] for s in stages]
    rising = all(a < b for a, b in itertools.pairwise(loads))
    if len(modes) == 1 and rising:
        if modes == {"closed"}:
            return "linear", "virtual users (closed loop)", tuple(map(float, loads)), ()
        return "linear", "offered conversation starts per second (open loop)", tuple(loads), ()
    xs = tuple(float(i + 1) for i in range(len(stages)))
    ticks = tuple(f"{s['index'] + 1}: {load_text(s)}" for s in stages)
    return "category", "stage: offered load", xs, ticks


def _metric(stage: Doc, name: str, key: str) -> float | None:
    value: float | None = (stage["total"].get(name) or {}).get(key)
    return value


def saturation_items(stages: Sequence[Doc]) -> tuple[Item, ...]:
    """The saturation table, and charts of throughput and latency against load."""
    goodputs = [goodput_of(s["total"]) for s in stages]
    with_goodput = any(g is not None for g in goodputs)
    columns = ["stage", "load", "rps", "ok rps", "ok%", "TTFT p50", "TTFT p99"]
    columns += ["latency p50", "latency p99", "health"]
    rows = []
    for stage, good in zip(stages, goodputs, strict=True):
        total = stage["total"]
        row = [str(stage["index"] + 1), load_text(stage), rate(total, "throughput_rps")]
        row += [rate(total, "ok_rps"), ok_pct(total)]
        row += [pct(total["ttft_ms"], "p50"), pct(total["ttft_ms"], "p99")]
        row += [pct(total["latency_ms"], "p50"), pct(total["latency_ms"], "p99")]
        row.append((stage.get("health") or {}).get("verdict", "-"))
        if with_goodput:
            row += _goodput_cells(good)
        rows.append(tuple(row))
    if with_goodput:
        columns += ["goodput", "good rps"]
    table = Table(
        title="Load → throughput → latency (stage totals; ms)",
        columns=tuple(columns),
        rows=tuple(rows),
        note="".join(few_legend(rows)),
    )
    x_kind, x_label, xs, ticks = _load_axis(stages)
    throughput = [
        Series(
            label="completed/s", values=tuple(s["total"]["throughput_rps"] for s in stages), color=0
        ),
        Series(label="ok/s", values=tuple(s["total"]["ok_rps"] for s in stages), color=2),
    ]
    if with_goodput:
        values = tuple(None if g is None else g.good_per_s for g in goodputs)
        throughput.append(Series(label="good/s (met the SLOs)", values=values, color=1))
    latency = tuple(
        Series(
            label=f"{label} {p}",
            values=tuple(_metric(s, name, p) for s in stages),
            color=color,
            dash=p == "p50",
        )
        for name, label, color in (("latency_ms", "latency", 0), ("ttft_ms", "TTFT", 1))
        for p in ("p50", "p99")
    )
    common: dict[str, Any] = {"x_kind": x_kind, "x_label": x_label, "xs": xs, "x_ticks": ticks}
    return (
        table,
        Chart(
            id="sat-throughput",
            title="Throughput against offered load",
            y_label="turns per second",
            series=tuple(throughput),
            **common,
        ),
        Chart(
            id="sat-latency",
            title="Latency and TTFT against offered load",
            y_label="ms",
            series=latency,
            y_log=log_y(latency),
            note="Solid: p99; dashed: p50.",
            **common,
        ),
    )


def _goodput_cells(good: Any) -> list[str]:
    if good is None or good.share is None:
        return ["-", "-"]
    per_s = "-" if good.good_per_s is None else f"{good.good_per_s:.1f}"
    return [f"{100 * good.share:.1f}%", per_s]


def scenario_rows(stage: Doc) -> tuple[tuple[str, ...], ...]:
    """One row per scenario of `stage`, then its total; the goodput column
    only when some row has goodput."""
    everything = (*stage["scenarios"], stage["total"])
    goodputs = [goodput_of(stats) for stats in everything]
    rows = []
    for stats, good in zip(everything, goodputs, strict=True):
        row = [
            stats["label"],
            f"{stats['requests']:,}",
            f"{stats['ok']:,}",
            ok_pct(stats),
            rate(stats, "throughput_rps"),
            pct(stats["latency_ms"], "p50"),
            pct(stats["latency_ms"], "p90"),
            pct(stats["latency_ms"], "p99"),
            pct(stats["ttft_ms"], "p50"),
            pct(stats["ttft_ms"], "p99"),
            pct(stats["itl_ms"], "p50"),
            pct(stats["itl_ms"], "p99"),
        ]
        if any(goodputs):
            row.append(_goodput_cells(good)[0])
        rows.append((*row, errors_text(stats["errors"])))
    return tuple(rows)


_SCENARIO_COLUMNS = (
    "scenario",
    "turns",
    "ok",
    "ok%",
    "rps",
    "latency p50",
    "latency p90",
    "latency p99",
    "TTFT p50",
    "TTFT p99",
    "ITL p50",
    "ITL p99",
)


def _stages_section(stages: Sequence[Doc]) -> Section:
    tables = []
    for s in stages:
        rows = scenario_rows(s)
        goodput = ("goodput",) if len(rows[0]) > len(_SCENARIO_COLUMNS) + 1 else ()
        tables.append(
            Table(
                title=f"Stage {s['index'] + 1}: {load_text(s)}, {s['steady_s']:g} s steady"
                + (" (stopped early)" if s.get("stopped_early") else ""),
                columns=(*_SCENARIO_COLUMNS, *goodput, "errors"),
                rows=rows,
                note="; ".join(["ms", *few_legend(rows)]),
            )
        )
    return Section(id="stages", title="Per stage and scenario", items=tuple(tables))


def _health_section(stages: Sequence[Doc]) -> Section:
    rows = []
    for stage in stages:
        health = stage.get("health") or {}
        f = health.get("figures") or {}
        rate_text = (
            f"{f['achieved_rate']:g}/s of {f['target_rate']:g}/s"
            if f.get("target_rate") is not None
            else "-"
        )
        lag = f.get("schedule_lag_p99_ms")
        rows.append(
            (
                str(stage["index"] + 1),
                health.get("verdict", "not assessed"),
                f"{f['cpu_share']:.0%}" if "cpu_share" in f else "-",
                f"{f['loop_lag_p99_ms']:g}" if "loop_lag_p99_ms" in f else "-",
                str(f.get("peak_in_flight", "-")),
                rate_text,
                "-" if lag is None else f"{lag:g}",
                str(f.get("dropped", 0)),
                "; ".join(health.get("reasons", [])) or "-",
            )
        )
    table = Table(
        title="Generator health per stage",
        columns=(
            "stage",
            "verdict",
            "CPU",
            "loop lag p99 ms",
            "peak in flight",
            "rate",
            "schedule lag p99 ms",
            "dropped",
            "reasons",
        ),
        rows=tuple(rows),
    )
    return Section(id="health", title="Generator health", items=(table,))


def build_run_page(summary: Doc) -> Page:
    """The page of one run's summary."""
    stages = summary["stages"]
    saturation: tuple[Item, ...] = saturation_items(stages) if stages else ()
    sweep = sweep_of(summary)
    if sweep is not None:  # the knee first, as in the text report
        saturation = sweep_items(sweep) + saturation
    series = timeseries_charts(stages)
    sections = [
        _verdict_section(summary),
        Section(id="saturation", title="Saturation", items=saturation),
        Section(
            id="timeseries",
            title="Over time",
            items=series or (Text(lines=("This summary has no time series.",)),),
        ),
        Section(
            id="distributions",
            title="Percentile distributions",
            items=distribution_charts([("", stages)])
            or (Text(lines=("No latency was recorded.",)),),
        ),
        _stages_section(stages),
        _health_section(stages),
    ]
    return Page(
        title=f"loadtest report: {summary['run']['profile']}",
        header=_header(summary),
        sections=tuple(sections),
    )
