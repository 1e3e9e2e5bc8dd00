"""Shard jobs as plain data: secrets apart from the profile, the plan
resolved again in the shard, cut to its segment."""

from __future__ import annotations

import copy
import json
import pickle
import threading
import time
from typing import TYPE_CHECKING

import attrs
import pytest

from loadtest.cli._outputs import OutputPaths
from loadtest.config import Overrides, Segment, resolve, structure_profile
from loadtest.errors import ConfigError, RuntimeFailure
from loadtest.mock import run_mock_process
from loadtest.report import evaluate_thresholds, merge_summaries
from loadtest.scale import ShardJob, ShardResult, job_plan, run_shard, shard_jobs
from loadtest.scale._outputs import write_merged_outputs

if TYPE_CHECKING:
    from pathlib import Path

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


def test_run_shard_against_the_mock_returns_its_summary_and_jsonl() -> None:
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


def test_merged_outputs_are_the_merge_of_the_shards(tmp_path: Path) -> None:
    """Two shards run together (threads, one mock): the summary written is
    `merge` of theirs (thresholds evaluated again), with every other output
    and each shard's JSONL file beside it."""
    with run_mock_process(["--ttft", "5ms"]) as url:
        plan = _plan(stages=["@10:1s"], defaults={**PROFILE["defaults"], "target": url})
        jobs = shard_jobs(
            plan, 2, start_at_unix_s=time.time() + 0.3, run_id="r", stamp="ts", env={"TEAM": "b"}
        )
        results: list[ShardResult] = []
        threads = [threading.Thread(target=lambda j=j: results.append(run_shard(j))) for j in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(r.exit_code for r in results) == [0, 0]
    paths = OutputPaths(tmp_path, "ts")
    merged = write_merged_outputs(results, paths, profile_text="# p\n")
    written = json.loads((tmp_path / "summary-ts.json").read_text())
    done = sorted(results, key=lambda r: r.index)
    expected = merge_summaries([r.summary for r in done if r.summary], ["worker 0", "worker 1"])
    expected["thresholds"] = evaluate_thresholds(expected)
    for doc in (written, expected):
        doc["run"].pop("generator")
    assert written == expected
    assert merged.jsonl == ("results-ts-w0.jsonl", "results-ts-w1.jsonl")
    lines = sum(len((tmp_path / name).read_bytes().splitlines()) for name in merged.jsonl)
    assert lines == written["run"]["jsonl_lines"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics-ts.prom",
        "profile-ts.toml",
        "report-ts.csv",
        "report-ts.html",
        "report-ts.txt",
        "results-ts-w0.jsonl",
        "results-ts-w1.jsonl",
        "summary-ts.json",
    ]


def test_no_summary_at_all_is_a_runtime_failure(tmp_path: Path) -> None:
    """Every worker died: nothing to merge, one line naming each."""
    dead = [ShardResult(k, 2, "h", -9, None) for k in range(2)]
    with pytest.raises(RuntimeFailure, match=r"worker 0 on h: killed by signal 9; worker 1"):
        write_merged_outputs(dead, OutputPaths(tmp_path, "ts"), profile_text="")


def test_summaries_that_do_not_merge_are_a_runtime_failure_and_kept(tmp_path: Path) -> None:
    """Load was sent: a refused merge is exit 1 (never 2, "nothing sent"),
    and each worker's summary and JSONL stay in --out."""
    from tests.unit.report.builders import two_stage_summary

    base = two_stage_summary()
    other = copy.deepcopy(base)
    other["run"]["stage_plan"] = ["9:1s"]  # another plan: merge refuses it
    done = [
        ShardResult(0, 2, "h", 0, summary=base, jsonl=b'{"a": 1}\n'),
        ShardResult(1, 2, "h", 0, summary=other, jsonl=b'{"b": 1}\n'),
    ]
    with pytest.raises(RuntimeFailure, match=r"could not be merged .*summary-ts-wK\.json"):
        write_merged_outputs(done, OutputPaths(tmp_path, "ts"), profile_text="")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "results-ts-w0.jsonl",
        "results-ts-w1.jsonl",
        "summary-ts-w0.json",
        "summary-ts-w1.json",
    ]
    assert json.loads((tmp_path / "summary-ts-w1.json").read_text()) == other
