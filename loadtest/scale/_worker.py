"""One worker process of `loadtest run --workers N`: `python -m loadtest.scale._worker RESULT`.

Wire format (this module and `loadtest.cli._workers` only):
- standard input: the pickled `ShardJob`, then nothing until the parent
  closes it (or dies): end of input stops the shard as SIGTERM does, so a
  worker never outlives its parent;
- standard output: one JSON object per line, the shard's live progress
  (`ProgressFigures` fields), every `PROGRESS_EVERY_S`;
- `RESULT` (a path): the pickled `ShardResult`, written (whole, by rename)
  when the shard has ended; standard error: warnings and errors, as a run
  prints them.

Rules: the worker runs in its own session (the parent starts it so), so a
terminal's Ctrl-C reaches the parent only, which forwards one SIGTERM to
each worker. SIGINT or SIGTERM, even one that comes before the engine
runs, ends the current stage and the shard writes its result.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import orjson
import trio

from loadtest.cli._progress import RateSample, turn_rate
from loadtest.cli._progress import _done as done_turns
from loadtest.cli._progress import _figures as progress_figures
from loadtest.scale._shard import ShardJob, run_shard

if TYPE_CHECKING:
    from types import FrameType

    from loadtest.engine import Engine

__all__ = ["PROGRESS_EVERY_S", "main"]

PROGRESS_EVERY_S = 0.5
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_early: list[int] = []


def _note_early(signum: int, frame: FrameType | None) -> None:
    del frame
    _early.append(signum)


async def _stop_on_signals(engine: Engine) -> None:
    with trio.open_signal_receiver(*_SIGNALS) as signals:
        if _early:
            engine.request_stop()
        async for _ in signals:
            engine.request_stop()


async def _watch_stdin(engine: Engine) -> None:
    async with trio.lowlevel.FdStream(os.dup(0)) as stdin:
        while await stdin.receive_some(4096):
            pass
    engine.request_stop()


async def _report_progress(engine: Engine) -> None:
    last = RateSample(None, 0, trio.current_time())
    while True:
        await trio.sleep(PROGRESS_EVERY_S)
        view = engine.live
        if view is None:
            continue
        sample = RateSample(view.index, done_turns(view.counts), trio.current_time())
        figures = progress_figures(
            view, engine.plan.stages, turn_rate(last, sample, view.elapsed_s)
        )
        last = sample
        with contextlib.suppress(OSError):  # the parent is gone: stdin says so
            sys.stdout.buffer.write(orjson.dumps(attrs.asdict(figures)) + b"\n")
            sys.stdout.flush()


def main(argv: list[str]) -> int:
    for signum in _SIGNALS:
        signal.signal(signum, _note_early)
    result_path = Path(argv[0])
    job: ShardJob = pickle.load(sys.stdin.buffer)
    result = run_shard(job, tasks=(_stop_on_signals, _watch_stdin, _report_progress))
    if result.error:
        print(f"loadtest: worker {job.index}: error: {result.error}", file=sys.stderr)
    partial = result_path.with_suffix(".part")
    partial.write_bytes(pickle.dumps(result))
    partial.replace(result_path)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
