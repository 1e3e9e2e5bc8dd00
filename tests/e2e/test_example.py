"""examples/custom_stage.py runs: the library API works as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


def test_custom_stage_example_runs() -> None:
    """The example runs one stage beside its own task and prints the snapshot."""
    done = subprocess.run(
        [sys.executable, "examples/custom_stage.py", "--stages", "3:2s"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.strip().startswith("t=") for line in lines)
    assert lines[-2].startswith("stage 1: closed, ")
    assert " ok, " in lines[-2]
    assert lines[-1].startswith("latency p50 ")
