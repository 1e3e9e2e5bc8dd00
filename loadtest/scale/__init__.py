"""Scale-out: one plan run as N execution segments (shards) together.

`shard_jobs` cuts a resolved plan into jobs, `run_shard` runs one job in
its own `trio.run` (in a worker process, a Dask worker, another host), and
`write_merged_outputs` turns the shards' results into the one set of
outputs a one-process run writes. `loadtest run --workers N` is built on
them (docs/scale.md); the segment rules are in `loadtest.config.Segment`.
"""

from __future__ import annotations

from loadtest.scale._outputs import MergedOutputs, missing_reason, write_merged_outputs
from loadtest.scale._shard import ShardJob, ShardResult, ShardTask, job_plan, run_shard, shard_jobs

__all__ = [
    "MergedOutputs",
    "ShardJob",
    "ShardResult",
    "ShardTask",
    "job_plan",
    "missing_reason",
    "run_shard",
    "shard_jobs",
    "write_merged_outputs",
]
