"""Generator health and coordinated omission, end to end against the mock."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio

from loadtest.config import Overrides, load_profile, parse_duration, parse_stages, resolve
from loadtest.engine import open_engine
from loadtest.errors import EXIT_GENERATOR_HEALTH, EXIT_OK
from loadtest.mock import run_mock_process

pytestmark = pytest.mark.e2e
PROFILE = Path(__file__).parents[2] / "profiles" / "ai-gateway.json"


def run_cli(tmp_path: Path, stages: str, mock_args: str, *extra: str) -> tuple[int, dict[str, Any]]:
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(PROFILE)]
    args = ["--mock", "--mock-args", mock_args, "--stages", stages, "--warmup", "0"]
    done = subprocess.run(
        [*cmd, *args, "--out", str(tmp_path), "-q", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    (summary,) = tmp_path.glob("summary-*.json")
    return done.returncode, json.loads(summary.read_text())


def test_comfortable_run_is_healthy(tmp_path: Path) -> None:
    """20 conversations/s against a 50 ms mock: verdict ok, even with --strict-health."""
    code, summary = run_cli(tmp_path, "@20:2s", "--ttft 50ms --itl 2ms", "--strict-health")
    health = summary["stages"][0]["health"]
    assert health["verdict"] == "ok", health
    assert code == EXIT_OK
    assert health["figures"]["achieved_rate"] == pytest.approx(20, rel=0.05)


def test_overload_of_the_generator_is_called_out(tmp_path: Path) -> None:
    """3000 conversations/s is far beyond one Python process: the stage is
    generator-bound because the scheduler could not keep its rate, the report
    says so in its first lines, and --strict-health exits 4."""
    code, summary = run_cli(tmp_path, "@3000:2s", "--ttft 0", "--strict-health")
    health = summary["stages"][0]["health"]
    assert health["verdict"] == "generator-bound"
    assert any(reason.startswith("achieved rate") for reason in health["reasons"])
    assert code == EXIT_GENERATOR_HEALTH
    (report,) = tmp_path.glob("report-*.txt")
    first_lines = report.read_text().splitlines()[:4]
    assert any("generator generator-bound in stage 1" in line for line in first_lines)


async def test_generator_stall_shows_in_corrected_not_raw_latency() -> None:
    """A 1 s stall of the generator's event loop mid-run delays the arrivals
    planned in that second: their corrected latency (from the intended start)
    carries the stall, their measured latency (from the actual send) does
    not. This is the coordinated-omission correction, wrk2-style. Turns are
    short (~5 ms) so that at most one is in flight when the stall hits (that
    one is measured late too, as it should be: p99 of 200 ignores it)."""
    with run_mock_process(["--ttft", "5ms", "--itl", "0", "--output-tokens", "2"]) as url:
        overrides = Overrides(
            target=url, stages=parse_stages("@50:4s"), warmup=parse_duration("0s")
        )
        plan = resolve(load_profile(PROFILE), overrides, env={})
        async with open_engine(plan) as engine, trio.open_nursery() as nursery:

            async def stall() -> None:
                await trio.sleep(1.0)
                time.sleep(1.0)  # noqa: ASYNC251  (blocking the loop is the point: a GC-like pause)

            nursery.start_soon(stall)
            snapshot = await engine.run_stage(0)
    raw = snapshot.total.histogram("latency").percentiles([99.0])[99.0] / 1000
    corrected = snapshot.total.histogram("latency_corrected").percentiles([99.0])[99.0] / 1000
    assert raw < 400, raw
    assert corrected > 800, corrected
    assert snapshot.health["verdict"] != "ok"
