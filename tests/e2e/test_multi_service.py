"""`multi-service.py` end to end: real `loadtest run` processes against real mock
upstreams on 127.0.0.1, short stages.

The acceptance test: two upstreams whose TTFT differ by 30 ms (100 ms and
130 ms) behind two "gateways": the faster one's TTFT p50 delta is exactly 0,
the slower one's is the difference of the two p50s, in every round and over
the rounds. On an idle machine that delta is ~30 ms; the test asserts only
what holds on a busy one (each p50 is at least its upstream's TTFT; the
delta arithmetic is exact in tests/unit/multiservice).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.mock import run_mock_process
from loadtest.multiservice import run_multi_service

from .helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from subprocess import Popen

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
KEY = "e2e-key-0123456789-not-real"
PROFILE: dict[str, Any] = {
    "name": "multi-e2e",
    "stages": ["4:2s"],
    "warmup": "0",
    "graceful_stop": "2s",
    "cache_mode": "bust",
    "defaults": {
        "protocol": "openai-chat",
        "model": "mock-model",
        "max_tokens": 8,
        "stream": True,
        "content": {"mode": "pool", "prompts": ["How far is the moon?"]},
    },
}


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[str, str]]:
    """Two mock upstreams: TTFT 100 ms and 130 ms, 5 ms between tokens."""
    with (
        run_mock_process(["--ttft", "100ms", "--itl", "5ms"]) as fast,
        run_mock_process(["--ttft", "130ms", "--itl", "5ms"]) as slow,
    ):
        yield fast, slow


def write_inputs(tmp_path: Path, targets: dict[str, str], **profile: Any) -> tuple[Path, Path]:
    """A services file (the first gateway takes its key from GW_KEY) and the profile."""
    blocks = [f'[[services]]\nname = "{name}"\ntarget = "{url}"\n' for name, url in targets.items()]
    blocks[0] += 'key_env = "GW_KEY"\n'
    services = tmp_path / "services.toml"
    services.write_text("\n".join(blocks))
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({**PROFILE, **profile}))
    return services, path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def command(services: Path, profile: Path, out: Path, *args: str) -> list[str]:
    script = str(ROOT / "multi-service.py")
    return [sys.executable, script, str(services), str(profile), "--out", str(out), *args]


def test_a_30ms_slower_upstream_shows_as_a_30ms_delta(
    tmp_path: Path, upstreams: tuple[str, str]
) -> None:
    """The 100 ms gateway is the fastest in each round (delta 0); the 130 ms
    gateway's delta is the difference of the p50s, each p50 at least its
    upstream's TTFT; the key appears in no output."""
    fast, slow = upstreams
    services, profile = write_inputs(tmp_path, {"gw-100ms": f"{fast}/v1", "gw-130ms": slow})
    out, report = tmp_path / "out", tmp_path / "multi.json"
    args = ["--rounds", "2", "--start-delay", "1.5s", "--json", str(report)]
    done = subprocess.run(
        command(services, profile, out, *args),
        env={**os.environ, "GW_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(report.read_text())
    assert len(doc["rounds"]) == 2
    slow_deltas = []
    for round_ in doc["rounds"]:
        fast, slow = round_["services"]
        assert (fast["name"], slow["name"]) == ("gw-100ms", "gw-130ms")
        fast_p50, slow_p50 = fast["figures"]["ttft_p50_ms"], slow["figures"]["ttft_p50_ms"]
        assert fast_p50 >= 100
        assert slow_p50 >= 130
        assert fast["delta_ms"] == 0.0, round_["table"]
        assert slow["delta_ms"] == pytest.approx(slow_p50 - fast_p50, abs=0.001)
        assert slow["delta_ms"] > 0
        slow_deltas.append(slow["delta_ms"])
        assert all(s["figures"]["error_rate"] == 0 for s in round_["services"])
    final = {s["name"]: s for s in doc["summary"]}
    assert final["gw-100ms"]["median_delta_ms"] == 0.0
    assert final["gw-130ms"]["median_delta_ms"] == pytest.approx(sum(slow_deltas) / 2, abs=0.01)
    assert final["gw-130ms"]["min_delta_ms"] == min(slow_deltas)
    assert final["gw-130ms"]["max_delta_ms"] == max(slow_deltas)
    for title in ("round 1/2", "round 2/2", "summary over 2 rounds"):
        assert title in done.stdout
    page = report.with_suffix(".html").read_text()
    assert '"id":"round-2-dist-ttft"' in page  # both rounds, each gateway overlaid
    assert page.count('"label":"gw-130ms"') >= 2 * 4
    assert f"wrote {report} and {report.with_suffix('.html')}" in done.stderr
    written = [p.read_bytes() for p in out.rglob("*") if p.is_file()]
    assert written
    pages = [report.read_bytes(), report.with_suffix(".html").read_bytes()]
    assert not any(KEY.encode() in data for data in [*written, *pages])
    assert KEY not in done.stdout + done.stderr


def test_a_gateway_on_a_closed_port_keeps_its_row(
    tmp_path: Path, upstreams: tuple[str, str]
) -> None:
    """A gateway nobody listens on is FAILED (no successful turn, conn_refused named)
    with 0.0 successful turns/s, never hidden; the other gateway's results still count."""
    fast, _ = upstreams
    targets = {"up": f"{fast}/v1", "closed": f"http://127.0.0.1:{closed_port()}"}
    services, profile = write_inputs(tmp_path, targets, stages=["2:1s"])
    tables: list[str] = []
    result = run_multi_service(
        services,
        profile,
        rounds=1,
        out=tmp_path / "out",
        start_delay_s=1.5,
        environ={**os.environ, "GW_KEY": KEY},
        on_table=tables.append,
    )
    (round_,) = result.rounds
    up, closed = round_.services
    assert up.figures is not None
    assert up.delta_ms == 0.0
    assert closed.failure is not None
    assert closed.failure.startswith("no successful turn: ")
    assert "conn_refused" in closed.failure
    assert closed.figures is not None
    assert closed.figures.ok_rps == 0.0  # not the rate of its refusals
    assert closed.delta_ms is None
    assert any(line.startswith("closed ") and "FAILED" in line for line in tables[0].splitlines())
    assert "FAILED in round 1" in tables[-1]
    assert json.loads(result.json_path.read_text())["rounds"][0]["services"][1]["name"] == "closed"
    page = result.json_path.with_suffix(".html").read_text()
    assert "closed: FAILED: no successful turn: " in page


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


def runs_writing(out: Path) -> int:
    """How many runs of round 1 have written turns to their JSONL."""
    return sum(1 for p in out.glob("multi-*/round-1/*/results-*.jsonl") if p.stat().st_size)


@contextlib.contextmanager
def long_round(tmp_path: Path, upstreams: tuple[str, str]) -> Iterator[tuple[Popen[str], str]]:
    """multi-service.py with a 30 s stage, yielded once its two runs are sending
    load, with the text only its children's command lines hold; killed on exit."""
    fast, slow = upstreams
    services, profile = write_inputs(tmp_path, {"a": fast, "b": slow}, stages=["2:30s"])
    out = tmp_path / "out"
    children = f"{out}/multi-"
    with subprocess.Popen(
        command(services, profile, out, "--rounds", "2", "--start-delay", "1s"),
        env={**os.environ, "GW_KEY": KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            wait_for(
                lambda: process.poll() is not None or runs_writing(out) == 2,
                "both runs to write their first turns",
            )
            assert len(processes_mentioning(children)) == 2
            yield process, children
        finally:
            process.kill()
            process.communicate()
            for pid in processes_mentioning(children):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_ctrl_c_ends_the_round_and_leaves_no_process(
    tmp_path: Path, upstreams: tuple[str, str]
) -> None:
    """SIGINT stops every run cleanly (each writes its summary), reports the
    round as interrupted, exits 130, and no child outlives it."""
    with long_round(tmp_path, upstreams) as (process, children):
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
        assert process.returncode == 130, stderr
        assert processes_mentioning(children) == []
    (report,) = (tmp_path / "out").glob("multi-*.json")
    doc = json.loads(report.read_text())
    assert doc["interrupted"] is True
    (round_,) = doc["rounds"]
    assert round_["interrupted"] is True
    assert [s["status"] for s in round_["services"]] == ["ok", "ok"]
    assert all(s["figures"]["stopped_early"] for s in round_["services"])


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_children_stop_by_themselves_when_the_parent_is_killed(
    tmp_path: Path, upstreams: tuple[str, str]
) -> None:
    """SIGKILL to multi-service.py: its children see stdin close, stop their
    stage, write their outputs and exit (the parent-death watchdog)."""
    with long_round(tmp_path, upstreams) as (process, children):
        process.kill()
        process.communicate(timeout=10)
        wait_for(lambda: not processes_mentioning(children), "the children to stop", 30)
    assert len(list(tmp_path.glob("out/multi-*/round-1/*/summary-*.json"))) == 2
