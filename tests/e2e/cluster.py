"""A real local Dask cluster for the --cluster tests: a `dask scheduler`
and `dask worker --nthreads 1` processes on 127.0.0.1.

Every process it starts is stopped when the `running_cluster` block ends,
whatever happened in it (SIGTERM, then SIGKILL after a few seconds).
Their stderr goes to log files, so a test can read what the cluster logged.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

from .helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["LocalCluster", "running_cluster", "stop_process"]

#: The environment of the cluster's processes: no loadtest key of the test
#: machine leaks into them, no dashboard port is taken.
_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("LOADTEST_")},
    "DASK_DISTRIBUTED__DASHBOARD__LINK": "",
}


def stop_process(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after `grace_s`; reaped."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LocalCluster:
    """The scheduler's address, its processes and their logs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.scheduler_file = directory / "scheduler.json"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.address = ""
        self._logs: dict[int, Path] = {}
        #: How many workers the scheduler listed when last asked.
        self.listed = 0

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        path = self.directory / f"{name}.log"
        log = path.open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_ENV,
        )
        log.close()
        self.processes.append(process)
        self._logs[process.pid] = path
        return process

    def start_scheduler(self) -> None:
        self._start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(self.scheduler_file),
        )
        wait_for(self.scheduler_file.exists, "the Dask scheduler's address")
        wait_for(lambda: json.loads(self.scheduler_file.read_text() or "{}"), "its file")
        self.address = json.loads(self.scheduler_file.read_text())["address"]

    def start_worker(self) -> subprocess.Popen[bytes]:
        """One more worker, one thread, no nanny (killing it kills the worker)."""
        worker = self._start(
            f"worker-{len(self.workers)}",
            "worker",
            self.address,
            "--nthreads",
            "1",
            "--no-nanny",
            "--host",
            "127.0.0.1",
            "--no-dashboard",
        )
        self.workers.append(worker)
        return worker

    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        return [worker for worker in self.workers if worker.poll() is None]

    def ensure_workers(self, count: int) -> None:
        """Start workers until `count` run, and wait until the scheduler
        lists that many (a killed one is gone from its list too)."""
        if len(self.live_workers()) == count and self.listed == count:
            return
        while len(self.live_workers()) < count:
            self.start_worker()
        wait_for(lambda: self.listed_workers() == count, f"{count} Dask workers")
        self.listed = count

    def listed_workers(self) -> int:
        """How many workers the scheduler lists (asked by a `dask` client
        in a child process: the test process does not import Dask)."""
        code = (
            "import sys; from distributed import Client\n"
            "with Client(sys.argv[1], timeout=10) as c: print(len(c.nthreads()))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, self.address],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=_ENV,
        )
        return int(done.stdout) if done.returncode == 0 else -1

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        return self._logs[process.pid].read_text()

    def logs(self) -> str:
        return "".join(path.read_text() for path in sorted(self.directory.glob("*.log")))

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)


@contextlib.contextmanager
def running_cluster(directory: Path, workers: int) -> Iterator[LocalCluster]:
    """A scheduler and `workers` workers on 127.0.0.1 for the block."""
    cluster = LocalCluster(directory)
    try:
        cluster.start_scheduler()
        cluster.ensure_workers(workers)
        yield cluster
    finally:
        cluster.stop()
