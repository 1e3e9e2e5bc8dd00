"""`compare`: stage-by-stage deltas between two summaries, and regressions.

Stages are matched by index AND load (mode, concurrency or rate, and a
ramp's other end): a stage present in one summary only, or whose load
differs, is listed as
unmatched and not compared (when no stage matches, or every figure of
the matched stages is "n/a" or "few", the verdict says nothing was
compared; `loadtest compare` then exits 2: a gate that judged nothing
must not pass). In each matched
stage the total is compared, then every scenario present in both (by name).

Rules for a regression (defaults: `regress_pct` 10, `error_points` 1):
- RPS (`throughput_rps`) drops by more than `regress_pct` %;
- a latency (p50/p95/p99), TTFT (p50/p95) or ITL (p99) percentile rises by
  more than `regress_pct` % AND by at least `MIN_RISE_MS` (1 ms): below
  that, a rise is timer and scheduler noise, however large in percent;
- the error rate rises by more than `error_points` percentage points
  (relative change is meaningless near zero: 0.1% -> 0.2% is +100%).
Noise and missing data never count as a regression, and are marked:
- "n/a": no value on one side (an empty histogram, e.g. TTFT of a
  non-streamed scenario; the error rate of a stage where no turn
  completed; a rate over an empty steady window);
- "few": fewer than `MIN_SAMPLES` (10) values on a side; for RPS only the
  old side needs them, so a collapse to zero turns still counts.

Pure: summary dicts in, a frozen `Comparison` and text out; sends no load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from loadtest.config._words import counted
from loadtest.report._text import fmt_ms

__all__ = [
    "MIN_RISE_MS",
    "MIN_SAMPLES",
    "Comparison",
    "Delta",
    "ScopeComparison",
    "compare_summaries",
    "render_comparison",
]

Doc = Mapping[str, Any]

#: A latency-type percentile must rise by at least this much to regress.
MIN_RISE_MS = 1.0
#: Fewer values than this on a side: the delta is shown, not judged.
MIN_SAMPLES = 10

#: (label, statistics key, percentile key) of each compared percentile.
_PERCENTILES = (
    ("latency p50", "latency_ms", "p50"),
    ("latency p95", "latency_ms", "p95"),
    ("latency p99", "latency_ms", "p99"),
    ("ttft p50", "ttft_ms", "p50"),
    ("ttft p95", "ttft_ms", "p95"),
    ("itl p99", "itl_ms", "p99"),
)


@attrs.frozen
class Delta:
    """One compared figure. `kind` is "rps", "ms" or "rate" (a fraction);
    `note` is "", "n/a" (no value on a side) or "few" (too few samples)."""

    metric: str
    kind: str
    old: float | None
    new: float | None
    regression: bool = False
    note: str = ""

    @property
    def change(self) -> float | None:
        """Relative change in % ("rps", "ms"), or in points ("rate");
        None when a side is missing or the old value is 0 (for %)."""
        if self.old is None or self.new is None:
            return None
        if self.kind == "rate":
            return (self.new - self.old) * 100
        return (self.new - self.old) / self.old * 100 if self.old else None


@attrs.frozen
class ScopeComparison:
    """A stage total or one scenario of a matched stage."""

    stage: int
    load: str
    scope: str
    deltas: tuple[Delta, ...]


@attrs.frozen
class Comparison:
    """The result of `compare_summaries`."""

    old_run: str
    new_run: str
    regress_pct: float
    error_points: float
    scopes: tuple[ScopeComparison, ...]
    unmatched: tuple[str, ...]

    @property
    def regressions(self) -> tuple[tuple[ScopeComparison, Delta], ...]:
        return tuple((s, d) for s in self.scopes for d in s.deltas if d.regression)

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    @property
    def judged(self) -> int:
        """How many figures were compared and judged (neither n/a nor few)."""
        return sum(not d.note for s in self.scopes for d in s.deltas)


def _load(stage: Doc) -> str:
    ramp = stage.get("ramp_to")
    if stage["mode"] == "closed":
        if ramp is not None:
            return f"closed {stage['concurrency']}->{ramp:g} VUs"
        return f"closed {counted(stage['concurrency'], 'VU')}"
    return f"open {stage['rate']:g}{'' if ramp is None else f'->{ramp:g}'}/s"


def _rps_delta(old: Doc, new: Doc, pct: float) -> Delta:
    o, n = _float(old["throughput_rps"]), _float(new["throughput_rps"])
    if o is None or n is None:
        return Delta("rps", "rps", o, n, note="n/a")
    if old["requests"] < MIN_SAMPLES:
        return Delta("rps", "rps", o, n, note="few")
    return Delta("rps", "rps", o, n, regression=o > 0 and (o - n) / o * 100 > pct)


def _percentile_delta(label: str, key: str, p: str, old: Doc, new: Doc, pct: float) -> Delta:
    o, n = old[key][p], new[key][p]
    if o is None or n is None:
        return Delta(label, "ms", o, n, note="n/a")
    if min(old[key]["count"], new[key]["count"]) < MIN_SAMPLES:
        return Delta(label, "ms", o, n, note="few")
    rise = n - o
    regressed = rise >= MIN_RISE_MS and (o == 0 or rise / o * 100 > pct)
    return Delta(label, "ms", o, n, regression=regressed)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _error_delta(old: Doc, new: Doc, points: float) -> Delta:
    o, n = _float(old["error_rate"]), _float(new["error_rate"])
    if o is None or n is None:
        return Delta("error rate", "rate", o, n, note="n/a")
    if min(old["requests"], new["requests"]) < MIN_SAMPLES:
        return Delta("error rate", "rate", o, n, note="few")
    return Delta("error rate", "rate", o, n, regression=(n - o) * 100 > points)


def _deltas(old: Doc, new: Doc, pct: float, points: float) -> tuple[Delta, ...]:
    return (
        _rps_delta(old, new, pct),
        *(_percentile_delta(*spec, old, new, pct) for spec in _PERCENTILES),
        _error_delta(old, new, points),
    )


def _compare_stage(
    index: int, old: Doc, new: Doc, pct: float, points: float
) -> list[ScopeComparison]:
    load = _load(old)
    totals = _deltas(old["total"], new["total"], pct, points)
    scopes = [ScopeComparison(index, load, "total", totals)]
    theirs = {s["label"]: s for s in new["scenarios"]}
    for mine in old["scenarios"]:
        if mine["label"] in theirs:
            deltas = _deltas(mine, theirs[mine["label"]], pct, points)
            scopes.append(ScopeComparison(index, load, mine["label"], deltas))
    return scopes


def _run_label(summary: Doc) -> str:
    run = summary["run"]
    return f"{run['profile']} started {run['started_at']}"


def compare_summaries(
    old: Doc, new: Doc, regress_pct: float = 10.0, error_points: float = 1.0
) -> Comparison:
    """Compare `new` against the baseline `old` (see the module rules)."""
    scopes: list[ScopeComparison] = []
    unmatched: list[str] = []
    old_stages, new_stages = old["stages"], new["stages"]
    for i in range(max(len(old_stages), len(new_stages))):
        if i >= len(new_stages) or i >= len(old_stages):
            only = "old" if i < len(old_stages) else "new"
            stage = (old_stages if only == "old" else new_stages)[i]
            unmatched.append(f"stage {i + 1} ({_load(stage)}): only in the {only} summary")
        elif _load(old_stages[i]) != _load(new_stages[i]):
            unmatched.append(
                f"stage {i + 1}: load differs ({_load(old_stages[i])} -> {_load(new_stages[i])})"
            )
        else:
            scopes += _compare_stage(i, old_stages[i], new_stages[i], regress_pct, error_points)
    return Comparison(
        old_run=_run_label(old),
        new_run=_run_label(new),
        regress_pct=regress_pct,
        error_points=error_points,
        scopes=tuple(scopes),
        unmatched=tuple(unmatched),
    )


# -- rendering ----------------------------------------------------------------


def _value_text(kind: str, value: float | None) -> str:
    if value is None:
        return "-"
    if kind == "rps":
        return f"{value:,.1f}"
    if kind == "rate":
        return f"{value * 100:.2f}%"
    return fmt_ms(value)


def _change_text(delta: Delta) -> str:
    change = delta.change
    if change is None:
        return "-"
    return f"{change:+.2f} pt" if delta.kind == "rate" else f"{change:+.1f}%"


def _flag(delta: Delta) -> str:
    return "REGRESSION" if delta.regression else delta.note


def _scope_rows(scope: ScopeComparison) -> list[list[str]]:
    rows = []
    for n, delta in enumerate(scope.deltas):
        metric = delta.metric + (" ms" if delta.kind == "ms" else "")
        rows.append(
            [
                scope.scope if n == 0 else "",
                metric,
                _value_text(delta.kind, delta.old),
                _value_text(delta.kind, delta.new),
                _change_text(delta),
                _flag(delta),
            ]
        )
    return rows


_HEADER = ("scope", "metric", "old", "new", "change", "")
_WIDTHS = (16, 15, 11, 11, 10, 10)


def _row_text(cells: list[str] | tuple[str, ...]) -> str:
    scope = cells[0] if len(cells[0]) <= _WIDTHS[0] else cells[0][: _WIDTHS[0] - 1] + "~"
    parts = [f"  {scope:<{_WIDTHS[0]}}", f"{cells[1]:<{_WIDTHS[1]}}"]
    parts += [f"{c:>{w}}" for c, w in zip(cells[2:5], _WIDTHS[2:5], strict=True)]
    parts.append(cells[5])
    return "  ".join(parts).rstrip()


def _verdict_lines(c: Comparison) -> list[str]:
    found = c.regressions
    if not c.scopes:
        return ["verdict: nothing compared (no stage has the same index and load in both)"]
    if not c.judged:
        return [
            "verdict: nothing compared (every figure is n/a or few: no data, or under "
            f"{MIN_SAMPLES} samples, on a side)"
        ]
    if not found:
        return ["verdict: no regression"]
    lines = [f"verdict: REGRESSION ({len(found)} found)"]
    for scope, delta in found:
        unit = " ms" if delta.kind == "ms" else ""
        lines.append(
            f"  stage {scope.stage + 1} {scope.scope}: {delta.metric} "
            f"{_value_text(delta.kind, delta.old)}{unit} -> "
            f"{_value_text(delta.kind, delta.new)}{unit} ({_change_text(delta)})"
        )
    return lines


def _rules_line(c: Comparison) -> str:
    return (
        f"rules: regression if rps drops > {c.regress_pct:g}%, a latency/ttft/itl percentile "
        f"rises > {c.regress_pct:g}% and >= {MIN_RISE_MS:g} ms,\n"
        f"       or the error rate rises > {c.error_points:g} pt (percentage points); "
        f"n/a = no data on a side,\n       few = < {MIN_SAMPLES} samples on a side "
        "(both shown, never judged)"
    )


def render_comparison(c: Comparison) -> str:
    """The comparison as text for a 100-column terminal: verdict first."""
    lines = [f"old: {c.old_run}", f"new: {c.new_run}", *_verdict_lines(c), _rules_line(c)]
    stage = None
    for scope in c.scopes:
        if scope.stage != stage:
            stage = scope.stage
            lines += ["", f"Stage {stage + 1}: {scope.load}", _row_text(_HEADER)]
        lines += [_row_text(row) for row in _scope_rows(scope)]
    if c.unmatched:
        lines += ["", "Not compared:", *(f"  {text}" for text in c.unmatched)]
    return "\n".join(lines) + "\n"
