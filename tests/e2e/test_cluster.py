"""`loadtest run --cluster` end to end: a real local Dask cluster (a
scheduler and two one-thread workers on 127.0.0.1, started once for the
module and stopped after it), a real `loadtest mock` upstream, the real CLI.

Asserted: what holds on a busy machine (counts, structure, exit codes,
messages); never a timing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.mock import run_mock_process

from .cluster import LocalCluster, running_cluster, stop_process
from .helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

KEY = "sk-e2e-cluster-0123456789-not-real"
PROFILE: dict[str, Any] = {
    "name": "cluster-e2e",
    "stages": ["4:1s"],
    "warmup": "0",
    "graceful_stop": "2s",
    "defaults": {
        "protocol": "openai-chat",
        "model": "mock-model",
        "max_tokens": 8,
        "stream": True,
        "content": {"mode": "pool", "prompts": ["How far is the moon?"]},
    },
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with run_mock_process(["--ttft", "20ms", "--itl", "2ms"]) as url:
        yield url


@pytest.fixture(scope="module")
def module_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("dask"), workers=2) as cluster:
        yield cluster


@pytest.fixture
def cluster(module_cluster: LocalCluster) -> LocalCluster:
    """The module's cluster with two live workers (a test may have killed one)."""
    module_cluster.ensure_workers(2)
    return module_cluster


@contextlib.contextmanager
def loadtest_run(
    tmp_path: Path, cluster: LocalCluster, upstream: str, **profile: Any
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`loadtest run --cluster ... --workers 2` in a child process (its
    stderr in a file), stopped when the block ends."""
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({**PROFILE, **profile}))
    stderr = tmp_path / "stderr.txt"
    command = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    command += ["--target", upstream, "--cluster", cluster.address, "--workers", "2"]
    command += ["--out", str(tmp_path / "out"), "--quiet"]
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "LOADTEST_VK": KEY},
        )
    try:
        yield process, stderr
    finally:
        stop_process(process)


def summary_and_lines(tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (summary,) = (tmp_path / "out").glob("summary-*.json")
    jsonl = sorted((tmp_path / "out").glob("results-*.jsonl"))  # one per segment
    lines = [json.loads(line) for path in jsonl for line in path.read_text().splitlines()]
    return json.loads(summary.read_text()), lines


def test_two_segments_on_a_cluster_merge_exactly(
    tmp_path: Path, cluster: LocalCluster, upstream: str
) -> None:
    """Each Dask worker runs one segment; the merged summary counts every
    turn of the merged JSONL once; the key reaches no log and no output."""
    with loadtest_run(tmp_path, cluster, upstream) as (process, stderr):
        assert process.wait(120) == 0, stderr.read_text()
    err = stderr.read_text()
    starts = re.findall(r"cluster: segment (\d)/2 on (\S+): started", err)
    assert sorted(segment for segment, _ in starts) == ["0", "1"]
    assert len({worker for _, worker in starts}) == 2, "two shards on one worker"
    summary, lines = summary_and_lines(tmp_path)
    run = summary["run"]
    assert (run["shards"], run["segments"], run.get("partial", False)) == (2, ["0/2", "1/2"], False)
    assert run["jsonl_lines"] == len(lines)
    total = summary["stages"][0]["total"]
    steady = [line for line in lines if not line["warmup"] and line["outcome"] != "interrupted"]
    ok = [line for line in steady if line["outcome"] == "ok"]
    assert total["requests"] == len(steady) > 0
    assert total["ok"] == len(ok)
    assert total["ttft_ms"]["count"] == len(ok)
    assert total["completion_tokens"] == sum(line["completion_tokens"] for line in ok)
    assert total["latency_ms"]["max"] == pytest.approx(
        max(line["latency_ms"] for line in ok), rel=1e-3
    )
    outputs = "".join(path.read_text() for path in (tmp_path / "out").iterdir())
    assert KEY not in outputs
    assert KEY not in cluster.logs()
    assert KEY not in err


def test_a_lost_worker_ends_the_run_with_an_error_naming_its_segment(
    tmp_path: Path, cluster: LocalCluster, upstream: str
) -> None:
    """A worker killed mid-run: exit 1, its segment named as lost, the
    other stopped; the outputs written are marked partial."""
    with loadtest_run(tmp_path, cluster, upstream, stages=["2:60s"]) as (process, stderr):
        wait_for(lambda: "segments submitted" in stderr.read_text(), "the tasks' submission")
        victim = cluster.live_workers()[0]
        log = cluster.log_of(victim)
        (address,) = re.findall(r"Start worker at:\s+(tcp://\S+)", log)
        victim.send_signal(signal.SIGKILL)
        cluster.listed = -1  # the next test waits for a new one
        assert process.wait(120) == 1, stderr.read_text()
    err = stderr.read_text()
    submitted = re.search(r"\((.*)\); shared start", err)
    assert submitted is not None
    segment = {w: s for s, w in re.findall(r"(\d) on (tcp://\S+?)(?:,|$)", submitted[1])}[address]
    (line,) = (line for line in err.splitlines() if "lost: its Dask worker" in line)
    assert line.startswith("loadtest: error: ")
    assert f"lost: its Dask worker {address}" in line
    assert f"its segment {segment}/2 is missing from the merged outputs" in line
    summary, _ = summary_and_lines(tmp_path)
    assert summary["run"]["partial"] is True
    assert list(summary["run"]["missing_segments"]) == [f"{segment}/2"]
    assert summary["run"]["stopped_early"] is True


def test_ctrl_c_stops_every_shard_and_writes_what_was_measured(
    tmp_path: Path, cluster: LocalCluster, upstream: str
) -> None:
    with loadtest_run(tmp_path, cluster, upstream, stages=["2:60s"]) as (process, stderr):
        wait_for(lambda: "segments submitted" in stderr.read_text(), "the tasks' submission")
        match = re.search(r"\(Unix ([0-9.]+)\)", stderr.read_text())
        assert match is not None
        wait_for(lambda: time.time() > float(match[1]) + 0.5, "the shared start")
        process.send_signal(signal.SIGINT)
        assert process.wait(120) == 130, stderr.read_text()
    err = stderr.read_text()
    assert "SIGINT: stopping every shard" in err
    assert "Traceback" not in err
    summary, lines = summary_and_lines(tmp_path)
    assert summary["run"]["stopped_early"] is True
    assert summary["run"]["segments"] == ["0/2", "1/2"]
    assert summary["run"]["jsonl_lines"] == len(lines)
