"""Running one round: every gateway's `loadtest run` in its own process, started together.

Rules:
- Each gateway runs `loadtest run PROFILE --target ... --start-at T --quiet
  --no-preflight --out ROUND/NAME` in a child process of the current
  interpreter. No pre-flight: its request (a whole answer, seconds for a
  slow gateway) would eat into the start delay and spread the shared start;
  a dead gateway shows anyway, as a run with no successful turn (exit 5). All
  children of a round get the same T (now + the start delay) and sleep until
  it, so how long each takes to start does not matter as long as the delay
  covers it; each summary records the actual start, and the round reports how
  far apart they were.
- A key reaches its child only as `LOADTEST_VK` in that child's environment
  (never on a command line, so never in `ps`); a gateway without `key_env`
  gets no `LOADTEST_VK` even if this process has one. Header values pass
  through unexpanded, so `${NAME}` in them is read by the child.
- Nothing outlives a round. Children run in their own session, so a Ctrl-C
  at the terminal reaches only this process: the first SIGINT or SIGTERM
  sends each child one SIGTERM (it ends its current stage and writes its
  outputs), a second one kills them; a child still running `stop_grace_s`
  after its SIGTERM is killed. If this process dies, each child's stdin (a
  pipe whose write end only this process holds) reaches EOF, and the child
  sends itself SIGTERM: the parent-death watchdog.
- A child that exits other than 0, 3 (failed thresholds), 5 (no successful
  turn) or 130 (stopped early; its summary says so), or leaves no readable
  summary, is a FAILED row with what its stderr said last; a run with a
  summary but no successful steady turn is a FAILED row that keeps its
  figures. The other gateways' results stand.

Each child's stdout and stderr go to `stdout.log` and `stderr.log` beside its outputs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

import attrs
import trio

from loadtest.errors import (
    EXIT_INTERRUPTED,
    EXIT_NO_SUCCESS,
    EXIT_OK,
    EXIT_THRESHOLDS,
    RuntimeFailure,
)
from loadtest.multiservice._results import ServiceRound, figures_from_summary, no_success_reason

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from loadtest.multiservice._services import Service

__all__ = ["LAUNCH", "Launch", "RoundRun", "collect", "launch_for", "run_round"]

#: The child program: `loadtest run --watch-stdin` stops when our pipe closes.
LAUNCH = "from loadtest.cli import main; main()"


@attrs.frozen
class Launch:
    """How to start one gateway's run: argv (without `--start-at`) and environment."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = attrs.field(repr=False)  # holds the key: never shown
    directory: Path


@attrs.frozen
class RoundRun:
    """What happened to a round's processes: their exit codes (None: never
    started) and whether a signal stopped them."""

    start_at_unix_s: float
    exit_codes: Mapping[str, int | None]
    interrupted: bool


def launch_for(
    profile: Path,
    service: Service,
    *,
    stages: str | None,
    directory: Path,
    environ: Mapping[str, str],
) -> Launch:
    """The child command and environment that run `profile` against `service`."""
    argv = [sys.executable, "-c", LAUNCH, "run", str(profile), "--watch-stdin", "--no-preflight"]
    argv += [f"--target={service.target}", "--quiet", f"--out={directory}"]
    if service.model:
        argv.append(f"--model={service.model}")
    if stages:
        argv.append(f"--stages={stages}")
    argv += [f"--header={name}: {value}" for name, value in service.headers.items()]
    env = {k: v for k, v in environ.items() if k != "LOADTEST_VK"}
    if service.key_env:
        env["LOADTEST_VK"] = environ[service.key_env]
    return Launch(service.name, tuple(argv), env, directory)


def run_round(
    launches: Sequence[Launch],
    *,
    start_delay_s: float,
    stop_grace_s: float,
    on_progress: Callable[[str], None] = lambda _line: None,
) -> RoundRun:
    """Start every launch with one shared start time and wait for all of them."""
    with contextlib.ExitStack() as stack:
        logs = {launch.name: _open_logs(stack, launch.directory) for launch in launches}
        start_at = time.time() + start_delay_s
        exits, interrupted = trio.run(
            _run_children, launches, logs, start_at, stop_grace_s, on_progress
        )
    return RoundRun(start_at, exits, interrupted)


def _open_logs(stack: contextlib.ExitStack, directory: Path) -> tuple[IO[bytes], IO[bytes]]:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        out = stack.enter_context((directory / "stdout.log").open("wb"))
        err = stack.enter_context((directory / "stderr.log").open("wb"))
    except OSError as exc:
        raise RuntimeFailure(f"{directory}: cannot write there: {exc.strerror or exc}") from None
    return out, err


async def _run_children(
    launches: Sequence[Launch],
    logs: Mapping[str, tuple[IO[bytes], IO[bytes]]],
    start_at: float,
    stop_grace_s: float,
    on_progress: Callable[[str], None],
) -> tuple[dict[str, int | None], bool]:
    exits: dict[str, int | None] = {}
    processes: list[trio.Process] = []
    read_fd, write_fd = os.pipe()  # the watchdog pipe; both ends close-on-exec
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as outer:
                children = trio.CancelScope()
                outer.start_soon(_watch_signals, signals, children, processes, on_progress)
                with children:
                    async with trio.open_nursery() as nursery:
                        for launch in launches:
                            args = (launch, logs[launch.name], start_at, read_fd, stop_grace_s)
                            proc = await nursery.start(_run_child, *args, exits)
                            if proc is not None:
                                processes.append(proc)
                        os.close(read_fd)
                        read_fd = -1
                outer.cancel_scope.cancel()
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
    return exits, children.cancel_called


async def _run_child(
    launch: Launch,
    logs: tuple[IO[bytes], IO[bytes]],
    start_at: float,
    stdin_fd: int,
    stop_grace_s: float,
    exits: dict[str, int | None],
    task_status: trio.TaskStatus[trio.Process | None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run one child to its end; record its exit code (None if it never started)."""
    exits[launch.name] = None
    try:
        process: trio.Process = await trio.lowlevel.open_process(
            [*launch.argv, f"--start-at={start_at:.6f}"],
            stdin=stdin_fd,
            stdout=logs[0],
            stderr=logs[1],
            env=dict(launch.env),
            start_new_session=True,
        )
    except OSError as exc:
        logs[1].write(f"cannot start: {exc}\n".encode())
        logs[1].flush()
        task_status.started(None)
        return
    task_status.started(process)
    try:
        await process.wait()
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                await _stop_child(process, stop_grace_s)
            exits[launch.name] = process.returncode


async def _stop_child(process: trio.Process, grace_s: float) -> None:
    """SIGTERM (the run ends its stage and writes outputs); SIGKILL after `grace_s`."""
    process.terminate()
    with trio.move_on_after(grace_s):
        await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()


async def _watch_signals(
    signals: AsyncIterator[int],
    children: trio.CancelScope,
    processes: list[trio.Process],
    on_progress: Callable[[str], None],
) -> None:
    async for signum in signals:
        name = signal.Signals(signum).name
        if not children.cancel_called:
            on_progress(f"{name}: stopping every run (each writes its outputs); again to kill")
            children.cancel()
            continue
        on_progress(f"{name}: killing every run")
        for process in processes:
            if process.returncode is None:
                process.kill()


_RESULT_CODES = (EXIT_OK, EXIT_THRESHOLDS, EXIT_NO_SUCCESS, EXIT_INTERRUPTED)


def collect(name: str, directory: Path, exit_code: int | None, start_at: float) -> ServiceRound:
    """One gateway's row for the round, from its exit code and output folder."""
    summaries = sorted(directory.glob("summary-*.json"))
    row = ServiceRound(name, directory, exit_code, summaries[-1] if summaries else None)
    if exit_code not in _RESULT_CODES:
        return attrs.evolve(row, failure=f"{_exit_text(exit_code)}: {_last_line(directory)}")
    if row.summary_path is None:
        return attrs.evolve(row, failure=f"exit {exit_code} but no summary in {directory}")
    try:
        figures = figures_from_summary(json.loads(row.summary_path.read_bytes()))
    except (OSError, ValueError) as exc:
        return attrs.evolve(row, failure=f"{row.summary_path.name}: {exc}")
    skew_ms = (figures.started_unix_s - start_at) * 1000
    failure = no_success_reason(figures)
    return attrs.evolve(row, figures=figures, start_skew_ms=skew_ms, failure=failure)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "did not start"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit {code}"


def _last_line(directory: Path) -> str:
    """What the child's stderr said last: its last error line, else its last line."""
    try:
        text = (directory / "stderr.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    if errors or lines:
        return (errors or lines)[-1]
    return f"no message (see {directory / 'stderr.log'})"
