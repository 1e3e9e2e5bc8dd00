"""Running the mock as a program: one process, or N workers on one port.

`run_mock(config)` is what `loadtest mock` calls. The parent process serves
as worker 0; with `config.workers = N > 1` it binds the port first (with
SO_REUSEPORT; port 0 picks one) and then starts N-1 child processes
(`python -m loadtest.mock._child`) that bind the same port, so the kernel
spreads connections over all N. The first line on stdout is the base URL,
printed once every worker listens; a summary of the knobs follows on stderr.

Rules:
- SIGINT and SIGTERM stop everything cleanly: the parent cancels, each child
  gets SIGTERM, and the program returns normally (exit 0, no traceback).
- Children ignore SIGINT (a terminal's Ctrl-C reaches the whole process
  group; the parent decides) and exit when their stdin — a pipe from the
  parent — reaches EOF, so they die with the parent even if it is killed.
- A child that exits on its own is a failure: everything stops and
  `RuntimeFailure` names the worker.
- `watch_stdin` gives the parent the same watchdog, for supervisors such as
  `run_mock_process`.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from functools import partial
from typing import TYPE_CHECKING, TextIO

import attrs
import trio

from loadtest.errors import ConfigError, LoadtestError, RuntimeFailure
from loadtest.mock._server import serve_mock

if TYPE_CHECKING:
    from loadtest.mock._config import MockConfig

__all__ = ["first_user_error", "run_mock", "stop_on_signals", "stop_on_stdin_eof"]

#: How long a worker may take to start listening.
START_TIMEOUT_S = 30.0


async def stop_on_signals(
    cancel_scope: trio.CancelScope,
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Cancel `cancel_scope` at the first of `signals`."""
    with trio.open_signal_receiver(*signals) as received:
        task_status.started()
        async for _ in received:
            cancel_scope.cancel()
            return


def _check_stdin_is_pipe() -> None:
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        mode = 0
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        raise ConfigError("--watch-stdin: standard input must be a pipe")


async def stop_on_stdin_eof(cancel_scope: trio.CancelScope) -> None:
    """Cancel `cancel_scope` when stdin (a pipe) reaches end-of-file; what
    arrives before is ignored."""
    _check_stdin_is_pipe()
    async with trio.lowlevel.FdStream(os.dup(0)) as stdin:
        while await stdin.receive_some(4096):
            pass
    cancel_scope.cancel()


async def _read_line(stream: trio.abc.ReceiveStream) -> bytes:
    data = b""
    while b"\n" not in data:
        piece = await stream.receive_some(4096)
        if not piece:
            break
        data += piece
    return data.partition(b"\n")[0]


async def _run_child(config: MockConfig, index: int, *, task_status: trio.TaskStatus[None]) -> None:
    """Run worker `index` as a child process; started once it listens."""
    command = [sys.executable, "-m", "loadtest.mock._child", str(index), config.to_json().decode()]
    async with trio.open_nursery() as nursery:
        process: trio.Process = await nursery.start(
            partial(
                trio.run_process,
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                check=False,
            )
        )
        assert process.stdout is not None
        listening = False
        with trio.move_on_after(START_TIMEOUT_S) as startup:
            listening = (await _read_line(process.stdout)).startswith(b"http")
        if listening:
            task_status.started()  # and run_process goes on until the child exits
        else:
            nursery.cancel_scope.cancel()  # run_process stops the child
    if listening:
        raise RuntimeFailure(f"mock worker {index} exited with code {process.returncode}")
    why = f"within {START_TIMEOUT_S:g}s" if startup.cancelled_caught else "(see its error above)"
    raise RuntimeFailure(f"mock worker {index} did not start {why}")


async def _serve_all(config: MockConfig, out: TextIO, watch_stdin: bool) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(stop_on_signals, nursery.cancel_scope)
        if watch_stdin:
            _check_stdin_is_pipe()
            nursery.start_soon(stop_on_stdin_eof, nursery.cancel_scope)
        url: str = await nursery.start(serve_mock, config)
        port = int(url.rpartition(":")[2])
        child_config = attrs.evolve(config, port=port)
        async with trio.open_nursery() as starters:  # start the children side by side
            for index in range(1, config.workers):
                starters.start_soon(nursery.start, _run_child, child_config, index)
        print(url, file=out, flush=True)
        for line in config.summary():
            print(f"loadtest mock: {line}", file=sys.stderr, flush=True)


def run_mock(config: MockConfig, *, watch_stdin: bool = False, out: TextIO | None = None) -> None:
    """Serve until SIGINT or SIGTERM (or EOF on stdin with `watch_stdin`),
    then return. The base URL is the first line written to `out` (stdout)."""
    try:
        trio.run(_serve_all, config, out or sys.stdout, watch_stdin)
    except KeyboardInterrupt:
        return  # Ctrl-C before the signal receiver was up
    except BaseExceptionGroup as group:
        raise first_user_error(group) from None


def first_user_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first `LoadtestError` in `group` (a failed worker, a busy port), or
    `group` itself when it holds none (a bug keeps its traceback)."""
    matched = group.subgroup(LoadtestError)
    if matched is None:
        return group
    error: BaseException = matched
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
