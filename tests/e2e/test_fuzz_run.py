"""A sample of accepted profile mutants runs a 1-second stage against the
real mock, in a real process, without a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from loadtest.config import Overrides, parse_profile, parse_stages, resolve
from loadtest.errors import ConfigError
from tests.fuzz import mutants

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e
RUNS = 3


def _accepted(count: int) -> list[tuple[str, str]]:
    """The first `count` mutants that validate with `--mock`'s overrides, with
    their stop and timeouts bounded so that a run ends within seconds."""
    out = []
    overrides = Overrides(target="http://127.0.0.1:1", stages=parse_stages("1:1s"))
    for name, text in mutants(seed=11, count=200):
        doc = json.loads(text)
        if not isinstance(doc, dict):
            continue
        doc.update(graceful_stop="1s", timeouts={"total": "5s"}, warmup="0s")
        bounded = json.dumps(doc)
        try:
            resolve(parse_profile(bounded, "json"), overrides, env={})
        except ConfigError:
            continue
        out.append((name, bounded))
        if len(out) == count:
            break
    return out


@pytest.mark.parametrize(("name", "text"), _accepted(RUNS), ids=lambda v: v[:20])
def test_accepted_mutant_runs_without_a_traceback(tmp_path: Path, name: str, text: str) -> None:
    """`run MUTANT --mock --stages 1:1s` ends with a run's exit code (0, 3 or 4)
    and writes its summary; nothing is a traceback."""
    path = tmp_path / f"{name}.json"
    path.write_text(text)
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    args = ["--mock", "--stages", "1:1s", "--out", str(tmp_path / "out"), "-q"]
    done = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=90, check=False)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode in (0, 3, 4), done.stderr[-3000:]
    assert any(p.name.startswith("summary-") for p in (tmp_path / "out").iterdir())
