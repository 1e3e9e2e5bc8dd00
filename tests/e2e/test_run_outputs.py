"""`loadtest run` never loses its outputs: a full disk, repeated stop signals,
a terminal's Ctrl-C with --mock, and a --mock profile that reruns as it ran.
The real CLI in real processes against the real mock on 127.0.0.1, with
stages of a second or two (or stopped by a signal)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from loadtest.cli._options import plan_from_options
from tests.e2e.helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

LAUNCH = [sys.executable, "-c", "from loadtest.cli import main; main()"]
PROFILE: dict[str, Any] = {
    "name": "outputs",
    "stages": ["4:60s"],
    "warmup": "0s",
    "defaults": {"model": "mock-model", "max_tokens": 20, "stream": True},
    "scenarios": [
        {"name": name, "protocol": protocol, "content": {"mode": "pool", "prompts": ["hi"]}}
        for name, protocol in (("a", "openai-chat"), ("b", "anthropic"), ("c", "openai-chat"))
    ],
}
PROFILE["scenarios"][1]["headers"] = {"anthropic-version": "2023-06-01"}
KINDS = [
    "metrics.prom",
    "profile.toml",
    "report.csv",
    "report.html",
    "report.txt",
    "results.jsonl",
    "summary.json",
]


def write_profile(tmp_path: Path, **changes: Any) -> Path:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**PROFILE, **changes}))
    return path


def kinds(directory: Path) -> list[str]:
    return sorted(p.name.split("-")[0] + p.suffix for p in directory.iterdir())


def jsonl_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSONL file, which must hold whole lines only."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at the end are killed."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _wait_dead(pid: int, timeout_s: float = 15.0) -> bool:
    wait_for(lambda: not _alive(pid), f"process {pid} to end", timeout_s)
    return True


def _wait_for(predicate: Any, timeout_s: float = 30.0) -> None:
    wait_for(predicate, "the condition", timeout_s)


def start_run(
    started: list[subprocess.Popen[bytes]], tmp_path: Path, *args: str, **popen: Any
) -> subprocess.Popen[bytes]:
    """`loadtest run p.json --mock ARGS` in the background, its stderr in
    tmp_path/stderr; returns once it has measured a few turns."""
    out = tmp_path / "o"
    command = [*LAUNCH, "run", str(write_profile(tmp_path)), "--mock", "--out", str(out), "-q"]
    with (tmp_path / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [*command, *args], stdout=subprocess.DEVNULL, stderr=stderr, **popen
        )
    started.append(process)

    def measuring() -> bool:
        assert process.poll() is None, (tmp_path / "stderr").read_text()
        return any(p.stat().st_size for p in out.glob("results-*.jsonl"))

    _wait_for(measuring)
    return process


def mock_pid(tmp_path: Path) -> int:
    """The pid of the run's mock, from its /health (URL from the run's stderr)."""
    (line,) = [
        line
        for line in (tmp_path / "stderr").read_text().splitlines()
        if line.startswith("mock upstream: ")
    ]
    host, port = line.removeprefix("mock upstream: http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/health")
        return int(json.loads(conn.getresponse().read())["pid"])
    finally:
        conn.close()


# --- a full disk ------------------------------------------------------------------


def check_full_disk_run(done: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    """What every run that filled its disk must show; its summary."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert ": JSONL writing stopped; the run goes on measuring" in done.stderr
    (jsonl,) = out.glob("results-*.jsonl")
    lines = jsonl_lines(jsonl)
    summary_line = [line for line in done.stderr.splitlines() if "/summary-" in line]
    if summary_line and summary_line[0].startswith("  /"):
        summary = json.loads(Path(summary_line[0].strip()).read_text())
    else:  # written nowhere: on stdout, after the report
        assert "written nowhere: summary-" in done.stderr
        summary = json.loads(done.stdout[done.stdout.index("\n{\n") + 1 :])
    run = summary["run"]
    assert run["jsonl_lines"] == len(lines)
    assert run["jsonl_lost_lines"] > 0
    total = summary["stages"][0]["total"]
    assert total["requests"] + total["interrupted"] == len(lines) + run["jsonl_lost_lines"]
    assert f"{run['jsonl_lost_lines']:,} lost (the file could not be written)" in done.stdout
    return summary


def run_short_mock_run(
    tmp_path: Path, out: Path, temp: Path, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """A 2 s `--mock` run writing to `out`, with TMPDIR at `temp` (where
    outputs that cannot be written in `out` go)."""
    command = [*LAUNCH, "run", str(write_profile(tmp_path)), "--mock", "--out", str(out)]
    return subprocess.run(
        [*command, "--stages", "4:2s", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(temp)},
        **popen,
    )


def test_a_full_disk_mid_run_keeps_measuring_and_moves_the_outputs(tmp_path: Path) -> None:
    """--out on a small tmpfs: the JSONL fills it and stops with whole lines;
    the run measures on; every other output goes to the announced temporary
    directory; exit 1."""
    out = tmp_path / "o"
    out.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(out)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True, check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        temp = tmp_path / "tmp"
        temp.mkdir()
        done = run_short_mock_run(tmp_path, out, temp)
        check_full_disk_run(done, out)
        assert kinds(out) == ["results.jsonl"]  # no torn or empty file left behind
    finally:
        subprocess.run(["umount", str(out)], check=True)
    (moved,) = temp.iterdir()
    assert f"is in {moved}" in done.stderr
    assert kinds(moved) == [k for k in KINDS if k != "results.jsonl"]


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump


def test_a_failing_writer_keeps_measuring_and_prints_the_summary(tmp_path: Path) -> None:
    """Anywhere (no mount): files may not exceed 8 KiB. The JSONL stops with
    whole lines, the small outputs are written, the summary fits nowhere and
    is printed on stdout after the report; exit 1."""
    out = tmp_path / "o"
    done = run_short_mock_run(tmp_path, out, tmp_path, preexec_fn=_limit_file_size)
    summary = check_full_disk_run(done, out)
    assert "File too large" in done.stderr
    assert summary["run"]["profile"] == "outputs"
    assert "report.txt" in kinds(out)
    assert "summary.json" not in kinds(out)


# --- stop signals -----------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_repeated_signals_still_write_every_output(
    started: list[subprocess.Popen[bytes]], tmp_path: Path, signum: int
) -> None:
    """A signal, then more every 20 ms until the run exits (while it stops,
    while it writes): exit 130, all seven outputs, a summary of what was
    measured, no traceback."""
    process = start_run(started, tmp_path)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.02)
    assert process.wait(timeout=30) == 130
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr
    assert "again: already stopping" in stderr or "writing the outputs of" in stderr
    out = tmp_path / "o"
    assert kinds(out) == KINDS
    (summary_path,) = out.glob("summary-*.json")
    summary = json.loads(summary_path.read_text())
    assert summary["run"]["stopped_early"] is True
    (stage,) = summary["stages"]
    assert stage["stopped_early"] is True
    (jsonl,) = out.glob("results-*.jsonl")
    assert summary["run"]["jsonl_lines"] == len(jsonl_lines(jsonl)) > 0


def test_ctrl_c_on_the_terminal_does_not_reach_the_mock(
    started: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """SIGINT to the run's whole process group (what a terminal's Ctrl-C
    does): the mock, in its own session, keeps serving while the run stops,
    so no stream is cut server-side; the run stops the mock afterwards."""
    process = start_run(started, tmp_path, "--mock-args", "--itl 20ms", start_new_session=True)
    pid = mock_pid(tmp_path)
    assert os.getsid(pid) != os.getsid(process.pid)
    # A turn has finished, so the next streams (20 tokens x 20 ms) are in flight.
    wait_for(
        lambda: any(jsonl_lines(p) for p in (tmp_path / "o").glob("results-*.jsonl")),
        "the first JSONL line",
    )
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert _wait_dead(pid)
    (summary_path,) = (tmp_path / "o").glob("summary-*.json")
    total = json.loads(summary_path.read_text())["stages"][0]["total"]
    assert total["errors"] == {}
    assert total["ok"] > 0


def test_a_killed_run_takes_its_mock_with_it(
    started: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """SIGKILL on the run: its mock sees its stdin close and exits."""
    process = start_run(started, tmp_path)
    pid = mock_pid(tmp_path)
    process.kill()
    process.wait(timeout=10)
    assert _wait_dead(pid)


# --- the written profile of a --mock run -------------------------------------------


def test_a_mock_profile_reruns_as_it_ran(tmp_path: Path) -> None:
    """The profile a --mock run writes keeps its name and own targets (not the
    mock's passing port) and records the command that reruns it; that
    command resolves to the same plan and runs without an error."""
    first = tmp_path / "first"
    flags = ["--stages", "2:1s", "--warmup", "0s", "--seed", "7", "--model", "mock-model"]
    mock_args = "--ttft 5ms --itl 1ms"
    command = [*LAUNCH, "run", str(write_profile(tmp_path)), "--mock", "--out", str(first)]
    done = subprocess.run(
        [*command, *flags, "--mock-args", mock_args, "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (written,) = first.glob("profile-*.toml")
    recorded = [
        line.removeprefix("#   ")
        for line in written.read_text().splitlines()
        if line.startswith("#   loadtest run ")
    ]
    assert recorded == [
        shlex.join(["loadtest", "run", written.name, "--mock", "--mock-args", mock_args])
    ]

    url = "http://127.0.0.1:1234"
    original = plan_from_options(
        tmp_path / "p.json",
        target=url,
        model="mock-model",
        vk=None,
        headers=None,
        stages="2:1s",
        seed=7,
        warmup="0s",
    )
    again = plan_from_options(
        written, target=url, model=None, vk=None, headers=None, stages=None, seed=None
    )
    assert again.name == original.name == "outputs"
    assert attrs.evolve(again, profile=original.profile) == original
    assert "target" not in written.read_text()

    args = shlex.split(recorded[0])[1:]  # `loadtest` is this interpreter
    rerun = subprocess.run(
        [*LAUNCH, *args, "--out", str(tmp_path / "second"), "-q"],
        cwd=first,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    (summary_path,) = (tmp_path / "second").glob("summary-*.json")
    summary = json.loads(summary_path.read_text())
    assert summary["run"]["profile"] == "outputs"
    assert summary["run"]["seed"] == 7
    assert summary["stages"][0]["total"]["errors"] == {}
    assert summary["stages"][0]["total"]["ok"] > 0
