"""`loadtest mock` as a program: workers sharing one port, clean exits on
signals, children dying with their parent, and one-line errors for bad input."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.errors import RuntimeFailure
from loadtest.mock import run_mock_process

from .helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

LAUNCH = [sys.executable, "-c", "from loadtest.cli import main; main()", "mock", "--port", "0"]


def _health(url: str) -> dict[str, object]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/health")
        doc = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert isinstance(doc, dict)
    return doc


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie left for an absent reaper counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _wait_dead(pid: int) -> None:
    wait_for(lambda: not _alive(pid), f"process {pid} to exit", 30)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at the end are killed."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def _launch(processes: list[subprocess.Popen[bytes]], *args: str) -> tuple[int, str]:
    """Start `loadtest mock --port 0 ARGS`; its pid and URL (first stdout line)."""
    process = subprocess.Popen(
        [*LAUNCH, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    processes.append(process)
    assert process.stdout is not None
    url = process.stdout.readline().decode().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return process.pid, url


def _worker_pids(url: str, connections: int = 40) -> dict[object, object]:
    return {doc["worker"]: doc["pid"] for doc in (_health(url) for _ in range(connections))}


def test_workers_share_one_port_and_stop_on_sigterm(
    started: list[subprocess.Popen[bytes]],
) -> None:
    """--workers 2 --port 0: both processes answer on the one picked port;
    SIGTERM stops both, exit 0, no traceback."""
    pid, url = _launch(started, "--workers", "2")
    pids = _worker_pids(url)
    assert set(pids) == {0, 1}
    assert pids[0] == pid
    assert pids[1] != pid
    os.kill(pid, signal.SIGTERM)
    process = started[0]
    assert process.wait(10) == 0
    assert process.stderr is not None
    assert b"Traceback" not in process.stderr.read()
    _wait_dead(int(str(pids[1])))


def test_sigint_exits_cleanly(started: list[subprocess.Popen[bytes]]) -> None:
    """Ctrl-C (SIGINT) on a single-process mock exits 0 without a traceback."""
    pid, url = _launch(started)
    assert _health(url)["status"] == "ok"
    os.kill(pid, signal.SIGINT)
    assert started[0].wait(10) == 0
    assert started[0].stderr is not None
    assert b"Traceback" not in started[0].stderr.read()


def test_children_die_with_a_killed_parent(started: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL on the parent: its workers see stdin close and exit."""
    pid, url = _launch(started, "--workers", "2")
    child = int(str(_worker_pids(url)[1]))
    os.kill(pid, signal.SIGKILL)
    started[0].wait(10)
    _wait_dead(child)


def test_run_mock_process_yields_a_url_and_stops() -> None:
    """The helper yields a working URL and leaves no process behind."""
    with run_mock_process(["--seed", "1"]) as url:
        pid = int(str(_health(url)["pid"]))
    _wait_dead(pid)


def test_run_mock_process_reports_a_failed_start() -> None:
    """A mock that cannot start raises RuntimeFailure carrying its error line."""
    with (
        pytest.raises(RuntimeFailure, match=r"exited with code 2: loadtest: error: --ttft"),
        run_mock_process(["--ttft", "soon"]),
    ):
        pass  # pragma: no cover


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--ttft", "soon"],
            '--ttft: expected a duration like "250ms", "1.5s", "2m" or "1h"; got "soon"',
        ),
        (["--itl", "normal:5ms"], "--itl: normal:MEAN,STDDEV takes two values"),
        (["--error-rate", "2"], "--error-rate: expected a probability between 0 and 1, got 2.0"),
        (["--workers", "0"], "--workers: expected an integer >= 1, got 0"),
        (["--host", "256.1.1.1"], "--host/--port: cannot listen on 256.1.1.1:0"),
    ],
)
def test_bad_input_is_one_clean_line(args: list[str], message: str) -> None:
    """Bad flags give exit code 2 and a single `loadtest: error:` line."""
    result = CliRunner().invoke(app, ["mock", "--port", "0", *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"loadtest: error: {message}")


def test_busy_port_is_a_clean_error() -> None:
    """A port already served gives a one-line error, not a traceback."""
    with run_mock_process() as url:
        port = url.rsplit(":", 1)[1]
        result = CliRunner().invoke(app, ["mock", "--port", port])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"loadtest: error: --host/--port: cannot listen on 127.0.0.1:{port}"
    )


def test_help_documents_every_knob() -> None:
    """`loadtest mock --help` names every flag and the timing grammar."""
    result = CliRunner().invoke(app, ["mock", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    flags = [
        *("--host", "--port", "--workers", "--ttft", "--itl", "--output-tokens"),
        *("--tokens-per-chunk", "--usage", "--no-usage", "--error-rate", "--error-status"),
        *("--disconnect-rate", "--stream-error-rate", "--stall-rate", "--stall", "--seed"),
        *("--echo-header", "--cache", "--no-cache", "--cache-block-chars", "--cache-entries"),
        *("--model", "--watch-stdin"),
    ]
    missing = [flag for flag in flags if flag not in result.output]
    assert missing == []
    for grammar in ("normal:MEAN,STDDEV", "lognormal:MEDIAN,SIGMA", "uniform:LOW,HIGH", "exp:MEAN"):
        assert grammar in result.output
