"""`loadtest run --workers N`: N shard processes on this host, one set of outputs.

The parent has resolved and checked the plan (and sent the pre-flight
requests) once; it starts N worker processes (`loadtest.scale._worker`),
each running execution segment K/N from one shared start time, shows one
progress line summing theirs, and writes the merged outputs
(`write_merged_outputs`).

Rules:
- `--workers auto` is one worker per core this process may run on
  (`os.sched_getaffinity`); `--workers 1` is the one-process run (no
  worker process).
- Workers are separate processes (`subprocess`, not `multiprocessing`):
  each starts in its own session, so a terminal's Ctrl-C reaches the
  parent only and each worker gets exactly one SIGTERM from it; and a
  worker that dies (even by SIGKILL) is only a missing segment. Each
  holds the parent's pipe on its standard input: if the parent dies, the
  workers stop.
- The shared start is `_START_DELAY_S` (plus `_START_PER_WORKER_S` each)
  after the workers are launched, or `--start-at`: long enough for a
  worker to start Python and open its engine on a busy machine. Each
  shard's summary records how late it started (`start_skew_ms`).
- Before anything is sent, the whole host is checked: each worker's
  open-file limit against its share of the connections, and the
  ephemeral port range against the plan's connections to one target;
  a shortfall is a warning, as for one process.
- The progress line sums the workers' counts, in-flight turns and rates;
  its percentiles are the slowest worker's; its health the worst's.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs
import orjson
import trio

from loadtest.cli._outputs import announce_outputs
from loadtest.cli._progress import ProgressFigures, fit_line
from loadtest.cli._progress import _width as terminal_width
from loadtest.cli._signals import stop_when_stdin_closes
from loadtest.config import ClosedStage, Segment
from loadtest.config._words import counted
from loadtest.engine._health import FD_MARGIN, fds_needed
from loadtest.errors import ConfigError
from loadtest.scale import ShardJob, ShardResult, shard_jobs
from loadtest.scale._outputs import missing_reason, write_merged_outputs

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loadtest.cli._outputs import OutputPaths
    from loadtest.cli._signals import StopSignals
    from loadtest.config import RunPlan

__all__ = [
    "died_starting",
    "host_warnings",
    "parse_workers",
    "run_workers",
    "start_time",
    "write_worker_outputs",
]

_START_DELAY_S = 2.0
_START_PER_WORKER_S = 0.25
_MAX_WORKERS = 1024
_RANK = {"ok": 0, "suspect": 1, "generator-bound": 2}
_TTY_EVERY_S = 1.0
_PLAIN_EVERY_S = 10.0
_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def parse_workers(text: str | None) -> int:
    """`--workers`: a whole number of at least 1, or `auto` (one per usable core)."""
    if text is None:
        return 1
    if text.strip().lower() == "auto":
        return len(os.sched_getaffinity(0))
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= _MAX_WORKERS:
        raise ConfigError(
            f"--workers {text!r}: expected a whole number from 1 to {_MAX_WORKERS}, or auto"
        )
    return count


def host_warnings(plan: RunPlan, count: int) -> list[str]:
    """Shortfalls of this host for `count` workers of `plan` (open files per
    worker, ephemeral ports for the whole plan)."""
    warnings = []
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for index in range(count):
        needed = fds_needed(attrs.evolve(plan, segment=Segment(index, count)))
        if hard != resource.RLIM_INFINITY and hard < needed:
            warnings.append(
                f"worker {index}: open-file hard limit {hard} is below the {needed} "
                f"descriptors its share can need (one per connection + {FD_MARGIN})"
            )
            break
    connections = max(
        [s.concurrency for s in plan.stages if isinstance(s, ClosedStage)]
        + [plan.max_in_flight or 0]
    )
    try:
        low, high = map(int, _PORT_RANGE.read_text().split())
    except (OSError, ValueError):
        return warnings
    if connections > high - low + 1:
        warnings.append(
            f"{counted(connections, 'connection')} to one target need more ephemeral ports "
            f"than this host's range {low}-{high} ({high - low + 1:,}): expect "
            "gen_port_exhaustion errors"
        )
    return warnings


def start_time(count: int, start_at: float | None) -> float:
    """The workers' shared start (Unix s)."""
    if start_at is not None:
        return start_at
    return time.time() + _START_DELAY_S + _START_PER_WORKER_S * count


@attrs.define
class _Workers:
    """The running worker processes; `request_stop` signals each one once
    (a worker started after it is signalled as it starts)."""

    processes: list[trio.Process] = attrs.Factory(list)
    stopped: bool = False
    signalled: set[int] = attrs.Factory(set)

    def request_stop(self) -> None:
        self.stopped = True
        for process in self.processes:
            if process.pid not in self.signalled and process.returncode is None:
                self.signalled.add(process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)

    def add(self, process: trio.Process) -> None:
        self.processes.append(process)
        if self.stopped:
            self.request_stop()


def _sum(figures: Sequence[ProgressFigures], plan: RunPlan) -> ProgressFigures:
    """One progress line of every worker's figures."""
    first = max(figures, key=lambda f: (f.stage_index, f.elapsed_s))
    same = [f for f in figures if f.stage_index == first.stage_index]
    worst = max(same, key=lambda f: _RANK.get(f.verdict, 1))
    errors: dict[str, int] = {}
    for f in same:
        for name, n in f.errors.items():
            errors[name] = errors.get(name, 0) + n
    stage = plan.stages[first.stage_index] if first.stage_index < len(plan.stages) else None
    load = first.load
    if isinstance(stage, ClosedStage):
        load = counted(stage.concurrency, "VU")
    elif stage is not None:
        load = f"@{stage.rate:g}/s"

    def slowest(name: str) -> tuple[float | None, float | None]:
        pairs = [getattr(f, name) for f in same]
        return (
            max((p[0] for p in pairs if p[0] is not None), default=None),
            max((p[1] for p in pairs if p[1] is not None), default=None),
        )

    return attrs.evolve(
        first,
        load=load,
        in_flight=sum(f.in_flight for f in same),
        done=sum(f.done for f in same),
        rps=sum(f.rps for f in same),
        ttft_ms=slowest("ttft_ms"),
        latency_ms=slowest("latency_ms"),
        failed=sum(f.failed for f in same),
        errors=errors,
        dropped=sum(f.dropped for f in same),
        verdict=worst.verdict,
        reason=worst.reason,
    )


async def _read_progress(
    process: trio.Process, index: int, latest: dict[int, ProgressFigures]
) -> None:
    assert process.stdout is not None
    buffer = b""
    async for chunk in process.stdout:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            try:
                data: dict[str, Any] = orjson.loads(line)
                data["ttft_ms"] = tuple(data["ttft_ms"])
                data["latency_ms"] = tuple(data["latency_ms"])
                latest[index] = ProgressFigures(**data)
            except (ValueError, TypeError, KeyError):
                continue  # not a progress line: ignored


async def _show_progress(
    latest: dict[int, ProgressFigures], plan: RunPlan, out: TextIO = sys.stderr
) -> None:
    tty = out.isatty()
    try:
        while True:
            await trio.sleep(_TTY_EVERY_S if tty else _PLAIN_EVERY_S)
            figures = list(latest.values())
            line = fit_line(_sum(figures, plan), terminal_width(out) if tty else None)
            line = line if figures else "starting workers"
            out.write(f"\r\x1b[K{line}" if tty else f"{line}\n")
            out.flush()
    finally:
        if tty:
            out.write("\r\x1b[K")
            out.flush()


async def _run_all(
    jobs: Sequence[ShardJob],
    directory: Path,
    quiet: bool,
    signals: StopSignals,
    plan: RunPlan,
    watch_stdin: bool,
) -> list[ShardResult]:
    workers = _Workers()
    latest: dict[int, ProgressFigures] = {}
    codes: dict[int, int] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(signals.watch, workers)
        if watch_stdin:
            nursery.start_soon(stop_when_stdin_closes, workers)
        for job in jobs:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "loadtest.scale._worker", str(directory / f"{job.index}")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
            workers.add(process)
            assert process.stdin is not None
            await process.stdin.send_all(pickle.dumps(job))
            nursery.start_soon(_read_progress, process, job.index, latest)
        if not quiet:
            nursery.start_soon(_show_progress, latest, plan)
        for job, process in zip(jobs, workers.processes, strict=True):
            codes[job.index] = await process.wait()
        for process in workers.processes:
            assert process.stdin is not None
            await process.stdin.aclose()
        nursery.cancel_scope.cancel()
    return [_result(job, directory, codes[job.index]) for job in jobs]


def _result(job: ShardJob, directory: Path, code: int) -> ShardResult:
    path = directory / f"{job.index}"
    try:
        result: ShardResult = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError):
        left = Path(job.jsonl_dir, job.jsonl_name) if job.jsonl_dir is not None else None
        kept = str(left) if left is not None and left.is_file() and left.stat().st_size else None
        return ShardResult(
            job.index,
            job.count,
            socket.gethostname(),
            code,
            "it died without a result",
            jsonl_path=kept,
        )
    return result


def died_starting(results: Sequence[ShardResult]) -> bool:
    """Whether every worker died of the SIGTERM it was sent before it could
    catch it: each was still starting, so none sent any load."""
    return all(r.summary is None and r.exit_code == -signal.SIGTERM for r in results)


def run_workers(
    plan: RunPlan,
    count: int,
    paths: OutputPaths,
    start_at_unix_s: float,
    *,
    quiet: bool,
    signals: StopSignals,
    watch_stdin: bool = False,
) -> list[ShardResult]:
    """Run `plan` in `count` worker processes (segment K/N each, JSONL in
    `paths`); their results, in segment order."""
    jobs = shard_jobs(
        plan,
        count,
        start_at_unix_s=start_at_unix_s,
        run_id=uuid.uuid4().hex,
        stamp=paths.stamp,
        env=os.environ,
        jsonl_dir=str(paths.directory),
    )
    with tempfile.TemporaryDirectory(prefix="loadtest-workers-") as directory:
        return trio.run(_run_all, jobs, Path(directory), quiet, signals, plan, watch_stdin)


def write_worker_outputs(
    results: Sequence[ShardResult], paths: OutputPaths, *, profile_text: str
) -> tuple[dict[str, Any], bool]:
    """Write the merged outputs, print the report and where everything
    went; the summary, and whether the run failed (a worker left no
    summary, or an output could not be written in --out)."""
    merged = write_merged_outputs(results, paths, profile_text=profile_text)
    outcome = merged.written
    sys.stdout.write(merged.report)
    announce_outputs(paths, outcome, [paths.directory / name for name in merged.jsonl])
    dead = [r for r in results if r.summary is None]
    for result in dead:
        left = f"; its JSONL up to then: {result.jsonl_path}" if result.jsonl_path else ""
        print(
            f"loadtest: error: {missing_reason(result)}: its segment {result.segment} is "
            f"missing from the merged outputs (marked partial){left}",
            file=sys.stderr,
        )
    return merged.summary, bool(outcome.failures or dead)
