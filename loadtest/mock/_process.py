"""`run_mock_process`: `loadtest mock` in a subprocess, for tests and `--mock`.

The context manager starts `loadtest mock --port 0 --watch-stdin ARGS...`
with the current interpreter, reads the base URL from the first line of its
stdout, yields it, and on exit stops the process with SIGTERM (SIGKILL if it
has not exited after `stop_timeout_s`). Because the child watches its stdin
(a pipe held by this process), it also dies if this process is killed.

The child runs in its own session: a terminal's Ctrl-C, sent to the whole
foreground process group, reaches only this process, which decides when the
mock stops (after the run's outputs are written), so no stream is cut
under a run that is still measuring.

Sync and thread-free: usable from plain code, from pytest fixtures, and
before `trio.run`. A process that exits or stays silent during start-up
raises `RuntimeFailure` carrying its stderr (bad flags, a busy port).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import tempfile
import time
from typing import IO, TYPE_CHECKING

from loadtest.errors import RuntimeFailure

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["run_mock_process"]

_LAUNCH = "from loadtest.cli import main; main()"


def _read_url(process: subprocess.Popen[bytes], timeout_s: float) -> str | None:
    """The first stdout line; None when stdout closes or stays silent first."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return None
            piece = os.read(fd, 4096)
            if not piece:
                return None
            data += piece
    return data.partition(b"\n")[0].decode().strip()


def _stop(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()


def _failure(code: int | None, stderr: IO[bytes], timeout_s: float) -> str:
    stderr.seek(0)
    output = stderr.read().decode(errors="replace").strip()
    what = f"exited with code {code}" if code is not None else f"printed no URL in {timeout_s:g}s"
    return f"loadtest mock {what}" + (f": {output}" if output else "")


@contextlib.contextmanager
def run_mock_process(
    args: Sequence[str] = (), *, start_timeout_s: float = 30.0, stop_timeout_s: float = 10.0
) -> Iterator[str]:
    """Run `loadtest mock` with `args` (on a free port unless `args` sets
    `--port`) and yield its base URL, e.g. `http://127.0.0.1:43217`."""
    command = [sys.executable, "-c", _LAUNCH, "mock", "--port", "0", "--watch-stdin", *args]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            url = _read_url(process, start_timeout_s)
            if url is None or not url.startswith("http"):
                try:  # a process whose stdout closed is exiting: wait for its code
                    code: int | None = process.wait(1.0)
                except subprocess.TimeoutExpired:
                    code = None
                _stop(process, stop_timeout_s)
                raise RuntimeFailure(_failure(code, stderr, start_timeout_s))
            yield url
        finally:
            _stop(process, stop_timeout_s)
