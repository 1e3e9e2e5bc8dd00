"""`loadtest run --cluster tcp://SCHEDULER:8786 --workers N`: the run's N
shards as tasks on an existing Dask cluster, merged on this host.

Wiring only (`loadtest.cluster` talks to Dask, `loadtest.scale` runs and
merges shards). Rules:
- Refused before anything starts: `--mock` (the mock would run on this
  host only), `--cluster` without `--workers` or with `--segment`, a
  malformed address, and a missing `cluster` extra (exit 2).
- Then the cluster is checked (`open_cluster`: the scheduler answers, a
  worker per shard (exit 2 if too few), the same version everywhere;
  exit 1 otherwise), then
  the pre-flight request from this host, then the shared start time is
  chosen here: `LEAD_S` from now, or `--start-at` if later.
- The outputs are those of `--workers` (`write_worker_outputs`): every
  shard's summary merged, each shard's JSONL in its own file. A lost or
  failed segment is an error (exit 1) whose outputs, if any shard
  returned, are marked partial and name it. Ctrl-C or SIGTERM: exit 130
  after writing what was measured; a second one cancels the tasks still
  running (they are named as missing) and writes what finished.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

import typer

from loadtest.cli._preflight import preflight
from loadtest.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, ConfigError

# loadtest.cluster, loadtest.scale and the --workers code are imported when
# --cluster is used: loadtest.scale imports loadtest.cli (its output writer).
if TYPE_CHECKING:
    from loadtest.cli._outputs import OutputPaths
    from loadtest.cli._signals import StopSignals
    from loadtest.cluster import DaskCluster, ShardStart
    from loadtest.config import RunPlan
    from loadtest.scale import ShardResult

__all__ = [
    "CLUSTER_OPTION",
    "LEAD_S",
    "check_cluster_flags",
    "run_on_cluster",
]

CLUSTER_OPTION: Any = typer.Option(
    None,
    "--cluster",
    help="A Dask scheduler (tcp://HOST:8786): run the --workers N shards as tasks on that "
    "cluster, one per Dask worker, and merge them here (needs the package's cluster "
    "extra; docs/scale.md).",
)
#: Seconds from submitting the tasks to the shared start time.
LEAD_S = 2.0


def check_cluster_flags(
    address: str | None, workers: str | None, mock: bool, segment: str | None
) -> None:
    """The flag combinations --cluster refuses (ConfigError, exit 2), and a
    missing `cluster` extra."""
    if address is None:
        return
    if mock:
        raise ConfigError(
            "--mock and --cluster: the mock would run on this host only; start "
            "`loadtest mock --host 0.0.0.0` where the workers reach it and pass --target"
        )
    if workers is None:
        raise ConfigError("--cluster: give the number of shards with --workers N (or auto)")
    if segment is not None:
        raise ConfigError("--segment and --cluster: choose one (the cluster runs every segment)")
    from loadtest.cluster import check_address, import_distributed

    check_address(address)
    import_distributed()


def _acknowledge(signals: StopSignals) -> Any:
    """The stop-request count for the cluster's loop, printing what each does."""
    told = [0]

    def requests() -> int:
        count = len(signals.received)
        for number in range(told[0], count):
            name = signals.received[number]
            if number == 0:
                what = ": stopping every shard (each ends its stage) and writing the outputs"
            elif number == 1:
                what = " again: cancelling the shards still running; writing what finished"
            else:
                what = " again: already cancelling; writing what finished"
            print(f"\nloadtest: {name}{what}", file=sys.stderr)
        told[0] = count
        return count

    return requests


def _starts(cluster: DaskCluster, results: dict[int, ShardResult]) -> list[ShardStart]:
    from loadtest.cluster import ShardStart

    starts = []
    for index, result in sorted(results.items()):
        if result.summary is None:
            continue
        late_ms = result.summary["run"].get("generator", {}).get("start_skew_ms")
        if late_ms is None:
            continue
        worker = cluster.workers[index]
        starts.append(
            ShardStart(str(result.segment), worker, float(late_ms), cluster.offsets.get(worker))
        )
    return starts


def run_on_cluster(
    address: str,
    count: int | None,
    plan: RunPlan,
    paths: OutputPaths,
    *,
    start_at: float | None,
    no_preflight: bool,
    signals: StopSignals,
) -> tuple[dict[str, Any], bool]:
    """Run `plan` as `count` shards (None: one per worker) on the cluster at
    `address` and write the merged outputs; the merged summary, and whether
    the run failed (a segment missing, an output not written)."""
    from loadtest.cli._workers import write_worker_outputs
    from loadtest.cluster import open_cluster, skew_report
    from loadtest.scale import ShardResult, shard_jobs

    with open_cluster(address, count) as cluster:
        count = len(cluster.workers)
        hosts = sorted(set(cluster.hosts.values()))
        print(
            f"cluster: {count} workers on {len(hosts)} host{'s' if len(hosts) > 1 else ''} "
            f"({', '.join(hosts)})",
            file=sys.stderr,
        )
        for warning in plan.warnings:
            print(f"loadtest: warning: {warning}", file=sys.stderr)
        if not no_preflight:
            preflight(plan)
        start = max(time.time() + LEAD_S, start_at or 0.0)
        jobs = shard_jobs(
            plan,
            count,
            start_at_unix_s=start,
            run_id=uuid.uuid4().hex,
            stamp=paths.stamp,
            env=os.environ,
        )
        signals.phase = "running"
        outcome = cluster.run(
            jobs,
            stop_requests=_acknowledge(signals),
            announce=lambda line: print(line, file=sys.stderr),
        )
        signals.phase = "writing"
        lines, warnings = skew_report(_starts(cluster, outcome.results))
        results = [
            outcome.results.get(job.index)
            or ShardResult(
                job.index,
                count,
                cluster.hosts.get(cluster.workers[job.index], "?"),
                EXIT_RUNTIME,
                outcome.lost.get(job.index, "cancelled by a second stop request"),
            )
            for job in jobs
        ]
    for line in lines:
        print(f"cluster: {line}", file=sys.stderr)
    for warning in warnings:
        print(f"loadtest: warning: {warning}", file=sys.stderr)
    from loadtest.cli._run_outputs import written_profile

    if outcome.cancelled and not any(r.summary is not None for r in results):
        print(
            "loadtest: no shard returned before the tasks were cancelled: nothing to write",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_INTERRUPTED)

    profile_name = paths.path("profile", "toml").name
    summary, failed = write_worker_outputs(
        results,
        paths,
        profile_text=written_profile(
            plan, profile_name, None, how=("--cluster", address, "--workers", str(len(results)))
        ),
    )
    # Segments cancelled by a second stop request are missing (and named),
    # not a failure: the run exits 130, as a stopped run does.
    failed_segments = [
        r for r in results if r.summary is None and r.index in {*outcome.results, *outcome.lost}
    ]
    if outcome.cancelled and not failed_segments:
        failed = False
    return summary, failed
