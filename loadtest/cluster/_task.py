"""What runs inside a Dask worker: the probe before a run, and one shard.

Rules:
- Both are plain module-level functions (pickled by reference): a worker
  needs the same `loadtest` installed as the submitting host, and the
  probe reports its version so a mismatch is refused before any load.
- A shard runs `run_shard` in the task's thread (its own `trio.run`) and
  never raises: any failure comes back as a `ShardResult` with exit code
  1 and one line of error, so Dask never logs a failed task (whose log
  line would show the task's arguments; a `ShardJob`'s repr shows no
  secret anyway).
- A stop from the submitting host (Ctrl-C there, or another shard lost)
  reaches the shard through a named Dask `Event`: the shard ends its
  current stage as on SIGTERM (turns in flight recorded interrupted) and
  returns what it measured.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any

import trio

from loadtest import __version__
from loadtest.cluster._extra import import_distributed
from loadtest.errors import EXIT_RUNTIME
from loadtest.scale._shard import ShardJob, ShardResult, run_shard

if TYPE_CHECKING:
    from loadtest.engine import Engine

__all__ = ["probe_worker", "run_cluster_shard"]

#: How often a shard looks at the stop event (s).
_STOP_POLL_S = 0.25


def probe_worker() -> tuple[float, str, str]:
    """The worker's clock (Unix s), its loadtest version and its host name."""
    return time.time(), __version__, socket.gethostname()


def run_cluster_shard(job: ShardJob, stop_event: str) -> ShardResult:
    """Run `job` in this Dask worker until its end or until the event named
    `stop_event` is set; never raises."""
    try:
        distributed = import_distributed()
        # The worker's client, made here in the task's thread (not in trio's).
        stop = distributed.Event(stop_event, client=distributed.get_client())

        async def watch(engine: Engine) -> None:
            while not await trio.to_thread.run_sync(stop.wait, _STOP_POLL_S):
                pass
            engine.request_stop()

        return run_shard(job, tasks=[watch])
    except Exception as exc:  # a failed shard is data; a raised task would be logged
        detail: Any = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return ShardResult(job.index, job.count, socket.gethostname(), EXIT_RUNTIME, detail)
