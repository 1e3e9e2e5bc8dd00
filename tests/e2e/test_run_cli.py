"""`loadtest run --mock` end to end: the real CLI in a real process against
the real mock upstream on 127.0.0.1, with short stages."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from loadtest.report import summary_schema

from .helpers import wait_for

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

MOCK_TTFT_MS = 100
PROFILE: dict[str, Any] = {
    "name": "e2e",
    "stages": ["6:3s"],
    "warmup": "1s",
    "graceful_stop": "5s",
    "defaults": {"model": "mock-model", "max_tokens": 12, "stream": True},
    "scenarios": [
        {
            "name": "chat",
            "weight": 2,
            "turns": 3,
            "protocol": "openai-chat",
            "content": {"mode": "scripted", "script": ["first question", "second", "third"]},
        },
        {
            "name": "claude",
            "weight": 2,
            "protocol": "anthropic",
            "headers": {"anthropic-version": "2023-06-01"},
            "turns": 2,
            "content": {"mode": "sized", "approx_input_tokens": 300},
        },
        {
            "name": "responses",
            "weight": 1,
            "protocol": "openai-responses",
            "stream": False,
            "content": {"mode": "pool", "prompts": ["what is a proxy?"]},
        },
    ],
}


def run_cli(
    tmp_path: Path, profile: dict[str, Any], *args: str, mock_extra: str = ""
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    out = tmp_path / "out"
    mock = f"--ttft {MOCK_TTFT_MS}ms --itl 5ms {mock_extra}".strip()
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    done = subprocess.run(
        [*cmd, "--mock", "--mock-args", mock, "--out", str(out), "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (summary_path,) = out.glob("summary-*.json")
    (jsonl_path,) = out.glob("results-*.jsonl")
    assert list(out.glob("report-*.txt"))
    lines = [json.loads(line) for line in jsonl_path.read_text().splitlines()]
    summary = json.loads(summary_path.read_text())
    jsonschema.validate(summary, summary_schema(), cls=jsonschema.Draft202012Validator)
    return summary, lines, done.stdout


@pytest.fixture(scope="module")
def mixed_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    return run_cli(tmp_path_factory.mktemp("mixed"), PROFILE)


def test_every_turn_is_one_jsonl_line(mixed_run: Any) -> None:
    """JSONL lines = steady + warm-up + interrupted turns of the summary."""
    summary, lines, _ = mixed_run
    total = summary["stages"][0]["total"]
    assert len(lines) == total["requests"] + total["warmup_turns"] + total["interrupted"]
    assert summary["run"]["jsonl_lines"] == len(lines)
    assert summary["schema"] == "loadtest.summary/1"


def test_all_three_protocols_succeed_in_one_run(mixed_run: Any) -> None:
    """Chat, Anthropic and Responses scenarios all complete without errors."""
    summary, _, report = mixed_run
    stage = summary["stages"][0]
    assert [s["label"] for s in stage["scenarios"]] == ["chat", "claude", "responses"]
    for stats in stage["scenarios"]:
        assert stats["ok"] > 0, stats["label"]
        assert stats["errors"] == {}, stats["errors"]
    assert stage["vus"] == {"chat": 3, "claude": 2, "responses": 1}  # ties go to the first
    assert "verdict: no thresholds set" in report
    assert "errors in stage" not in report


def test_prompt_tokens_grow_turn_over_turn(mixed_run: Any) -> None:
    """In multi-turn conversations each turn's prompt holds the earlier ones."""
    _, lines, _ = mixed_run
    conversations: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for line in lines:
        if line["outcome"] == "ok" and line["scenario"] in ("chat", "claude"):
            conversations[line["conv_uuid"]].append((line["turn"], line["prompt_tokens"]))
    multi = [sorted(turns) for turns in conversations.values() if len(turns) > 1]
    assert multi
    for turns in multi:
        prompts = [p for _, p in turns]
        assert prompts == sorted(prompts)
        assert len(set(prompts)) == len(prompts)


def test_bust_mode_never_hits_the_prefix_cache_on_a_first_turn(mixed_run: Any) -> None:
    """Every conversation starts with its own UUID: the mock's prefix cache
    reports nothing cached for any first turn, while later turns of the same
    conversation do hit (their history is a shared prefix; the 300-token
    sized prompts span many of the mock's 64-character cache blocks)."""
    _, lines, _ = mixed_run
    firsts = [line for line in lines if line["turn"] == 1 and line["outcome"] == "ok"]
    assert firsts
    assert {line["cached_tokens"] for line in firsts} == {0}
    assert len({line["conv_uuid"] for line in firsts}) == len(firsts)
    later = [
        line
        for line in lines
        if line["turn"] > 1 and line["outcome"] == "ok" and line["scenario"] == "claude"
    ]
    assert later
    assert all(line["cached_tokens"] > 0 for line in later)


def test_ttft_and_latency_hold_the_mock_s_delays(mixed_run: Any) -> None:
    """TTFT is at least the mock's TTFT, and a 12-token chat turn ends at least
    11 gaps of 5 ms later: lower bounds, which hold however busy the machine
    is (that the figures are exact is tested on the mock clock)."""
    summary, _, _ = mixed_run
    ttft = summary["stages"][0]["total"]["ttft_ms"]
    assert ttft["count"] > 10
    assert ttft["p50"] >= MOCK_TTFT_MS
    chat = summary["stages"][0]["scenarios"][0]
    assert chat["label"] == "chat"
    assert chat["latency_ms"]["p50"] >= chat["ttft_ms"]["p50"]
    assert chat["latency_ms"]["p50"] >= MOCK_TTFT_MS + 11 * 5


def test_shared_prefix_mode_hits_the_cache_on_first_turns(tmp_path: Path) -> None:
    """shared-prefix: the UUID goes last, so every conversation after the
    first finds the common start of its first message cached; bust never does."""
    opening = "Review this design for a rate limiter shared by forty gateway instances. " * 3
    scenario = {"name": "chat", "turns": 1, "content": {"mode": "pool", "prompts": [opening]}}
    profile = {**PROFILE, "stages": ["2:2s"], "warmup": "0s", "scenarios": [scenario]}
    _, shared, _ = run_cli(tmp_path / "shared", {**profile, "cache_mode": "shared-prefix"})
    firsts = sorted(shared, key=lambda line: line["ts"])
    assert len(firsts) >= 3  # two VUs: the third conversation starts after a first one ended
    assert all(line["cached_tokens"] > 0 for line in firsts[2:])
    _, bust, _ = run_cli(tmp_path / "bust", {**profile, "cache_mode": "bust"})
    assert {line["cached_tokens"] for line in bust} == {0}


def test_stream_tail_shows_a_held_done(tmp_path: Path) -> None:
    """A mock that holds `[DONE]` 300 ms after the last token: the stream
    tail shows it in the JSONL, summary and report; TPOT (to the last
    token) does not absorb it. Bounds are loose: the host may be busy."""
    scenario = {"name": "chat", "turns": 1, "content": {"mode": "pool", "prompts": ["hi"]}}
    profile = {**PROFILE, "stages": ["2:2s"], "warmup": "0s", "scenarios": [scenario]}
    summary, lines, report = run_cli(tmp_path, profile, mock_extra="--done-delay 300ms")
    total = summary["stages"][0]["total"]
    assert total["stream_tail_ms"]["count"] == total["ok"] > 0
    assert total["stream_tail_ms"]["p50"] >= 150
    assert total["tpot_ms"]["p50"] < total["stream_tail_ms"]["p50"] / 11
    ok = [line for line in lines if line["outcome"] == "ok"]
    assert all(line["stream_tail_ms"] >= 150 for line in ok)
    assert "stream tail p50" in report


def test_bust_warns_when_the_cache_hits_first_turns(tmp_path: Path) -> None:
    """A mock whose prefix cache ignores the busting UUID (the first 37
    characters: UUID and newline) serves first turns from cache: the
    verdict warns. The same run against a normal mock does not."""
    opening = "Review this design for a rate limiter shared by forty gateway instances. " * 3
    scenario = {"name": "chat", "turns": 1, "content": {"mode": "pool", "prompts": [opening]}}
    profile = {**PROFILE, "stages": ["2:2s"], "warmup": "0s", "scenarios": [scenario]}
    profile["cache_mode"] = "bust"
    summary, _, report = run_cli(tmp_path / "hit", profile, mock_extra="--cache-skip-chars 37")
    hits = summary["stages"][0]["total"]["cache"]["first_turns"]["cached_turns"]
    assert hits > 0
    assert f"cache busting did not hold: {hits} first turns were served from cache" in report
    _, _, held = run_cli(tmp_path / "held", profile)
    assert "cache busting did not hold" not in held


def test_failed_threshold_exits_3_and_every_output_is_written(tmp_path: Path) -> None:
    """An error-rate threshold failed by injected 500s: exit 3, the verdict
    says FAIL in the report's first lines, and all seven outputs exist."""
    profile = {**PROFILE, "stages": ["2:1s"], "warmup": "0s", "thresholds": {"error_rate": 0.01}}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile))
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    done = subprocess.run(
        [*cmd, "--mock", "--mock-args", "--error-rate 0.5", "--out", str(tmp_path / "o"), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    kinds = sorted(p.name.split("-")[0] + p.suffix for p in (tmp_path / "o").iterdir())
    assert kinds == [
        "metrics.prom",
        "profile.toml",
        "report.csv",
        "report.html",
        "report.txt",
        "results.jsonl",
        "summary.json",
    ]
    assert done.stdout.splitlines()[1] == "verdict: FAIL"
    assert "threshold failed: stage 1 total error_rate" in done.stdout.splitlines()[2]


def test_closing_stdin_stops_a_watching_run(tmp_path: Path) -> None:
    """--watch-stdin: when the supervisor's pipe closes, the run ends its stage,
    writes its outputs and exits 130. The pipe closes once turns are being
    written (not after a fixed time, which a busy machine may not honour)."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**PROFILE, "stages": ["2:60s"]}))
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(path)]
    process = subprocess.Popen(
        [*cmd, "--mock", "--watch-stdin", "--out", str(tmp_path / "o"), "-q"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: (
                process.poll() is not None
                or any(p.stat().st_size for p in (tmp_path / "o").glob("results-*.jsonl"))
            ),
            "the first JSONL lines",
        )
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
    (summary,) = (tmp_path / "o").glob("summary-*.json")
    assert json.loads(summary.read_text())["run"]["stopped_early"] is True
