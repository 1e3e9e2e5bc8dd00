"""`loadtest sweep --mock` against a mock with `--slots`: the real CLI and
the real mock on 127.0.0.1. 4 slots of 100 ms service time sustain 40/s;
the sweep's knee lies within 10% of that. On a busy machine a probe may be
generator-bound: the search then stops below it, and that is asserted
instead (never a knee above the mock's capacity)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

SLOTS = 4
TTFT_MS = 50
ITL_MS = 5
TOKENS = 11
# service time = TTFT + (tokens - 1) x ITL = 100 ms: 4 slots serve 40/s
SERVICE_S = (TTFT_MS + (TOKENS - 1) * ITL_MS) / 1000
KNEE_RPS = SLOTS / SERVICE_S

PROFILE: dict[str, Any] = {
    "name": "sweep",
    "graceful_stop": "2s",
    "defaults": {"model": "mock-model", "max_tokens": TOKENS, "stream": True},
    "scenarios": [
        {
            "name": "chat",
            "protocol": "openai-chat",
            "content": {"mode": "pool", "prompts": ["what is a proxy?"]},
        }
    ],
}


def test_the_knee_is_the_mocks_capacity(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(PROFILE))
    out = tmp_path / "out"
    mock = f"--slots {SLOTS} --ttft {TTFT_MS}ms --itl {ITL_MS}ms"
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "sweep", str(path)]
    done = subprocess.run(
        [
            *cmd,
            *("--mock", "--mock-args", mock, "--out", str(out), "--quiet"),
            *("--slo", "ttft<=200ms", "--probe-duration", "2s", "--ceiling-vus", "12"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    (summary_path,) = out.glob("summary-*.json")
    summary = json.loads(summary_path.read_text())
    sweep = summary["sweep"]
    knee = sweep["knee"]
    assert done.returncode == (0 if knee["rate_rps"] is not None else 3), done.stderr
    assert [p["kind"] for p in sweep["probes"][:2]] == ["baseline", "ceiling"]
    assert len(summary["stages"]) == len(sweep["probes"])
    assert (out / summary_path.name.replace("summary", "report").replace(".json", ".txt")).exists()
    ceiling = sweep["probes"][1]["achieved_rps"]
    assert ceiling <= 1.1 * KNEE_RPS  # a slow machine serves less, never more
    if knee["next_failed_because"] == "generator-bound":
        # the generator, not the gateway, stopped the search: the knee is below a bound probe
        bound = [p for p in sweep["probes"] if p["reason"] == "generator-bound"]
        assert knee["rate_rps"] is None or knee["rate_rps"] < min(p["offered_rps"] for p in bound)
        assert "not counted" in knee["note"] or knee["rate_rps"] is None
        return
    assert knee["rate_rps"] is not None, knee
    assert 0.9 * KNEE_RPS <= knee["rate_rps"] <= 1.1 * KNEE_RPS, sweep["probes"]
