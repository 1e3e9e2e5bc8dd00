"""The text report's saturation table (one line per stage, before the stage
blocks), the mark on percentiles of fewer than 10 samples, and `-` in every
rate and percentage cell of a row without turns."""

from __future__ import annotations

from typing import Any

from loadtest.report import evaluate_thresholds, render_text
from loadtest.report._text import FEW_LEGEND
from tests.unit.report.builders import failed, make_plan, snapshot, summary, turn

HEALTH: dict[str, Any] = {
    "verdict": "ok",
    "reasons": [],
    "figures": {
        "cpu_share": 0.2,
        "loop_lag_p99_ms": 1.0,
        "loop_lag_max_ms": 2.0,
        "peak_in_flight": 3,
        "target_in_flight": None,
        "dropped": 0,
    },
}


def block(text: str, title: str) -> list[str]:
    """The lines of the block that starts with `title`, up to its blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = lines.index("", start)
    return lines[start:end]


def many(count: int, index: int = 0, **changes: Any) -> list[Any]:
    return [turn(0, stage=index, **changes) for _ in range(count)]


def test_one_line_per_stage_before_the_stage_blocks() -> None:
    closed = snapshot([*many(19), failed(0)], health=HEALTH, concurrency=8)
    opened = snapshot(many(30, 1, latency_us=250_000), 1, mode="open", rate=2.5)
    text = render_text(summary([closed, opened]))
    lines = text.splitlines()
    table = block(text, "Saturation")
    assert lines.index(table[0]) < lines.index(next(x for x in lines if x.startswith("Stage 1/")))
    assert table[0] == "Saturation (stage totals; ms, measured from actual send)"
    assert table[1].split() == [
        "stage", "load", "rps", "ok%", "TTFT", "p50", "p99", "latency", "p99", "health"
    ]  # fmt: skip
    closed_row = ["1", "closed", "8", "VUs", "2.0", "95.0", "20.0", "20.0", "100", "ok"]
    assert table[2].split() == closed_row
    assert table[3].split() == ["2", "open", "2.5/s", "3.0", "100.0", "20.0", "20.0", "250", "-"]
    assert len(table) == 4  # no legend: every figure from 10 samples or more


def test_no_stage_no_table() -> None:
    doc = summary([snapshot(many(10))])
    doc["stages"] = []
    assert "Saturation" not in render_text(doc)


def test_a_stage_without_turns_shows_dashes_not_zeros() -> None:
    """No turn completed: no rate, no ok share, no percentile (a 0 would
    read as a measurement)."""
    text = render_text(summary([snapshot(many(12)), snapshot([], 1)]))
    row = block(text, "Saturation")[3]
    assert row.split() == ["2", "closed", "4", "VUs", "-", "-", "-", "-", "-", "-"]


def test_a_scenario_without_turns_shows_dashes_in_rate_cells() -> None:
    """A scenario with no turn in the stage: rps, ok% and output tokens/s are `-`."""
    text = render_text(summary([snapshot(many(12))]))
    stage = block(text, "Stage 1/")
    batch = [line.split() for line in stage if line.startswith("batch")]
    assert batch[0][:4] == ["batch", "0", "-", "-"]  # requests, rps, ok%
    assert batch[1][-2:] == ["-", "-"]  # out tok/s, errors


def test_percentiles_of_fewer_than_10_samples_are_marked() -> None:
    """9 turns: every percentile is marked, in the saturation table and the
    stage's tables, and each of those blocks ends with the legend; max is
    not a percentile and stays unmarked."""
    text = render_text(summary([snapshot(many(9, lag_us=1_000), mode="open")]))
    table = block(text, "Saturation")
    assert table[-1] == FEW_LEGEND
    assert table[2].split()[-4:] == ["20.0*", "20.0*", "100*", "-"]
    stage = block(text, "Stage 1/")
    assert stage[-1] == FEW_LEGEND
    chat = [line.split() for line in stage if line.startswith("chat")]
    assert chat[0][4:] == ["100*", "100*", "100*", "100*", "100*", "100"]
    # ITL and chunk gap: 2 values per turn, 18 in all, not marked
    assert chat[1][1:7] == ["20.0*", "20.0*", "20.0*", "2.00", "3.00", "1.00*"]
    assert chat[2][1:6] == ["2.00", "3.00", "-", "-", "-"]
    # tokens per turn: percentiles marked, the mean not (it is no percentile)
    assert chat[3][1:] == ["10*", "10*", "10*", "10.0", "20*", "20*", "20*", "20.0", "0"]
    assert chat[4][1:] == ["101*"] * 3 + ["21.0*"] * 3 + ["1.00*", "1.00"]  # lag max unmarked


def test_ten_samples_are_not_marked() -> None:
    text = render_text(summary([snapshot(many(10))]))
    assert "*" not in text
    assert FEW_LEGEND not in text


def test_marked_columns_stay_aligned() -> None:
    """A column with a marked figure leaves room for the mark in the others."""
    fast = [turn(0, latency_us=100_000) for _ in range(20)]
    text = render_text(summary([snapshot([*fast, turn(1, latency_us=200_000)])]))
    stage = block(text, "Stage 1/")
    rows = {line.split()[0]: line for line in stage[2:5]}
    assert rows["chat"].index("100 ") == rows["batch"].index("200*")


def test_threshold_actual_of_few_samples_is_marked() -> None:
    doc = summary([snapshot(many(3))], make_plan(thresholds={"p95_ms": 1, "error_rate": 0.5}))
    doc["thresholds"] = evaluate_thresholds(doc)
    text = render_text(doc)
    assert "  threshold failed: stage 1 total p95_ms = 100 ms* (limit <= 1 ms)" in text
    verdict = block(text, "verdict:")
    assert verdict[-1] == f"  {FEW_LEGEND}"
    thresholds = text.splitlines()[text.splitlines().index("Thresholds") :]
    assert thresholds[1:] == [
        "  FAIL  stage 1 total: p95_ms = 100 ms* (limit <= 1 ms)",
        "  pass  stage 1 total: error_rate = 0% (limit <= 50%)",
        f"  {FEW_LEGEND}",
    ]


def test_threshold_actual_of_enough_samples_is_not_marked() -> None:
    doc = summary([snapshot(many(10))], make_plan(thresholds={"p95_ms": 1}))
    doc["thresholds"] = evaluate_thresholds(doc)
    assert "*" not in render_text(doc)


def test_lines_fit_100_columns() -> None:
    """Wide figures in every saturation cell, marked and not, still fit."""
    health = {**HEALTH, "verdict": "generator-bound", "reasons": ["CPU 97%"]}
    slow = many(9, latency_us=123_456_000, ttft_us=98_765_000)
    stages = [
        snapshot(slow, mode="open", rate=123_456.5, health=health),
        snapshot(many(12, 1), 1, concurrency=100_000, health=health),
    ]
    lines = render_text(summary(stages)).splitlines()
    assert max(len(line) for line in lines) <= 100


def test_health_schedule_lag_of_few_turns_is_marked() -> None:
    """The health figures' schedule lag p99 is a percentile of the stage's
    turns: marked under 10, with the legend closing the health block."""
    figures = {**HEALTH["figures"], "target_rate": 5.0, "achieved_rate": 5.0}
    health = {**HEALTH, "figures": {**figures, "schedule_lag_p99_ms": 1.5}}
    few = render_text(summary([snapshot(many(3, lag_us=1_500), mode="open", health=health)]))
    lines = block(few, "Generator health")
    assert "schedule lag p99 1.50 ms*, dropped 0" in " ".join(" ".join(lines).split())
    assert lines[-1] == f"  {FEW_LEGEND}"
    enough = render_text(summary([snapshot(many(10, lag_us=1_500), mode="open", health=health)]))
    assert "schedule lag p99 1.50 ms, dropped 0" in " ".join(enough.split())
    assert FEW_LEGEND not in "\n".join(block(enough, "Generator health"))
