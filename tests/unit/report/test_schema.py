"""check_summary: what compare and merge accept from disk, with `$` paths."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from loadtest.errors import ConfigError
from loadtest.report import check_summary, merge_summaries
from tests.unit.report.builders import another_shard, two_stage_summary


def problems(doc: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        check_summary(doc)
    return info.value.problems


def edited(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(two_stage_summary())
    change(doc)
    return doc


def test_a_built_summary_passes() -> None:
    """build_summary's output (and a merged one) passes the check."""
    doc = two_stage_summary()
    check_summary(doc)
    check_summary(merge_summaries([doc, two_stage_summary()]))


def test_not_a_summary() -> None:
    """A list, or an object of another schema, is refused by its first problem."""
    assert problems([1]) == ["expected a summary document (a JSON object)"]
    assert problems({"schema": "x"}) == ["$.schema: expected 'loadtest.summary/1', got 'x'"]


def test_missing_or_mistyped_top_level() -> None:
    """run and stages must be an object and a list."""
    assert problems(edited(lambda d: d.pop("run"))) == ["missing key $.run"]
    assert problems(edited(lambda d: d.update(stages={}))) == ["$.stages: expected a list, got {}"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["run"].pop("profile"), "missing key $.run.profile"),
        (lambda d: d["run"].update(shards="2"), "$.run.shards: expected an integer, got '2'"),
        (lambda d: d["stages"].append(3), "$.stages[2]: expected an object"),
        (lambda d: d["stages"][0].pop("total"), "missing key $.stages[0].total"),
        (lambda d: d["stages"][0].update(total=[]), "$.stages[0].total: expected an object"),
        (lambda d: d["stages"][0].update(mode="x"), '$.stages[0].mode: expected "closed" or'),
        (lambda d: d["stages"][0].update(health=[]), "$.stages[0].health: expected an object"),
        (lambda d: d["stages"][1]["scenarios"].append(None), "$.stages[1].scenarios[2]: expected"),
        (
            lambda d: d["stages"][0]["total"].update(requests=True),
            "$.stages[0].total.requests: expected a number, got True",
        ),
        (
            lambda d: d["stages"][0]["scenarios"][1].pop("latency_ms"),
            "missing key $.stages[0].scenarios[1].latency_ms",
        ),
        (
            lambda d: d["stages"][0]["total"]["ttft_ms"].update(p95="1"),
            "$.stages[0].total.ttft_ms.p95: expected a number or null, got '1'",
        ),
        (
            lambda d: d["stages"][0]["total"].update(errors={"x": 1.5}),
            "$.stages[0].total.errors: expected an object of counts",
        ),
        (
            lambda d: d["stages"][0]["total"].update(histograms={"latency": 1}),
            "$.stages[0].total.histograms: expected an object of HDR encodings",
        ),
        (
            lambda d: d["stages"][0]["total"].update(cache=[]),
            "$.stages[0].total.cache: expected an object",
        ),
        (
            lambda d: d["stages"][0]["total"]["cache"].pop("later_turns"),
            "$.stages[0].total.cache.later_turns: expected an object",
        ),
        (
            lambda d: d["stages"][0]["total"]["cache"]["first_turns"].update(turns=None),
            "$.stages[0].total.cache.first_turns.turns: expected a number, got None",
        ),
        (
            lambda d: d["stages"][0]["total"]["stream_tail_ms"].update(p50="1"),
            "$.stages[0].total.stream_tail_ms.p50: expected a number or null",
        ),
    ],
)
def test_each_problem_names_its_path(change: Any, problem: str) -> None:
    """A missing or mistyped key is reported with its `$` path and what was expected."""
    found = problems(edited(change))
    assert any(p.startswith(problem) for p in found), found


def test_a_summary_from_before_the_stream_tail_and_cache_split_is_read() -> None:
    """Summaries written before `chunk_gap_ms`, `stream_tail_ms` and `cache`
    existed still pass, and merge (their cache counters read as 0)."""

    def strip(doc: dict[str, Any]) -> None:
        for stage in doc["stages"]:
            for stats in (stage["total"], *stage["scenarios"]):
                for key in ("chunk_gap_ms", "stream_tail_ms", "cache"):
                    stats.pop(key)

    old = edited(strip)
    check_summary(old)
    merged = merge_summaries([old, another_shard(old)])
    assert merged["stages"][0]["total"]["cache"]["first_turns"]["turns"] == 0


def test_at_most_ten_problems_are_listed() -> None:
    """A document wrong everywhere lists ten problems and how many more there are."""

    def gut(doc: dict[str, Any]) -> None:
        for stage in doc["stages"]:
            for stats in (stage["total"], *stage["scenarios"]):
                stats.clear()

    found = problems(edited(gut))
    assert len(found) == 11
    assert found[-1].startswith("... and ")
    assert found[-1].endswith(" more")
