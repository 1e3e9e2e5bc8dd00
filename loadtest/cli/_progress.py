"""Live progress of a run: a redrawn status line on a terminal, plain lines
every `_PLAIN_EVERY_S` otherwise. Reads the engine's live view (`Engine.live`)
only, as any script can.

Rules:
- On a terminal the line fits the terminal's width (read at every redraw),
  so it never wraps and never leaves a stale line behind: whole fields are
  dropped, least important first, never cut in the middle. A plain line
  (not a terminal) is always whole.
- The rate is turns finished per second over the time since the previous
  line; when a stage began in between (its counts restart at zero), over
  that stage's elapsed time instead.
- The stage field reads `stage i/N` for a stage of the plan (N stages);
  a stage a script gave at run time (not the plan's stage of that number)
  reads `stage i`: the plan's count says nothing about it.
- `fit_line` and `turn_rate` are pure; `show_progress` is the loop around them.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from typing import TYPE_CHECKING, TextIO

import attrs
import trio

from loadtest.config import ClosedStage, format_load
from loadtest.config._words import counted
from loadtest.metrics import Metric
from loadtest.report import fmt_ms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loadtest.config import Stage
    from loadtest.engine import Engine, LiveView
    from loadtest.metrics import LiveStats

__all__ = ["ProgressFigures", "RateSample", "fit_line", "show_progress", "turn_rate"]

_TTY_EVERY_S = 1.0
_PLAIN_EVERY_S = 10.0


@attrs.frozen
class ProgressFigures:
    """What one progress line shows: the running stage so far."""

    stage_index: int
    #: Stages in the plan; None for a stage given at run time.
    stage_count: int | None
    load: str
    elapsed_s: float
    duration_s: float
    in_flight: int
    done: int
    rps: float
    ttft_ms: tuple[float | None, float | None]
    latency_ms: tuple[float | None, float | None]
    failed: int
    errors: dict[str, int]
    dropped: int = 0
    verdict: str = "ok"
    reason: str = ""


@attrs.frozen
class _Field:
    """One field of the line. `rank`: lower is kept longer. `joiner` goes
    before it: a detail of the field before it has a shorter one (and a
    higher rank, so it goes first)."""

    text: str
    rank: int
    joiner: str = "  "


def _clock(seconds: float) -> str:
    if math.isinf(seconds):  # a stage that ends by its request count only
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def _fields(f: ProgressFigures) -> list[_Field]:
    """The fields in display order, each with its rank."""
    number = f"{f.stage_index + 1}" + (f"/{f.stage_count}" if f.stage_count is not None else "")
    fields = [
        _Field(
            f"stage {number} {f.load} {_clock(f.elapsed_s)}/{_clock(f.duration_s)}",
            0,
        ),
        _Field(f"in-flight {f.in_flight}", 6),
        _Field(f"done {f.done:,}", 4),
        _Field(f"rps {f.rps:,.1f}", 2),
        _Field(f"ttft p50/p95 {fmt_ms(f.ttft_ms[0])}/{fmt_ms(f.ttft_ms[1])}", 3),
        _Field(f"lat p50/p95 {fmt_ms(f.latency_ms[0])}/{fmt_ms(f.latency_ms[1])} ms", 5),
        _Field(f"errors {f.failed:,}", 1),
    ]
    if f.errors:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(f.errors.items())[:3])
        fields.append(_Field(f"({detail})", 8, joiner=" "))
    if f.dropped:
        fields.append(_Field(f"dropped {f.dropped:,}", 4))
    if f.verdict != "ok":
        fields.append(_Field(f"generator {f.verdict}", 2))
        if f.reason:
            fields.append(_Field(f.reason, 7, joiner=": "))
    return fields


def _join(fields: list[_Field]) -> str:
    return fields[0].text + "".join(field.joiner + field.text for field in fields[1:])


def fit_line(figures: ProgressFigures, width: int | None) -> str:
    """The progress line, at most `width` characters (None: no limit).

    Fields are dropped whole, highest rank first (the latest of equal rank
    first); only when the first field alone is too wide is it cut."""
    fields = _fields(figures)
    line = _join(fields)
    while width is not None and len(line) > width and len(fields) > 1:
        worst = max(range(1, len(fields)), key=lambda i: (fields[i].rank, i))
        del fields[worst]
        line = _join(fields)
    return line if width is None else line[:width]


@attrs.frozen
class RateSample:
    """Turns finished so far in the running stage (None: between stages), at
    a time on trio's clock (s)."""

    stage_index: int | None
    done: int
    at_s: float


def turn_rate(before: RateSample, now: RateSample, stage_elapsed_s: float) -> float:
    """Turns per second between two samples; over the stage's elapsed time
    when `now` is of another stage than `before` (the counts restarted)."""
    if now.stage_index is None:
        return 0.0
    if now.stage_index == before.stage_index:
        turns, window_s = now.done - before.done, now.at_s - before.at_s
    else:
        turns, window_s = now.done, stage_elapsed_s
    return max(turns, 0) / window_s if window_s > 0 else 0.0


def _done(counts: LiveStats | None) -> int:
    return (counts.completed + counts.warmup_turns) if counts else 0


def _p50_p95_ms(view: LiveView, metric: Metric) -> tuple[float | None, float | None]:
    values = view.percentiles_ms(metric, [50.0, 95.0])
    return values[50.0], values[95.0]


def _plan_stage_count(view: LiveView, planned: Sequence[Stage]) -> int | None:
    """The plan's stage count if the running stage is the plan's stage of
    its number; None for a stage given at run time."""
    index = view.index
    return len(planned) if index < len(planned) and planned[index] == view.stage else None


def _figures(view: LiveView, planned: Sequence[Stage], rps: float) -> ProgressFigures:
    """The figures of the running stage (sync; merges two histograms, ~1 ms)."""
    stage, live, spec = view.stats, view.counts, view.stage
    health = view.health()
    return ProgressFigures(
        stage_index=stage.index,
        stage_count=_plan_stage_count(view, planned),
        load=(
            counted(spec.concurrency, "VU")
            if isinstance(spec, ClosedStage) and spec.ramp_to is None
            else format_load(spec)
        ),
        elapsed_s=stage.elapsed_s,
        duration_s=stage.duration_s,
        in_flight=stage.in_flight,
        done=_done(live),
        rps=rps,
        ttft_ms=_p50_p95_ms(view, Metric.TTFT),
        latency_ms=_p50_p95_ms(view, Metric.LATENCY),
        failed=live.failed,
        errors=dict(live.errors),
        dropped=stage.dropped,
        verdict=health.verdict,
        reason=health.reasons[0] if health.reasons else "",
    )


def _width(out: TextIO) -> int:
    """Columns of the terminal `out` writes to, less one: writing into the
    last column makes some terminals wrap."""
    try:
        columns = os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError):
        columns = shutil.get_terminal_size().columns
    return max(columns - 1, 1)


async def show_progress(engine: Engine, out: TextIO = sys.stderr) -> None:
    """Print progress until cancelled (then end the status line)."""
    tty = out.isatty()
    every_s = _TTY_EVERY_S if tty else _PLAIN_EVERY_S
    last = RateSample(None, 0, trio.current_time())
    try:
        while True:
            await trio.sleep(every_s)
            view = engine.live
            counts = view.counts if view is not None else None
            index = view.index if view is not None else None
            sample = RateSample(index, _done(counts), trio.current_time())
            elapsed_s = view.elapsed_s if view is not None else 0.0
            rps = turn_rate(last, sample, elapsed_s)
            figures = _figures(view, engine.plan.stages, rps) if view else None
            last = sample
            if tty:
                line = fit_line(figures, _width(out)) if figures else "between stages"
                out.write("\r\x1b[K" + line)
            else:
                out.write((fit_line(figures, None) if figures else "between stages") + "\n")
            out.flush()
    finally:
        if tty:
            out.write("\r\x1b[K")
            out.flush()
