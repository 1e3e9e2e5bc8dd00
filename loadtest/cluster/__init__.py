"""Many hosts: the shards of one run as tasks on an existing Dask cluster
(`loadtest run --cluster tcp://SCHEDULER:8786 --workers N`, docs/scale.md).

The submitting side connects, picks a worker per shard, reads the
workers' clocks (`open_cluster`), picks the shared start time, submits one
task per shard (`DaskCluster.run`); each task runs `loadtest.scale.run_shard`
in its worker (`run_cluster_shard`). The results come back as
`ShardResult`s, merged and written by the caller as `--workers` does.
Dask itself (the `cluster` extra) is imported only when a cluster is used.
"""

from __future__ import annotations

from loadtest.cluster._choose import (
    SKEW_WARN_MS,
    ClockOffset,
    ShardStart,
    choose_workers,
    clock_offsets,
    skew_report,
)
from loadtest.cluster._dask import (
    ClusterOutcome,
    DaskCluster,
    check_address,
    open_cluster,
)
from loadtest.cluster._extra import import_distributed
from loadtest.cluster._task import probe_worker, run_cluster_shard

__all__ = [
    "SKEW_WARN_MS",
    "ClockOffset",
    "ClusterOutcome",
    "DaskCluster",
    "ShardStart",
    "check_address",
    "choose_workers",
    "clock_offsets",
    "import_distributed",
    "open_cluster",
    "probe_worker",
    "run_cluster_shard",
    "skew_report",
]
