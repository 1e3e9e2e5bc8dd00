"""`loadtest run` against a closed port and against a black hole (accepts, reads,
never answers), real processes on 127.0.0.1: never exit 0."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.errors import EXIT_INTERRUPTED, EXIT_NO_SUCCESS, EXIT_RUNTIME
from tests.e2e.helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

KEY = "sk-live-0123456789"


def profile(url: str) -> dict[str, Any]:
    return {
        "name": "dead",
        "stages": ["2:1s"],
        "warmup": "0s",
        "graceful_stop": "1s",
        "defaults": {
            "target": url,
            "model": "m",
            "max_tokens": 8,
            "stream": True,
            "headers": {"Authorization": f"Bearer {KEY}"},
            "content": {"mode": "pool", "prompts": ["hi"]},
        },
    }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class BlackHole:
    """A listening port and the connections it accepted."""

    def __init__(self, port: int, clients: list[socket.socket]) -> None:
        self.port = port
        self.clients = clients


@pytest.fixture
def hole() -> Iterator[BlackHole]:
    """A 127.0.0.1 server that accepts every connection and never answers (the
    request waits in its socket buffer)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    stop = threading.Event()
    clients: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            clients.append(conn)  # held open, never read from or answered

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield BlackHole(server.getsockname()[1], clients)
    finally:
        stop.set()
        thread.join(5)
        for conn in clients:
            conn.close()
        server.close()


def run(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile(url)))
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    return subprocess.run(
        [*cmd, "--out", str(tmp_path / "o"), "-q", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_closed_port_fails_the_pre_flight_with_exit_1(tmp_path: Path) -> None:
    """Nothing listens: one line naming URL, protocol and class; no load, no outputs."""
    port = closed_port()
    done = run(tmp_path, f"http://127.0.0.1:{port}/v1")
    assert done.returncode == EXIT_RUNTIME, done.stderr
    heading, line = done.stderr.splitlines()
    assert heading.startswith("loadtest: error: pre-flight failed, nothing else was sent")
    assert line.startswith(
        f"loadtest: error: pre-flight: http://127.0.0.1:{port}/v1/chat/completions "
        "(openai-chat): conn_refused"
    )
    assert "Traceback" not in done.stderr
    assert KEY not in done.stderr + done.stdout
    assert not list((tmp_path / "o").glob("*"))  # --out is checked (made) first: empty


def test_without_pre_flight_a_closed_port_exits_no_success(tmp_path: Path) -> None:
    """--no-preflight: every turn refused; the outputs are written and the exit code is 5."""
    done = run(tmp_path, f"http://127.0.0.1:{closed_port()}/v1", "--no-preflight")
    assert done.returncode == EXIT_NO_SUCCESS, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "verdict: FAIL"
    assert lines[2] == "  no steady turn succeeded in any stage: the gateway was not measured"
    assert "conn_refused" in lines[3]
    (summary,) = (tmp_path / "o").glob("summary-*.json")
    assert json.loads(summary.read_text())["stages"][0]["total"]["ok"] == 0


def test_a_black_hole_run_is_named_hung_and_exits_no_success(
    tmp_path: Path, hole: BlackHole
) -> None:
    """Default timeouts, a 1 s stage: every turn is cut off unanswered; the verdict says
    so with the wait, error_rate is null (not 0), and the exit code is 5."""
    done = run(tmp_path, f"http://127.0.0.1:{hole.port}/v1", "--no-preflight")
    assert done.returncode == EXIT_NO_SUCCESS, done.stderr
    verdict = " ".join(line.strip() for line in done.stdout.splitlines()[1:6])
    assert verdict.startswith("verdict: FAIL no steady turn succeeded")
    assert "2 turns were cut off by the stage end with no response byte after waiting" in verdict
    assert "the gateway may be hung" in verdict
    (summary,) = (tmp_path / "o").glob("summary-*.json")
    total = json.loads(summary.read_text())["stages"][0]["total"]
    assert (total["requests"], total["error_rate"], total["unanswered"]) == (0, None, 2)


def test_a_black_hole_fails_the_pre_flight_at_the_read_timeout(
    tmp_path: Path, hole: BlackHole
) -> None:
    """With the pre-flight, a black hole is stopped at timeouts.read (here 1 s)."""
    path = tmp_path / "p.json"
    doc = profile(f"http://127.0.0.1:{hole.port}/v1") | {"timeouts": {"read": "1s"}}
    path.write_text(json.dumps(doc))
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    done = subprocess.run(
        [*cmd, "--out", str(tmp_path / "o"), "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_RUNTIME, done.stderr
    assert "(openai-chat): timeout_read" in done.stderr.splitlines()[-1]


def test_ctrl_c_during_the_pre_flight_exits_130_without_a_traceback(
    tmp_path: Path, hole: BlackHole
) -> None:
    """SIGINT while the pre-flight waits on a black hole: one line, exit 130, no outputs."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile(f"http://127.0.0.1:{hole.port}/v1")))
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    process = subprocess.Popen(
        [*cmd, "--out", str(tmp_path / "o"), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: hole.clients, "the probe to reach the black hole")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert stderr.splitlines() == ["loadtest: pre-flight interrupted: no load was sent"]
    assert not list((tmp_path / "o").glob("*"))  # --out is checked (made) first: empty
