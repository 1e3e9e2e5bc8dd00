"""The README's first command needs no key: `--mock` accepts the placeholder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


def test_realistic_profile_runs_against_the_mock_without_a_key(tmp_path: Path) -> None:
    """`run profiles/realistic.json --mock` with no --vk and no LOADTEST_VK
    runs (exit 0); the placeholder only ever reaches the built-in mock."""
    env = {k: v for k, v in os.environ.items() if k != "LOADTEST_VK"}
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run"]
    args = [
        str(ROOT / "profiles" / "realistic.json"),
        "--mock",
        "--stages",
        "2:1s",
        "--warmup",
        "0",
    ]
    done = subprocess.run(
        [*cmd, *args, "--out", str(tmp_path / "out"), "-q"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "REPLACE_WITH_VK" not in done.stderr
