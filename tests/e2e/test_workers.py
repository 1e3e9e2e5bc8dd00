"""`loadtest run --workers 2`: the real CLI, real worker processes, the real
mock on 127.0.0.1. Stages of a few seconds, or stopped by a signal; only
counts and structure are asserted (the machine may be busy)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

LAUNCH = [sys.executable, "-c", "from loadtest.cli import main; main()"]
PROFILE: dict[str, Any] = {
    "name": "workers",
    "stages": ["4:60s"],
    "warmup": "0s",
    "defaults": {
        "model": "mock-model",
        "max_tokens": 8,
        "stream": True,
        "content": {"mode": "pool", "prompts": ["hi"]},
    },
    "scenarios": [{"name": "a", "weight": 2}, {"name": "b", "weight": 1}],
}


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at the end are killed."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def _start(
    tmp_path: Path, started: list[subprocess.Popen[bytes]], *flags: str
) -> subprocess.Popen[bytes]:
    tmp_path.mkdir(exist_ok=True)
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(PROFILE))
    command = [*LAUNCH, "run", str(profile), "--mock", "--quiet", "--out", str(tmp_path / "out")]
    with (tmp_path / "stdout").open("wb") as stdout, (tmp_path / "stderr").open("wb") as stderr:
        process = subprocess.Popen([*command, *flags], stdout=stdout, stderr=stderr)
    started.append(process)
    return process


def _summary(directory: Path) -> dict[str, Any]:
    (path,) = directory.glob("summary-*.json")
    summary: dict[str, Any] = json.loads(path.read_text())
    return summary


def _planned(stage: dict[str, Any], shards: bool) -> float:
    """Arrivals the seeded schedule planned (rate x duration, per shard summed)."""
    healths = stage["health"]["shards"] if shards else [stage["health"]]
    return sum(h["figures"]["target_rate"] for h in healths) * stage["duration_s"]


def _workers(parent: int) -> dict[str, int]:
    """The worker processes of `parent`: their segment index -> pid."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            args = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"loadtest.scale._worker" in args:
            found[args[-2].decode().rsplit("/", 1)[1]] = int(stat.parent.name)
    return found


def test_two_workers_run_the_one_process_schedule(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """--workers 2 plans the same arrivals as one process at the same load,
    writes one merged set of outputs (a JSONL per worker) and exits 0."""
    one = _start(tmp_path / "one", started, "--stages", "@15:2s", "--no-preflight")
    two = _start(tmp_path / "two", started, "--stages", "@15:2s", "--workers", "2")
    assert one.wait(120) == 0, (tmp_path / "one" / "stderr").read_text()
    assert two.wait(120) == 0, (tmp_path / "two" / "stderr").read_text()
    whole, merged = _summary(tmp_path / "one" / "out"), _summary(tmp_path / "two" / "out")
    assert _planned(whole["stages"][0], False) == pytest.approx(30, abs=0.01)
    assert _planned(merged["stages"][0], True) == pytest.approx(30, abs=0.01)
    assert merged["run"]["segments"] == ["0/2", "1/2"]
    assert merged["stages"][0]["rate"] == 15
    assert 0 < merged["stages"][0]["total"]["requests"] <= 30
    names = sorted(p.name.split("-")[0] + p.suffix for p in (tmp_path / "two" / "out").iterdir())
    assert names == [
        "metrics.prom",
        "profile.toml",
        "report.csv",
        "report.html",
        "report.txt",
        "results.jsonl",
        "results.jsonl",
        "summary.json",
    ]
    lines = sum(len(p.read_text().splitlines()) for p in (tmp_path / "two" / "out").glob("*.jsonl"))
    assert lines == merged["run"]["jsonl_lines"]
    (written,) = (tmp_path / "two" / "out").glob("profile-*.toml")
    assert f"#   loadtest run {written.name} --mock --workers 2\n" in written.read_text()


def test_sigint_stops_every_worker_and_writes_everything(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """Ctrl-C to the parent: each worker ends its stage, the merged outputs
    are written with both segments, the run exits 130."""
    process = _start(tmp_path, started, "--workers", "2")
    out = tmp_path / "out"
    wait_for(
        lambda: len([p for p in out.glob("*.jsonl") if p.stat().st_size]) == 2,
        "both workers' JSONL",
    )
    process.send_signal(signal.SIGINT)
    assert process.wait(120) == 130
    summary = _summary(out)
    assert summary["run"]["stopped_early"] is True
    assert summary["run"]["segments"] == ["0/2", "1/2"]
    assert "partial" not in summary["run"]
    assert summary["stages"][0]["total"]["ok"] > 0


def test_a_killed_worker_fails_the_run_and_the_survivor_is_written(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """SIGKILL to worker 1 (then Ctrl-C, to end the run): exit 1, the report
    names it, worker 0's data is merged and written (marked partial)."""
    process = _start(tmp_path, started, "--workers", "2")
    out = tmp_path / "out"
    wait_for(lambda: len(_workers(process.pid)) == 2, "two workers")
    wait_for(
        lambda: len([p for p in out.glob("*.jsonl") if p.stat().st_size]) == 2,
        "both workers' JSONL",
    )
    pid = _workers(process.pid)["1"]
    os.kill(pid, signal.SIGKILL)
    process.send_signal(signal.SIGINT)  # the survivor ends its stage and is written
    assert process.wait(120) == 1
    summary = _summary(out)
    assert summary["run"]["partial"] is True
    assert list(summary["run"]["missing_segments"]) == ["1/2"]
    assert "killed by signal 9" in summary["run"]["missing_segments"]["1/2"]
    assert summary["stages"][0]["total"]["ok"] > 0
    report = next(out.glob("report-*.txt")).read_text()
    assert "segment 1/2 missing: worker 1" in report
    stderr = (tmp_path / "stderr").read_text()
    assert "worker 1 on " in stderr
    (left,) = out.glob("results-*-w1.jsonl")
    assert f"its JSONL up to then: {left}" in stderr


# A worker's interpreter start held until a signal: SIGTERM (the default
# action: it dies, as a worker still importing would) or, should the test
# fail before sending it, SIGALRM after 60 s.
HELD_WORKER_START = """
import signal
from pathlib import Path
if b"loadtest.scale._worker" in Path("/proc/self/cmdline").read_bytes():
    Path(__file__).with_name("worker-starting").touch()
    signal.alarm(60)
    signal.pause()
"""


def test_sigterm_while_the_workers_start_is_a_stop_before_any_load(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """SIGTERM while the workers are still starting (before they can catch it:
    here their interpreter start is held until a signal): nothing was sent, so it is
    the same stop as one process's, exit 130 with that said, not a failure."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HELD_WORKER_START)
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(PROFILE))
    command = [*LAUNCH, "run", str(profile), "--target", "http://127.0.0.1:9/v1"]
    command += ["--no-preflight", "--workers", "2", "--out", str(tmp_path / "out")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hooks), *sys.path])}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, env=env)
    started.append(process)
    wait_for(lambda: (hooks / "worker-starting").exists(), "a worker starting")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr.decode()
    assert "SIGTERM: stopped before any load was sent" in stderr.decode()
    assert not list((tmp_path / "out").glob("summary-*.json"))
