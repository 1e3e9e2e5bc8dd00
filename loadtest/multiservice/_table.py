"""Plain-text tables of a multi-service comparison: one per round, one over rounds.

Rules:
- Every line fits `WIDTH` (100) columns: names are at most 24 characters
  (the services file enforces it) and long failure reasons are cut with "…".
- Times are milliseconds with one decimal (no decimals from 10 s up); deltas
  are signed (`+0.0 ms` for the fastest); "-" means no value.
- A FAILED gateway keeps its row: with its figures and FAILED in the delta
  column when its run gave a summary (no successful turn), the reason in a
  note; with the reason in place of its figures otherwise. RPS is the rate
  of successful turns. Notes under a table explain anything that makes a
  row less comparable: errors, a run stopped early, an unhealthy generator,
  a late start, and generator processes that together used more than
  `HOST_SHARE_WARN` of the host's cores (gateways on the same host then had
  less CPU).

Pure: values in, text out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loadtest.multiservice._results import (
        Figures,
        GatewaySummary,
        Metric,
        RoundResult,
        ServiceRound,
    )

__all__ = ["HOST_SHARE_WARN", "SKEW_WARN_MS", "WIDTH", "render_round", "render_summary"]

WIDTH = 100
#: Runs of one round that started further apart than this get a note.
SKEW_WARN_MS = 100.0
#: A round whose generator processes together used more than this share of
#: the host's cores gets a warning: gateways sharing the host lost CPU to them.
HOST_SHARE_WARN = 0.25
_NAME = 25  # names are at most 24 characters: one space always follows
_ROUND_COLUMNS = (
    ("TTFT p50", 10),
    ("TTFT p95", 10),
    ("lat p95", 10),
    ("ok RPS", 9),
    ("err %", 8),
    ("gen CPU", 9),
)
_LABEL = {"ttft": "TTFT p50", "latency": "lat p50"}


def fmt_table_ms(value: float | None) -> str:
    """Milliseconds: one decimal below 10 s, none from there up."""
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 10_000 else f"{value:,.0f}"


def _signed(value: float) -> str:
    return f"{value:+.1f}" if abs(value) < 10_000 else f"{value:+,.0f}"


def fmt_delta(value: float | None) -> str:
    """A signed delta in ms (`+0.0 ms` for the fastest)."""
    return "-" if value is None else f"{_signed(value)} ms"


def _rps(value: float) -> str:
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def _fit(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


def _row(name: str, cells: Sequence[tuple[str, int]]) -> str:
    return _fit(name.ljust(_NAME) + "".join(text.rjust(width) for text, width in cells))


def _figure_cells(figures: Figures) -> list[str]:
    return [
        fmt_table_ms(figures.ttft_p50_ms),
        fmt_table_ms(figures.ttft_p95_ms),
        fmt_table_ms(figures.latency_p95_ms),
        _rps(figures.ok_rps),
        "-" if figures.error_rate is None else f"{figures.error_rate * 100:.1f}%",
        "-" if figures.cpu_share is None else f"{figures.cpu_share:.0%}",
    ]


def _service_line(service: ServiceRound) -> str:
    if service.figures is None:
        return _fit(f"{service.name.ljust(_NAME)}FAILED: {service.failure}")
    last = "FAILED" if service.failure is not None else fmt_delta(service.delta_ms)
    texts = [*_figure_cells(service.figures), last]
    widths = [width for _, width in _ROUND_COLUMNS] + [13]
    return _row(service.name, list(zip(texts, widths, strict=True)))


def _service_notes(service: ServiceRound, metric: Metric) -> list[str]:
    figures = service.figures
    if figures is None:
        return []
    if service.failure is not None:
        return [_fit(f"  {service.name}: FAILED: {service.failure}")]
    notes = []
    if figures.error_rate and figures.requests - figures.ok:
        top = ", ".join(f"{kind} {count}" for kind, count in list(figures.errors.items())[:3])
        notes.append(f"{figures.error_rate * 100:.1f}% errors ({top})")
    if figures.ok == 0:
        notes.append("no successful turn: no latency figures")
    elif figures.p50_ms(metric) is None:
        notes.append(f"no {_LABEL[metric]} samples")
    if figures.stopped_early:
        notes.append("run stopped early")
    if figures.generator != "ok":
        verdict = figures.generator  # "generator-bound" names the generator itself
        who = verdict if verdict.startswith("generator") else f"generator {verdict}"
        notes.append(f"{who} (see its report)")
    return [_fit(f"  {service.name}: {note}") for note in notes]


def render_round(round_: RoundResult) -> str:
    """The table of one round, with its notes."""
    stages = ",".join(round_.stage_plan)
    merged = "all stages merged" if len(round_.stage_plan) > 1 else "1 stage"
    spread = round_.start_spread_ms
    title = f"round {round_.number}/{round_.of} · stages {stages} ({merged})"
    if spread is not None:
        title += f" · runs started within {spread:.1f} ms"
    if round_.interrupted:
        title += " · INTERRUPTED"
    header_cells = [*_ROUND_COLUMNS, (f"Δ {_LABEL[round_.metric]}", 13)]
    lines = [_fit(title), _row("gateway", header_cells), "-" * 94]
    lines += [_service_line(service) for service in round_.services]
    lines.append(
        f"times in ms; Δ = {_LABEL[round_.metric]} minus this round's fastest; "
        "gen CPU = cores used by its loadtest"
    )
    lines += _host_lines(round_)
    for service in round_.services:
        lines += _service_notes(service, round_.metric)
    if spread is not None and spread > SKEW_WARN_MS:
        lines.append(
            _fit(f"  runs started {spread:.0f} ms apart: raise --start-delay for a common start")
        )
    return "\n".join(lines) + "\n"


def _host_lines(round_: RoundResult) -> list[str]:
    """The generator's CPU on its host, and a warning past `HOST_SHARE_WARN`."""
    used, cores = round_.generator_cpu, round_.host_cores
    if used is None or not cores:
        return []
    share = used / cores
    lines = [f"generator CPU: {used:.2f} of {cores} cores ({share:.0%} of this host)"]
    if share > HOST_SHARE_WARN:
        lines += [
            f"  warning: the generator used over {HOST_SHARE_WARN:.0%} of this host's cores;",
            "  gateways on this host had less CPU than in separate runs (docs/multi-service.md)",
        ]
    return lines


def _rounds_list(numbers: Sequence[int]) -> str:
    word = "round" if len(numbers) == 1 else "rounds"
    return f"{word} {', '.join(str(n) for n in numbers)}"


def _summary_line(summary: GatewaySummary) -> str:
    deltas = summary.deltas_ms
    spread = f"{_signed(min(deltas))} .. {_signed(max(deltas))}" if deltas else "-"
    notes = []
    if summary.failed_rounds:
        notes.append(f"FAILED in {_rounds_list(summary.failed_rounds)}")
    if summary.no_data_rounds:
        notes.append(f"no data in {_rounds_list(summary.no_data_rounds)}")
    cells = [
        (f"{len(deltas)}/{summary.rounds}", 7),
        (fmt_table_ms(summary.median_value_ms), 11),
        (fmt_delta(summary.median_delta_ms), 13),
        (spread, 22),
    ]
    return _row(summary.name, cells) + ("  " + "; ".join(notes) if notes else "")


def render_summary(summaries: Sequence[GatewaySummary], metric: Metric, rounds: int) -> str:
    """The table over every round: per gateway the median delta and its range."""
    label = _LABEL[metric]
    title = f"summary over {rounds} round{'s' if rounds != 1 else ''} · Δ {label} per round"
    header = [("rounds", 7), (label, 11), ("Δ median", 13), ("Δ min..max", 22)]
    lines = [_fit(title), _row("gateway", header), "-" * 78]
    lines += [_fit(_summary_line(summary)) for summary in summaries]
    lines.append(
        f"times in ms; {label} and Δ are medians over the rounds a gateway has a value for"
    )
    return "\n".join(lines) + "\n"
