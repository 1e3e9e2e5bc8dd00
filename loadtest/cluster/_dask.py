"""The shards of one run as tasks on an existing Dask cluster.

Rules:
- Dask is imported only here, and only when `--cluster` is used: without
  it, one line says which extra to install (exit 2).
- Before any load: the scheduler answers (exit 1 otherwise), the cluster
  has a worker per shard (exit 2), and each chosen worker runs the same
  loadtest version as this host; its clock is read in the same round trip
  (`clock_offsets`).
- One task per shard, pinned to its own worker (`workers=[address]`, no
  other worker allowed), never retried (`retries=0`): a shard runs once,
  at the shared start time, or not at all.
- A task whose worker leaves the cluster is lost: Dask would wait for
  that worker forever, so the worker list is read every `POLL_S`; the
  lost segment is named, the other shards are stopped, and the run is an
  error. A task that failed is named the same way.
- Stop requests (Ctrl-C, SIGTERM on this host): the first sets the run's
  stop event (each shard ends its stage and returns what it measured), a
  second cancels the tasks still running and keeps what finished.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from loadtest import __version__
from loadtest.cluster._choose import ClockOffset, choose_workers, clock_offsets
from loadtest.cluster._extra import import_distributed
from loadtest.cluster._task import probe_worker, run_cluster_shard
from loadtest.errors import ConfigError, RuntimeFailure
from loadtest.scale._shard import ShardJob, ShardResult

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = [
    "CONNECT_TIMEOUT_S",
    "POLL_S",
    "ClusterOutcome",
    "DaskCluster",
    "check_address",
    "open_cluster",
]

#: How long to wait for the scheduler to answer (s).
CONNECT_TIMEOUT_S = 10.0
#: How often the submitting side looks at the tasks and the workers (s).
POLL_S = 0.25
#: Clock reads per worker before a run; the shortest round trip is kept.
PROBES = 3
_SCHEMES = ("tcp", "tls")


def check_address(address: str) -> str:
    """A scheduler address `tcp://HOST:PORT` (or tls://); ConfigError otherwise."""
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in _SCHEMES or not parts.hostname or port is None or parts.path:
        raise ConfigError(
            f"--cluster {address!r}: expected a Dask scheduler address, tcp://HOST:PORT "
            "(e.g. tcp://10.0.0.5:8786)"
        )
    return address


@attrs.frozen
class ClusterOutcome:
    """What came back from the cluster."""

    #: The results of the shards that returned, by segment index.
    results: dict[int, ShardResult]
    #: Why each segment that did not return is missing (a lost or failed
    #: task), by segment index.
    lost: dict[int, str] = attrs.Factory(dict)
    #: True when a second stop request cancelled the tasks still running.
    cancelled: bool = False


class DaskCluster:
    """A connected Dask client and the workers chosen for the shards."""

    def __init__(self, client: Any, address: str, workers: list[str]) -> None:
        self._client = client
        self.address = address
        #: The chosen worker of each shard, by segment index.
        self.workers = workers
        #: Each chosen worker's clock against this host's.
        self.offsets: dict[str, ClockOffset] = {}
        #: Each chosen worker's host name.
        self.hosts: dict[str, str] = {}

    def probe(self) -> None:
        """Read each worker's clock, version and host; refuse a worker that
        cannot run loadtest or runs another version. The clock is read
        `PROBES` times (the first also imports loadtest there) and the
        shortest round trip is kept."""
        best: tuple[float, float, dict[str, float]] | None = None
        for _ in range(PROBES):
            sent = time.time()
            answers = self._client.run(probe_worker, workers=self.workers, on_error="return")
            received = time.time()
            times = {worker: self._check(worker, answers.get(worker)) for worker in self.workers}
            if best is None or received - sent < best[1] - best[0]:
                best = (sent, received, times)
        assert best is not None
        self.offsets = clock_offsets(best[2], best[0], best[1])

    def _check(self, worker: str, answer: Any) -> float:
        """The worker's clock from its probe's answer; RuntimeFailure if it
        cannot run loadtest or runs another version."""
        if answer is None or isinstance(answer, BaseException):
            raise RuntimeFailure(
                f"--cluster: worker {worker} cannot run loadtest ({answer!s:.200}): install "
                "loadtest-llm[cluster] on every generator host"
            )
        worker_s, version, host = answer
        if version != __version__:
            raise RuntimeFailure(
                f"--cluster: worker {worker} runs loadtest {version}, this host "
                f"{__version__}: install the same version everywhere"
            )
        self.hosts[worker] = host
        return float(worker_s)

    def run(
        self,
        jobs: Sequence[ShardJob],
        *,
        stop_requests: Callable[[], int],
        announce: Callable[[str], None],
    ) -> ClusterOutcome:
        """Run one task per job on its worker and wait for them all (see the
        module's rules for losses and stops)."""
        run = f"loadtest-{jobs[0].run_id}-{uuid.uuid4().hex[:8]}"
        stop = import_distributed().Event(f"{run}-stop", client=self._client)
        pending: dict[Any, ShardJob] = {}
        for job, worker in zip(jobs, self.workers, strict=False):
            future = self._client.submit(
                run_cluster_shard,
                job,
                stop.name,
                key=f"{run}-segment-{job.index}-of-{job.count}",
                workers=[worker],
                allow_other_workers=False,
                retries=0,
                pure=False,
            )
            pending[future] = job
        start_in_s = jobs[0].start_at_unix_s - time.time()
        announce(
            f"cluster: {len(jobs)} segments submitted to {self.address} ("
            + ", ".join(f"{job.index} on {self.workers[job.index]}" for job in jobs)
            + f"); shared start in {start_in_s:.1f} s (Unix {jobs[0].start_at_unix_s:.3f})"
        )
        results: dict[int, ShardResult] = {}
        lost: dict[int, str] = {}
        stopping = cancelled = False
        while pending:
            for future, job in list(pending.items()):
                if future.done():
                    del pending[future]
                    if future.status == "finished":
                        results[job.index] = future.result()
                    else:
                        error = future.exception()
                        lost[job.index] = (
                            f"its task failed on {self.workers[job.index]}: "
                            f"{type(error).__name__}: {error!s:.200}"
                        )
            if not pending:
                break
            for job in self._lost(pending):
                worker = self.workers[job.index]
                lost[job.index] = (
                    f"lost: its Dask worker {worker} ({self.hosts.get(worker, '?')}) "
                    "left the cluster"
                )
            for future, job in list(pending.items()):
                if job.index in lost:
                    del pending[future]
                    future.cancel()
            requests = stop_requests()
            if (lost or requests) and not stopping:
                stopping = True
                stop.set()
            if requests >= 2 and pending:
                self._client.cancel(list(pending), force=True)
                cancelled = True
                break
            time.sleep(POLL_S)
        with contextlib.suppress(Exception):
            stop.clear()
        return ClusterOutcome(results, dict(sorted(lost.items())), cancelled)

    def _lost(self, pending: dict[Any, ShardJob]) -> list[ShardJob]:
        """The pending jobs whose worker is no longer in the cluster."""
        try:
            alive = set(self._client.nthreads())
        except Exception as exc:  # the scheduler is gone: every pending task with it
            raise RuntimeFailure(
                f"--cluster {self.address}: the scheduler stopped answering "
                f"({type(exc).__name__}); segments "
                + ", ".join(str(job.segment) for job in pending.values())
                + " did not return"
            ) from None
        return [job for job in pending.values() if self.workers[job.index] not in alive]


@contextlib.contextmanager
def open_cluster(address: str, count: int | None) -> Iterator[DaskCluster]:
    """A client of the scheduler at `address` with `count` workers (None:
    every worker) chosen and probed; closed on exit."""
    check_address(address)
    distributed = import_distributed()
    try:
        client = distributed.Client(
            address, timeout=CONNECT_TIMEOUT_S, set_as_default=False, name="loadtest"
        )
    except (OSError, TimeoutError) as exc:
        raise RuntimeFailure(
            f"--cluster {address}: cannot reach the Dask scheduler ({exc!s:.200}); nothing was sent"
        ) from None
    try:
        available = list(client.nthreads())
        if not available:
            raise RuntimeFailure(
                f"--cluster {address}: the cluster has no worker: start `dask worker "
                f"{address} --nthreads 1` on each generator host"
            )
        workers = choose_workers(available, len(available) if count is None else count)
        cluster = DaskCluster(client, address, workers)
        cluster.probe()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            client.close()
