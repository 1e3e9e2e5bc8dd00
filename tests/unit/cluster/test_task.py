"""What runs in a Dask worker never raises: a failure is a ShardResult."""

from __future__ import annotations

from loadtest.cluster import probe_worker, run_cluster_shard
from loadtest.errors import EXIT_RUNTIME
from loadtest.scale import ShardJob

KEY = "sk-task-0123456789-not-real"


def test_a_shard_that_cannot_start_returns_its_error_instead_of_raising() -> None:
    """Outside a Dask worker there is no client to watch the stop event
    with: the task returns exit code 1 and one line, with no secret."""
    job = ShardJob(
        profile={"stages": ["1:1s"]},
        name="p",
        index=1,
        count=2,
        start_at_unix_s=0.0,
        run_id="r",
        stamp="ts",
        secrets={"LOADTEST_SHARD_SECRET_0": KEY},
    )
    result = run_cluster_shard(job, "no-such-event")
    assert (result.index, result.count, result.exit_code) == (1, 2, EXIT_RUNTIME)
    assert result.summary is None
    assert result.error is not None
    assert "\n" not in result.error
    assert KEY not in result.error
    assert KEY not in repr(job)


def test_the_probe_reports_clock_version_and_host() -> None:
    worker_s, version, host = probe_worker()
    assert worker_s > 1e9
    assert version
    assert host
