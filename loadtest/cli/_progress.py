"""Live progress of a run: a redrawn status line on a terminal, plain lines
every `_PLAIN_EVERY_S` otherwise. Reads `Engine.statistics()` only."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

import trio

from loadtest.config import ClosedStage
from loadtest.report import fmt_ms

if TYPE_CHECKING:
    from loadtest.engine import Engine, EngineStats

__all__ = ["show_progress"]

_TTY_EVERY_S = 1.0
_PLAIN_EVERY_S = 10.0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def progress_line(engine: Engine, stats: EngineStats, rps: float) -> str:
    """One status line (sync; merges two histograms, ~1 ms)."""
    stage, live = stats.stage, stats.live
    if stage is None or live is None:
        return "between stages"
    spec = engine.plan.stages[stage.index]
    load = f"{spec.concurrency} VUs" if isinstance(spec, ClosedStage) else f"@{spec.rate:g}/s"
    ttft = engine.live_percentiles("ttft")
    latency = engine.live_percentiles("latency")
    errors = ", ".join(f"{k} {v}" for k, v in sorted(live.errors.items())[:3])
    failed = f"{live.failed:,}" + (f" ({errors})" if errors else "")
    return (
        f"stage {stage.index + 1}/{stats.stage_count} {load} "
        f"{_clock(stage.elapsed_s)}/{_clock(stage.duration_s)}  in-flight {stage.in_flight}  "
        f"done {live.completed + live.warmup_turns:,}  rps {rps:,.1f}  "
        f"ttft p50/p95 {fmt_ms(ttft[0])}/{fmt_ms(ttft[1])}  "
        f"lat p50/p95 {fmt_ms(latency[0])}/{fmt_ms(latency[1])} ms  errors {failed}"
        + (f"  dropped {stage.dropped:,}" if stage.dropped else "")
        + _health_text(engine)
    )


def _health_text(engine: Engine) -> str:
    verdict, reasons = engine.live_health()
    return "" if verdict == "ok" else f"  generator {verdict}: {reasons[0]}"


async def show_progress(engine: Engine, out: TextIO = sys.stderr) -> None:
    """Print progress until cancelled (then end the status line)."""
    tty = out.isatty()
    every_s = _TTY_EVERY_S if tty else _PLAIN_EVERY_S
    last_done, last_at = 0, trio.current_time()
    try:
        while True:
            await trio.sleep(every_s)
            stats = engine.statistics()
            done = (stats.live.completed + stats.live.warmup_turns) if stats.live else 0
            now = trio.current_time()
            rps = max(done - last_done, 0) / (now - last_at) if now > last_at else 0.0
            last_done, last_at = done, now
            line = progress_line(engine, stats, rps)
            if tty:
                out.write("\r\x1b[K" + line[:200])
            else:
                out.write(line + "\n")
            out.flush()
    finally:
        if tty:
            out.write("\r\x1b[K")
            out.flush()
