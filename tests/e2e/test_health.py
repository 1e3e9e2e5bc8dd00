"""Generator health end to end against the mock: an overloaded generator is
called out. Only the unhealthy direction is tested on the real clock (a busy
machine makes a run less healthy, never more); the healthy verdict and the
coordinated-omission correction are exact on the mock clock
(tests/integration/test_health.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loadtest.errors import EXIT_GENERATOR_HEALTH

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
    assert any("  generator-bound in stage 1" in line for line in first_lines)
