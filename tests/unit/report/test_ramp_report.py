"""Ramps and request counts in the summary, the text report, merge and
compare: both ends of a ramp, the request count and what ended each stage."""

from __future__ import annotations

import copy
from typing import Any

import attrs

from loadtest.config import Segment
from loadtest.report import check_summary, compare_summaries, merge_summaries, render_text
from tests.unit.report.builders import another_shard, make_plan, snapshot, summary, turn


def ramped(**changes: Any) -> dict[str, Any]:
    """A closed ramp 2 -> 8 ended by its request count, and an open ramp
    @2 -> @8/s that ran its duration."""
    closed = attrs.evolve(
        snapshot([turn(0)] * 5, concurrency=2), ramp_to=8, requests=5, ended_by="requests"
    )
    opened = attrs.evolve(snapshot([turn(0, stage=1)] * 3, 1, mode="open", rate=2.0), ramp_to=8.0)
    plan = make_plan(stages=["5x2->8:10s", "@2->@8:10s"])
    return summary([attrs.evolve(closed, **changes), opened], plan)


def test_the_summary_holds_both_ends_the_count_and_what_ended_each_stage() -> None:
    doc = ramped()
    first, second = doc["stages"]
    assert (first["concurrency"], first["ramp_to"], first["requests"]) == (2, 8, 5)
    assert first["ended_by"] == "requests"
    assert (second["rate"], second["ramp_to"], second["ended_by"]) == (2.0, 8.0, "duration")
    assert "requests" not in second  # no count: omitted, never null
    assert doc["run"]["stage_plan"] == ["5x2->8:10s", "@2->@8:10s"]
    plain = summary([snapshot([turn(0)])])["stages"][0]
    assert "ramp_to" not in plain
    assert plain["ended_by"] == "duration"


def test_stages_decided_at_run_time_are_named_with_their_ramp_and_count() -> None:
    """A stage that is not the plan's is listed as it ran."""
    closed = attrs.evolve(snapshot([turn(0)], concurrency=3), ramp_to=9, requests=40)
    opened = attrs.evolve(snapshot([turn(0, stage=1)], 1, mode="open", rate=1.5), ramp_to=0.0)
    doc = summary([closed, opened])
    assert doc["run"]["stage_plan"] == ["40x3->9:10s", "@1.5->@0:10s"]


def test_the_text_report_shows_ramps_counts_and_what_ended_a_stage() -> None:
    text = render_text(ramped())
    titles = [line for line in text.splitlines() if line.startswith("Stage ")]
    assert titles[0].startswith("Stage 1/2: closed loop, 2->8 VUs, 5 turns, 10s")
    assert titles[0].endswith("[ended by its request count]")
    assert titles[1].startswith("Stage 2/2: open loop, 2->8/s, 10s")
    assert titles[1].endswith(")")
    assert "closed 2->8 VUs, 5 turns" in text
    by_run = render_text(ramped(ended_by="run-requests"))
    assert "[ended by the run's max_requests]" in by_run
    stopped = render_text(ramped(ended_by="stopped", stopped_early=True))
    assert "[stopped early]" in stopped


def test_merged_ramps_sum_their_ends_and_agree_on_what_ended_them() -> None:
    a = ramped()
    b = another_shard(a)
    merged = merge_summaries([a, b])
    first, second = merged["stages"]
    assert (first["concurrency"], first["ramp_to"], first["requests"]) == (4, 16, 10)
    assert first["ended_by"] == "requests"
    assert (second["rate"], second["ramp_to"], second["ended_by"]) == (4.0, 16.0, "duration")
    assert "requests" not in second


def test_shards_ended_differently_merge_to_the_first_reason_in_order() -> None:
    a = ramped()
    b = another_shard(a)
    b["stages"][0]["ended_by"] = "stopped"
    b["stages"][1]["ended_by"] = "run-requests"
    merged = merge_summaries([a, b])
    assert [s["ended_by"] for s in merged["stages"]] == ["stopped", "run-requests"]
    c = another_shard(a)
    c["run"]["run_id"] += "-c"
    c["stages"][0]["ended_by"] = "later-reason"  # written by a newer version
    b["stages"][0]["ended_by"] = "also-new"
    assert merge_summaries([c, b])["stages"][0]["ended_by"] == "also-new"


def test_summaries_written_before_ramps_read_and_merge_as_duration() -> None:
    a = ramped()
    old = copy.deepcopy(another_shard(a))
    for stage in old["stages"]:
        for key in ("ended_by", "ramp_to", "requests"):
            stage.pop(key, None)
    check_summary(old)
    merged = merge_summaries([old, another_shard(old)])
    assert [s["ended_by"] for s in merged["stages"]] == ["duration", "duration"]
    assert "ramp_to" not in merged["stages"][0]


def test_compare_matches_a_ramp_only_with_the_same_ramp() -> None:
    a = ramped()
    other = ramped()
    other["stages"][0]["ramp_to"] = 9
    other["stages"][1]["ramp_to"] = 7.5
    c = compare_summaries(a, other)
    assert c.unmatched == (
        "stage 1: load differs (closed 2->8 VUs -> closed 2->9 VUs)",
        "stage 2: load differs (open 2->8/s -> open 2->7.5/s)",
    )
    assert compare_summaries(a, ramped()).unmatched == ()


def test_a_plan_stage_without_a_duration_is_the_plans_whatever_it_ran() -> None:
    """A stage that ends by its count only ran for as long as that took: it
    is still the plan's stage in `run.stage_plan`."""
    ran = attrs.evolve(snapshot([turn(0)] * 3, concurrency=2), requests=3, ended_by="requests")
    doc = summary([ran], make_plan(stages=["3x2"]))
    assert doc["run"]["stage_plan"] == ["3x2"]


def test_a_segments_share_of_a_ramp_and_a_count_is_still_the_plans_stage() -> None:
    """Segment 1/2 ran its share of each stage (the VUs and a closed ramp's
    end by largest remainder, an open rate and its ramp's end halved, the
    request count by largest remainder): `run.stage_plan` is the whole
    plan's, so every segment's agrees and `merge` accepts them."""
    plan = make_plan(stages=["41x5->11:10s", "@4->@10:10s"]).for_segment(Segment(1, 2))
    closed = attrs.evolve(snapshot([turn(0)], concurrency=2), ramp_to=5, requests=20)
    opened = attrs.evolve(snapshot([turn(0, stage=1)], 1, mode="open", rate=2.0), ramp_to=5.0)
    doc = summary([closed, opened], plan)
    assert doc["run"]["stage_plan"] == ["41x5->11:10s", "@4->@10:10s"]
