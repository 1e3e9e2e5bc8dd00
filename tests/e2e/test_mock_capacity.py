"""`loadtest run --mock` against a mock with `--slots`: the real CLI and the
real mock on 127.0.0.1. More VUs than slots, so throughput is capped near
slots / service time and the queue's wait shows in TTFT. Only bounds that
hold on a busy machine are asserted (a slow machine serves less, never
more)."""

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
# service time = TTFT + (tokens - 1) x ITL = 100 ms; at most 4 / 0.1 s = 40/s
SERVICE_S = (TTFT_MS + (TOKENS - 1) * ITL_MS) / 1000
KNEE_RPS = SLOTS / SERVICE_S

PROFILE: dict[str, Any] = {
    "name": "capacity",
    "stages": ["16:3s"],
    "warmup": "1s",
    "graceful_stop": "5s",
    "defaults": {"model": "mock-model", "max_tokens": TOKENS, "stream": True},
    "scenarios": [
        {
            "name": "chat",
            "protocol": "openai-chat",
            "content": {"mode": "pool", "prompts": ["what is a proxy?"]},
        }
    ],
}


def test_throughput_is_capped_by_the_slots(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(PROFILE))
    out = tmp_path / "out"
    mock = f"--slots {SLOTS} --ttft {TTFT_MS}ms --itl {ITL_MS}ms"
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    done = subprocess.run(
        [*cmd, "--mock", "--mock-args", mock, "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (summary_path,) = out.glob("summary-*.json")
    total = json.loads(summary_path.read_text())["stages"][0]["total"]
    assert total["ok"] > 0
    assert total["failed"] == 0
    assert total["throughput_rps"] <= 1.25 * KNEE_RPS
    # 16 VUs on 4 slots: a turn waits about 3 service times before its TTFT
    assert total["ttft_ms"]["p50"] > TTFT_MS + SERVICE_S * 1000
