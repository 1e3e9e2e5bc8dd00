"""Shard jobs as plain data: secrets apart from the profile, the plan
resolved again in the shard, cut to its segment."""

from __future__ import annotations

import pickle
import time

import attrs
import pytest

from loadtest.config import Overrides, Segment, resolve, structure_profile
from loadtest.errors import ConfigError
from loadtest.mock import run_mock_process
from loadtest.scale import ShardJob, job_plan, run_shard, shard_jobs

PROFILE = {
    "stages": ["2:10s", "@4:5s"],
    "warmup": "0s",
    "max_in_flight": 5,
    "defaults": {
        "target": "http://127.0.0.1:9/v1",
        "model": "m",
        "headers": {"Authorization": "Bearer REPLACE_WITH_VK", "x-team": "${TEAM}"},
        "content": {"mode": "pool", "prompts": ["hi"]},
    },
}


def _plan(**profile: object) -> object:
    data = {**PROFILE, **profile}
    return resolve(structure_profile(data), Overrides(vk="sk-secret-1"), env={"TEAM": "blue"})


def _jobs(count: int = 2) -> list[ShardJob]:
    return shard_jobs(
        _plan(), count, start_at_unix_s=1.0, run_id="r", stamp="ts", env={"TEAM": "blue"}
    )


def test_jobs_keep_secrets_out_of_the_profile_and_repr() -> None:
    """The --vk key travels in `secrets` only (never in the profile or a
    repr); the shard resolves the same headers, cut to its segment."""
    jobs = _jobs()
    assert [job.segment for job in jobs] == [Segment(0, 2), Segment(1, 2)]
    for job in jobs:
        assert "sk-secret-1" not in repr(job)
        assert "sk-secret-1" not in repr(job.profile)
        assert any("sk-secret-1" in value for value in job.secrets.values())
        plan = job_plan(pickle.loads(pickle.dumps(job)))
        assert plan.segment == job.segment
        headers = dict(plan.scenarios[0].headers)
        assert headers["Authorization"] == "Bearer sk-secret-1"
        assert headers["x-team"] == "blue"
    assert jobs[0].jsonl_name == "results-ts-w0.jsonl"


def test_jobs_refuse_a_limit_that_cannot_be_split() -> None:
    """max_in_flight 5 over 6 shards: refused before any job exists."""
    with pytest.raises(ConfigError, match="max_in_flight 5 cannot be split over 6"):
        _jobs(6)


def test_a_job_whose_profile_does_not_resolve_fails_with_exit_2() -> None:
    """A broken job is a result with exit code 2 and the reason, not a raise."""
    job = _jobs()[0]
    broken = attrs.evolve(job, profile={**job.profile, "stages": "x"})
    result = run_shard(broken)
    assert result.exit_code == 2
    assert "stages" in (result.error or "")
    assert result.summary is None
    unset = attrs.evolve(job, secrets={})
    assert run_shard(unset).exit_code == 2


def test_run_shard_against_the_mock_returns_its_summary_and_jsonl(tmp_path: object) -> None:
    """A real shard (1 s, 127.0.0.1): exit 0, its summary names its segment,
    host and start skew; its JSONL comes back as bytes (no jsonl_dir)."""
    with run_mock_process(["--ttft", "10ms", "--itl", "1ms"]) as url:
        plan = _plan(stages=["2:1s"], defaults={**PROFILE["defaults"], "target": url})
        (job,) = [
            j
            for j in shard_jobs(
                plan, 2, start_at_unix_s=time.time(), run_id="r", stamp="ts", env={"TEAM": "b"}
            )
            if j.index == 1
        ]
        result = run_shard(job)
    assert result.exit_code == 0, result.error
    assert result.summary is not None
    assert result.jsonl is not None
    run = result.summary["run"]
    assert run["segment"] == "1/2"
    assert run["run_id"] == "r-1"
    assert run["generator"]["host"] == result.host
    assert run["generator"]["start_skew_ms"] >= 0
    assert result.summary["stages"][0]["concurrency"] == 1
    assert result.jsonl.count(b"\n") == run["jsonl_lines"] > 0
