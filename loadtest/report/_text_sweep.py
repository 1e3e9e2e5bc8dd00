"""The text report's goodput and sweep blocks (report/_text.py lays out
the report and calls these).

- Goodput, per stage (a run with SLOs): one row per scenario and the
  total: turns judged, good turns, goodput (good / judged) and good turns
  per second; the SLOs are named in the block's heading.
- Sweep (a summary with `sweep`, printed first): the knee in one sentence,
  then one row per probe: kind, offered and achieved rate (per second),
  goodput, TTFT p50/p99, latency p99 (ms; open probes corrected),
  generator health, and `pass`, `FAIL <reason>`, `not counted` (the
  generator was bound) or `stopped`.

Pure: summary dicts in, lines out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.report._cells import fmt_ms, num, table, wrap

__all__ = ["goodput_cell", "goodput_lines", "sweep_lines"]

Doc = Mapping[str, Any]


def goodput_cell(stats: Doc) -> str:
    """Goodput as a percentage ("-" when nothing was judged or no SLOs)."""
    goodput = stats.get("goodput") or {}
    value = goodput.get("share")
    return "-" if value is None else f"{100 * value:.1f}%"


def _per_s(value: float | None) -> str:
    return "-" if value is None else num(value)


def goodput_lines(stats: Sequence[Doc], slo: Sequence[str]) -> list[str]:
    """The per-stage goodput table (no lines for a run without SLOs)."""
    if not slo:
        return []
    rows = [
        [
            s["label"],
            f"{(s.get('goodput') or {}).get('judged', 0):,}",
            f"{(s.get('goodput') or {}).get('good', 0):,}",
            goodput_cell(s),
            _per_s((s.get("goodput") or {}).get("good_per_s")),
        ]
        for s in stats
    ]
    heading = f"goodput (ok turns within every SLO: {', '.join(slo)})"
    return [heading, *table(["scenario", "judged", "good", "goodput", "good/s"], rows)]


def _opt(value: float | None, fmt: str = "{:,.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def _result(probe: Doc) -> str:
    if probe["passed"]:
        return "pass"
    reason = probe["reason"]
    if reason is None:
        return "stopped"
    return "not counted" if reason == "generator-bound" else f"FAIL {reason}"


def sweep_lines(sweep: Doc) -> list[str]:
    """The sweep's knee and its probe table (docs/sweep.md)."""
    knee = sweep["knee"]
    target = f"{100 * sweep['goodput_target']:g}%"
    slo = ", ".join(sweep["slo"])
    stopped = any(not p["passed"] and p["reason"] is None for p in sweep["probes"])
    if knee["rate_rps"] is None and stopped:
        head = f"Sweep: stopped before any rate passed (goodput >= {target} of {slo})"
    elif knee["rate_rps"] is None:
        head = f"Sweep: no sustainable rate found (goodput >= {target} of {slo})"
    else:
        stage = knee["stage"] + 1 if knee["stage"] is not None else "-"
        head = (
            f"Sweep: knee at {knee['rate_rps']:g}/s (stage {stage}): the highest rate with "
            f"goodput >= {target} of {slo} and a healthy generator"
        )
    lines = [*wrap(head, "  "), *wrap(f"  {knee['note']}", "  ")]
    rows = [
        [
            str(p["stage"] + 1),
            p["kind"],
            _opt(p["offered_rps"], "{:g}"),
            _opt(p["achieved_rps"]),
            "-" if p["goodput"] is None else f"{100 * p['goodput']:.1f}%",
            fmt_ms(p["ttft_p50_ms"]),
            fmt_ms(p["ttft_p99_ms"]),
            fmt_ms(p["latency_p99_ms"]),
            p["health"],
            _result(p),
        ]
        for p in sweep["probes"]
    ]
    header = ["stage", "probe", "offered", "achieved", "goodput"]
    header += ["TTFT p50", "p99", "lat p99", "health", "result"]
    return [*lines, *(table(header, rows, first=5) if rows else ["  no probe ran"])]
