"""The shipped tools-and-embeddings profile runs end to end against the
built-in mock: tool-call streams (OpenAI and Anthropic ingress) and
embeddings, from the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]


def test_tools_and_embeddings_profile_against_the_mock(tmp_path: Path) -> None:
    """Every scenario's turns succeed; tool-call turns have TTFT and output
    tokens, embeddings none of either but prompt tokens."""
    env = {k: v for k, v in os.environ.items() if k != "LOADTEST_VK"}
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtest",
            "run",
            str(ROOT / "profiles" / "tools-and-embeddings.json"),
            "--mock",
            "--stages",
            "4:1s",
            "--warmup",
            "0",
            "--out",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (summary_path,) = out.glob("summary-*.json")
    stage = json.loads(summary_path.read_text())["stages"][0]
    scenarios = {s["label"]: s for s in stage["scenarios"]}
    assert set(scenarios) == {"chat-tools", "anthropic-tools", "embeddings"}
    for label in ("chat-tools", "anthropic-tools"):
        tools = scenarios[label]
        assert tools["ok"] > 0, label
        assert tools["failed"] == 0, label
        assert tools["ttft_ms"]["count"] == tools["ok"], label
        assert tools["completion_tokens"] > 0, label
    embeddings = scenarios["embeddings"]
    assert embeddings["ok"] > 0
    assert embeddings["failed"] == 0
    assert embeddings["ttft_ms"]["count"] == 0
    assert embeddings["completion_tokens"] == 0
    assert embeddings["prompt_tokens"] > 0
    (jsonl,) = out.glob("results-*.jsonl")
    second_turns = [
        line
        for line in map(json.loads, jsonl.read_text().splitlines())
        if line.get("scenario") == "chat-tools" and line.get("turn") == 2
    ]
    assert all(line["outcome"] in ("ok", "interrupted") for line in second_turns)
