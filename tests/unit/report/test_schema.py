"""check_summary: what compare and merge accept from disk, with `$` paths."""

from __future__ import annotations

import copy
from typing import Any

import attrs
import pytest

from loadtest.errors import ConfigError
from loadtest.metrics import COUNTERS
from loadtest.report import (
    PERCENTILES,
    SUMMARY_METRICS,
    check_summary,
    merge_summaries,
    stats_from_json,
)
from loadtest.report._document import SHARED_COUNTERS, MetricDoc, StatsDoc
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
        (lambda d: d["run"].update(run_id=7), "$.run.run_id: expected a string or null, got 7"),
        (lambda d: d["run"]["targets"][1].pop("url"), "missing key $.run.targets[1].url"),
        (lambda d: d["run"].update(run_ids="a"), "$.run.run_ids: expected a list, got 'a'"),
        (
            lambda d: d["stages"][0].update(vus={"chat": "2"}),
            "$.stages[0].vus: expected an object of counts",
        ),
        (lambda d: d["stages"][0].pop("total"), "missing key $.stages[0].total"),
        (lambda d: d["stages"][0].update(total=[]), "$.stages[0].total: expected an object"),
        (lambda d: d["stages"][0].update(mode="x"), '$.stages[0].mode: expected "closed" or'),
        (lambda d: d["stages"][0].update(health=[]), "$.stages[0].health: expected an object"),
        (lambda d: d["stages"][1]["scenarios"].append(None), "$.stages[1].scenarios[2]: expected"),
        (
            lambda d: d["stages"][0]["total"].update(requests=True),
            "$.stages[0].total.requests: expected an integer, got True",
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
            "missing key $.stages[0].total.cache.later_turns",
        ),
        (
            lambda d: d["stages"][0]["total"]["cache"]["first_turns"].update(turns=None),
            "$.stages[0].total.cache.first_turns.turns: expected an integer, got None",
        ),
        (
            lambda d: d["stages"][0]["total"]["stream_tail_ms"].update(p50="1"),
            "$.stages[0].total.stream_tail_ms.p50: expected a number or null",
        ),
        (
            lambda d: d["stages"][0].update(steady_s="long"),
            "$.stages[0].steady_s: expected a number, got 'long'",
        ),
        (
            lambda d: d["run"].update(stopped_early="yes"),
            "$.run.stopped_early: expected true or false, got 'yes'",
        ),
        (
            lambda d: d["run"].update(partial="yes"),
            "$.run.partial: expected true, false or null, got 'yes'",
        ),
        (
            lambda d: d["run"].update(missing_segments={"1/2": 3}),
            "$.run.missing_segments: expected an object of HDR encodings",
        ),
        (
            lambda d: d["run"].update(stage_plan="4:10s"),
            "$.run.stage_plan: expected a list, got '4:10s'",
        ),
        (
            lambda d: d["stages"][1]["scenarios"][0].update(label=3),
            "$.stages[1].scenarios[0].label: expected a string, got 3",
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


def test_unknown_keys_and_null_optional_objects_are_read() -> None:
    """A newer writer's extra key is ignored; an optional object may be null
    (read as absent: no cache figures)."""

    def change(doc: dict[str, Any]) -> None:
        total = doc["stages"][0]["total"]
        total.update(cache=None, chunk_gap_ms=None, from_a_later_version={"x": 1})

    doc = edited(change)
    check_summary(doc)
    stats = stats_from_json(doc["stages"][0]["total"])
    assert (stats.first_turns, stats.first_turn_prompt_tokens, stats.cached_turns) == (0, 0, 0)


def test_a_malformed_statistics_object_is_a_value_error() -> None:
    with pytest.raises(
        ValueError,
        match=r"^missing key \$\.requests; \$\.ok: expected an integer, got '1'; .* and \d+ more$",
    ):
        stats_from_json({"label": "x", "ok": "1"})


def test_the_statistics_object_is_the_metric_names_and_percentiles() -> None:
    """The summary's statistics object holds one MetricDoc per summary metric
    (and the unanswered wait), each with every percentile key."""
    fields = attrs.fields_dict(StatsDoc)
    metrics = [name for name, field in fields.items() if "MetricDoc" in str(field.type)]
    assert metrics == [*SUMMARY_METRICS.values(), "unanswered_wait_ms"]
    assert set(PERCENTILES.values()) < set(attrs.fields_dict(MetricDoc))
    assert set(SHARED_COUNTERS) == set(COUNTERS) & set(fields)
