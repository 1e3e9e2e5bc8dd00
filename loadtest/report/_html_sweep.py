"""A sweep's probes and knee, for the HTML report.

Rules:
- The charts put each probe at its offered rate (probes without one, such
  as a closed-loop baseline, are in the table only): achieved rate against
  offered (with the line where they are equal), TTFT p50/p99 and latency
  p99, and goodput (a share) with its target as a flat line.
- The knee is a vertical mark at its rate on every chart, and its note and
  why the next rate failed are said in words above them.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loadtest.report._html_model import Chart, Item, Mark, Series, Table, Text, log_y

if TYPE_CHECKING:
    from loadtest.report._html_extra import Sweep

__all__ = ["sweep_items"]


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _knee_lines(sweep: Sweep) -> tuple[str, ...]:
    knee = sweep.knee
    if knee.rate_rps is None:
        lines = ["knee: not found (no probed rate met the SLOs)"]
    else:
        where = f" (stage {knee.stage + 1})" if knee.stage is not None else ""
        lines = [f"knee: {knee.rate_rps:g} conversation starts/s{where}"]
    if knee.note:  # it names the next probe and why it failed
        lines.append(knee.note)
    elif knee.next_failed_because:
        lines.append(f"the next rate failed because: {knee.next_failed_because}")
    if sweep.slo:
        lines.append("SLOs: " + "; ".join(sweep.slo))
    if sweep.goodput_target is not None:
        lines.append(f"goodput target: {100 * sweep.goodput_target:g}% of turns meet the SLOs")
    return tuple(lines)


def sweep_items(sweep: Sweep) -> tuple[Item, ...]:
    """The knee in words, the probes' charts and their table."""
    rows = tuple(
        (
            "-" if p.stage is None else str(p.stage + 1),
            p.kind,
            _fmt(p.offered_rps, "g"),
            _fmt(p.achieved_rps),
            "-" if p.goodput is None else f"{100 * p.goodput:.1f}%",
            _fmt(p.ttft_p50_ms),
            _fmt(p.ttft_p99_ms),
            _fmt(p.latency_p99_ms),
            p.health,
            "pass" if p.passed else "FAIL",
            p.reason or "-",
        )
        for p in sweep.probes
    )
    table = Table(
        title="Sweep probes",
        columns=(
            "stage",
            "kind",
            "offered/s",
            "achieved/s",
            "goodput",
            "TTFT p50",
            "TTFT p99",
            "latency p99",
            "health",
            "result",
            "why",
        ),
        rows=rows,
        note="ms; rates in conversation starts per second",
    )
    items: list[Item] = [
        Text(
            title="Sweep", lines=_knee_lines(sweep), tone="pass" if sweep.knee.rate_rps else "fail"
        )
    ]
    placed = sorted(
        (p for p in sweep.probes if p.offered_rps is not None), key=lambda p: p.offered_rps or 0.0
    )
    if placed:
        xs = tuple(p.offered_rps or 0.0 for p in placed)
        knee = sweep.knee.rate_rps
        common: dict[str, Any] = {
            "x_kind": "linear",
            "x_label": "offered conversation starts per second",
            "xs": xs,
            "marks": () if knee is None else (Mark(x=knee, label="knee"),),
        }
        items.append(
            Chart(
                id="sweep-rate",
                title="Sweep: achieved rate against offered",
                y_label="per second",
                series=(
                    Series(label="achieved", values=tuple(p.achieved_rps for p in placed), color=0),
                    Series(label="offered (ideal)", values=xs, color=7, dash=True),
                ),
                **common,
            )
        )
        latency = (
            Series(
                label="TTFT p50", values=tuple(p.ttft_p50_ms for p in placed), color=1, dash=True
            ),
            Series(label="TTFT p99", values=tuple(p.ttft_p99_ms for p in placed), color=1),
            Series(label="latency p99", values=tuple(p.latency_p99_ms for p in placed), color=0),
        )
        items.append(
            Chart(
                id="sweep-latency",
                title="Sweep: TTFT and latency against offered rate",
                y_label="ms",
                series=latency,
                y_log=log_y(latency),
                **common,
            )
        )
        goodput = [
            Series(label="goodput", values=tuple(_share(p.goodput) for p in placed), color=2)
        ]
        if sweep.goodput_target is not None:
            target = 100 * sweep.goodput_target
            goodput.append(Series(label="target", values=(target,) * len(xs), color=3, dash=True))
        items.append(
            Chart(
                id="sweep-goodput",
                title="Sweep: goodput against offered rate",
                y_label="% of turns meeting the SLOs",
                series=tuple(goodput),
                **common,
            )
        )
    items.append(table)
    return tuple(items)


def _share(value: float | None) -> float | None:
    return None if value is None else 100 * value
