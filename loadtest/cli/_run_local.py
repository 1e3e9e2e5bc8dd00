"""One process's run of the plan: the engine under trio, with its JSONL
sink, the stop signals, the live metrics endpoint, the watch on standard
input and the shared start time (--start-at).

What was measured is returned even when the run is stopped (by signals,
or standard input closing); a JSONL file that cannot be written stops its
writing, not the run.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import attrs
import trio

from loadtest.cli._outputs import jsonl_failed
from loadtest.cli._progress import show_progress
from loadtest.cli._signals import stop_when_stdin_closes
from loadtest.engine import JsonlSink, RunResult, open_engine, serve_metrics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from loadtest.cli._outputs import OutputPaths
    from loadtest.cli._signals import StopSignals
    from loadtest.config import RunPlan
    from loadtest.engine import Engine


def _generator_facts(plan: RunPlan, skew_ms: float | None) -> dict[str, Any]:
    """What a segment's summary records of its generator: host, segment,
    and how late it started after --start-at."""
    facts: dict[str, Any] = {}
    if not plan.segment.whole:
        facts |= {"host": socket.gethostname(), "segment": str(plan.segment)}
    if skew_ms is not None:
        facts["start_skew_ms"] = skew_ms
    return facts


@attrs.frozen
class _RunOptions:
    quiet: bool = False
    start_at: float | None = None
    watch_stdin: bool = False
    metrics: socket.socket | None = None


#: A run starting later than this after --start-at gets a warning.
_LATE_START_S = 0.1


@contextlib.asynccontextmanager
async def open_session(
    plan: RunPlan, paths: OutputPaths, what: str, signals: StopSignals
) -> AsyncIterator[tuple[Engine, JsonlSink, trio.Nursery]]:
    """The engine of a `what` ("run", "sweep") with what every one has around
    it: its JSONL sink serving, its warnings printed, the stop signals
    watched; and the nursery for the caller's own tasks (cancelled on exit)."""
    sink = JsonlSink(paths.jsonl, on_failure=jsonl_failed(what))
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        async with open_engine(plan, sink=sink) as engine:
            for warning in engine.warnings:
                print(f"loadtest: warning: {warning}", file=sys.stderr)
            nursery.start_soon(signals.watch, engine)
            yield engine, sink, nursery
        nursery.cancel_scope.cancel()


async def _run_engine(
    plan: RunPlan, paths: OutputPaths, options: _RunOptions, signals: StopSignals
) -> tuple[RunResult, JsonlSink, float | None]:
    async with open_session(plan, paths, "run", signals) as (engine, sink, nursery):
        if options.metrics is not None:
            await nursery.start(serve_metrics, engine, options.metrics)
        if options.watch_stdin:
            nursery.start_soon(stop_when_stdin_closes, engine)
        skew_ms = None
        if options.start_at is not None:
            await _wait_for_start(options.start_at, engine)
            skew_ms = round((time.time() - options.start_at) * 1000, 3)
        if not options.quiet:
            nursery.start_soon(show_progress, engine)
        result = await engine.run()
    return result, sink, skew_ms


async def _wait_for_start(start_at: float, engine: Engine) -> None:
    """Sleep until `start_at` (Unix seconds), unless a stop comes first."""
    late_s = time.time() - start_at
    if late_s > _LATE_START_S:
        print(
            f"loadtest: warning: starting {late_s * 1000:.0f} ms after --start-at "
            "(a shared start time is only shared when every process is early)",
            file=sys.stderr,
        )
    with trio.move_on_after(max(start_at - time.time(), 0.0)):
        await engine.wait_stop_requested()
