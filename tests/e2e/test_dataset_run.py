"""A dataset-driven, multi-turn run with drawn output lengths: the real CLI
against the real mock upstream on 127.0.0.1."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from .test_run_cli import run_cli

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

MEAN = 200
RECORDS = [
    {
        "messages": [
            {"role": "user", "content": f"question {i} about proxies"},
            {"role": "assistant", "content": "an old answer"},
            {"role": "user", "content": "and a follow-up"},
            {"role": "user", "content": "and a last one"},
        ]
    }
    for i in range(5)
] + [{"conversations": [{"from": "human", "value": f"one-off question {i}"}]} for i in range(5)]


@pytest.fixture(scope="module")
def dataset_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Any]]:
    """The dataset sits beside the profile, named relative to it; the mock
    answers 8 tokens unless a request asks for ignore_eos."""
    tmp_path: Path = tmp_path_factory.mktemp("dataset")
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS))
    profile = {
        "name": "e2e-dataset",
        "stages": ["4:3s"],
        "warmup": "0s",
        "graceful_stop": "5s",
        "cache_mode": "natural",
        "defaults": {
            "model": "mock-model",
            "max_tokens": {"dist": "normal", "mean": MEAN, "stddev": 10, "min": 100, "max": 300},
            "extra_body": {"ignore_eos": True},
            "content": {"mode": "dataset", "path": "d.jsonl", "replacement": False},
        },
    }
    summary, lines, _ = run_cli(tmp_path, profile, mock_extra="--ttft 0 --itl 0 --output-tokens 8")
    return summary, lines


def test_conversations_send_their_records_turns(dataset_run: Any) -> None:
    """Multi-turn records run as 3-turn conversations whose prompt grows
    with the live replies; one-turn records as one turn."""
    _, lines = dataset_run
    turns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        if line["outcome"] == "ok":
            turns[line["conv_uuid"]].append(line)
    counts = {len(t) for t in turns.values()}
    assert {1, 3} <= counts
    for conversation in turns.values():
        numbers = [line["turn"] for line in conversation]
        assert numbers == list(range(1, len(numbers) + 1))
        prompts = [line["prompt_tokens"] for line in conversation]
        assert prompts == sorted(prompts)
        assert len(set(prompts)) == len(prompts)


def test_output_lengths_follow_the_drawn_max_tokens(dataset_run: Any) -> None:
    """ignore_eos: every answer is its drawn max_tokens (not the mock's 8),
    and the realised mean is within 2% of the requested one."""
    summary, lines = dataset_run
    completions = [line["completion_tokens"] for line in lines if line["outcome"] == "ok"]
    assert len(completions) >= 100
    assert min(completions) >= 100
    assert statistics.fmean(completions) == pytest.approx(MEAN, rel=0.02)
    dist = summary["stages"][0]["total"]["completion_tokens_dist"]
    assert dist["mean"] == pytest.approx(MEAN, rel=0.02)
    assert 190 <= dist["p50"] <= 210
    assert 5 <= dist["p90"] - dist["p50"] <= 25  # 1.28 stddev above the median
    assert summary["stages"][0]["total"]["estimated_turns"] == 0
