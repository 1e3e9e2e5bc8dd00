"""merge_summaries: exact merge of the shards of one run, refusals otherwise."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from loadtest.errors import ConfigError
from loadtest.metrics import HISTOGRAMS, HealthFigures, Histogram
from loadtest.report import check_summary, merge_summaries, render_text, stats_from_json
from tests.unit.report.builders import (
    START,
    another_shard,
    make_plan,
    random_turns,
    snapshot,
    summary,
    turn,
    two_stage_summary,
)


def shard_and_whole(seed: int = 7) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Two shards from disjoint random turns, and one summary of all their turns."""
    a = [random_turns(seed, 400), random_turns(seed + 1, 300, stage=1, lag=True)]
    b = [random_turns(seed + 2, 250), random_turns(seed + 3, 350, stage=1, lag=True)]

    def build(parts: list[list[Any]], drops: list[int], share: int) -> dict[str, Any]:
        return summary(
            [
                snapshot(parts[0], concurrency=2 * share),
                snapshot(parts[1], 1, mode="open", rate=2.5 * share, dropped=drops),
            ],
            jsonl_lines=10,
            sink_overflow=1,
            jsonl_lost_lines=3,
        )

    whole = [a[0] + b[0], a[1] + b[1]]
    return build(a, [0], 1), build(b, [1, 1], 1), build(whole, [0, 1, 1], 2)


def test_merged_shards_equal_the_summary_of_all_turns() -> None:
    """Histogram for histogram and counter for counter, merging shards equals building whole."""
    a, b, whole = shard_and_whole()
    merged = merge_summaries([a, b])
    for got, want in zip(merged["stages"], whole["stages"], strict=True):
        for got_stats, want_stats in zip(
            [got["total"], *got["scenarios"]], [want["total"], *want["scenarios"]], strict=True
        ):
            mine, theirs = stats_from_json(got_stats), stats_from_json(want_stats)
            assert mine == theirs  # counters and every histogram, slot for slot
        assert got == want  # every figure, encoding, rate and the summed load
    assert set(merged["stages"][1]["total"]["histograms"]) == set(HISTOGRAMS)
    assert merged["stages"][0]["vus"] == {"chat": 2, "batch": 2}
    assert (merged["stages"][0]["concurrency"], merged["stages"][1]["rate"]) == (4, 5.0)
    assert "vus" not in merged["stages"][1]
    check_summary(merged)


def test_merged_time_series_equal_the_series_of_all_turns() -> None:
    """Second for second: the shards' buckets add, in flight is recomputed,
    and the result is the series of one recorder fed every turn."""
    a, b, whole = shard_and_whole()
    merged = merge_summaries([a, b])
    for got, want, one in zip(merged["stages"], whole["stages"], a["stages"], strict=True):
        assert got["timeseries"] == want["timeseries"]
        assert len(got["timeseries"]) > 1
        assert got["timeseries"] != one["timeseries"]
        assert sum(s["requests"] for s in got["timeseries"]) == got["total"]["requests"]
        counts = sum(s["latency_ms"]["count"] for s in got["timeseries"])
        assert counts == got["total"]["latency_ms"]["count"]
        assert any(s["latency_ms"]["count"] > 1 for s in got["timeseries"])


def test_a_bad_time_series_encoding_is_named() -> None:
    a, b, _ = shard_and_whole()
    second = next(s for s in b["stages"][1]["timeseries"] if s["histograms"])
    second["histograms"]["latency"] = "not an encoding"
    with pytest.raises(ConfigError, match=r"\$\.stages\[1\]\.timeseries: not a compressed"):
        merge_summaries([a, b])


def test_summaries_without_time_series_still_read_and_merge() -> None:
    """A summary written before time series existed has none; merged with
    one that has them, the merged series is the other's."""
    a, b, _ = shard_and_whole()
    old = copy.deepcopy(a)
    for stage in old["stages"]:
        del stage["timeseries"]
    check_summary(old)
    merged = merge_summaries([old, b])
    assert [s["timeseries"] for s in merged["stages"]] == [s["timeseries"] for s in b["stages"]]
    assert all(s["timeseries"] == [] for s in merge_summaries([old])["stages"])
    assert render_text(merged)


def test_run_fields_are_combined() -> None:
    """Start is the earliest, end the latest; shards, JSONL lines and overflow add up."""
    a, b, _ = shard_and_whole()
    b["run"]["started_unix_s"] = START - 1.25
    b["run"]["ended_unix_s"] = START + 99
    b["run"]["stopped_early"] = True
    b["run"]["seed"] = 5
    run = merge_summaries([a, b])["run"]
    assert (run["started_unix_s"], run["ended_unix_s"]) == (START - 1.25, START + 99)
    assert run["started_at"] == "2026-11-28T01:58:29.250+00:00"
    assert (run["shards"], run["jsonl_lines"], run["sink_overflow"]) == (2, 20, 2)
    assert run["jsonl_lost_lines"] == 6
    assert run["stopped_early"] is True
    assert (run["seed"], run["seeds"]) == (None, [0, 5])
    assert run["profile"] == "unit"
    assert merge_summaries([a, another_shard(a)])["run"]["seed"] == 0


def test_the_longest_steady_window_is_used() -> None:
    """A shard stopped early has a shorter window; the merge takes the longest."""
    a = summary([snapshot([turn(0)] * 10, steady_s=10.0)])
    b = summary([snapshot([turn(0)] * 10, steady_s=4.0, stopped_early=True)])
    stage = merge_summaries([a, b])["stages"][0]
    assert stage["steady_s"] == 10.0
    assert stage["total"]["throughput_rps"] == 2.0
    assert stage["stopped_early"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update(schema="loadtest.summary/0"),
            "b.json: schema 'loadtest.summary/0' differs",
        ),
        (
            lambda d: d["run"].update(profile="other"),
            "b.json: profile 'other' differs from a.json's 'unit'",
        ),
        (lambda d: d["run"].update(stage_plan=["4:10s"]), "stage plan '4:10s' differs"),
        (lambda d: d["run"].update(warmup_s=5.0), "warm-up 5.0 differs"),
        (lambda d: d["stages"].pop(), "number of stages 1 differs from a.json's 2"),
        (lambda d: d["stages"][1]["scenarios"].reverse(), "scenarios ['chat,batch', 'batch,chat']"),
        (lambda d: d["run"].update(cache_mode="natural"), "cache mode 'natural' differs"),
        (lambda d: d["run"].update(slo=["ttft<=1s"]), "SLOs ['ttft<=1s'] differs from a.json's []"),
        (
            lambda d: d["run"]["targets"][1].update(model="m2"),
            "targets ['chat: openai-chat m stream weight 1.0', "
            "'batch: openai-chat m2 no stream weight 1.0'] differs",
        ),
        (
            lambda d: d["run"].update(started_unix_s=START + 21, ended_unix_s=START + 40),
            "b.json: ran 2026-11-28T01:58:30.500+00:00 to 2026-11-28T01:58:50.500+00:00, "
            "not at the same time as a.json",
        ),
        (
            lambda d: d["run"].update(started_unix_s=START - 40, ended_unix_s=START - 1),
            "not at the same time as a.json",
        ),
    ],
)
def test_mismatched_summaries_are_refused(change: Any, message: str) -> None:
    """Different schema, profile, plan, warm-up, cache mode, stage count, scenarios or
    scenario plans, or runs at other times: refused, the difference named."""
    a = two_stage_summary()
    b = another_shard(a)
    change(b)
    with pytest.raises(ConfigError, match="only shards of one run merge") as info:
        merge_summaries([a, b], ["a.json", "b.json"])
    assert message in str(info.value)


def test_a_first_summary_of_another_schema_is_refused() -> None:
    """The first summary's schema is checked too (default names in the message)."""
    a = two_stage_summary()
    a["schema"] = "x"
    with pytest.raises(ConfigError, match=r"summary 1: schema 'x' is not 'loadtest\.summary/1'"):
        merge_summaries([a, two_stage_summary()])


def test_nothing_to_merge_is_an_error() -> None:
    """An empty list is refused."""
    with pytest.raises(ConfigError, match="no summaries"):
        merge_summaries([])


def test_a_bad_histogram_encoding_is_named() -> None:
    """An encoding that does not decode is a ConfigError naming the file and the path."""
    a = two_stage_summary()
    b = another_shard(a)
    b["stages"][0]["scenarios"][1]["histograms"]["latency"] = "not-hdr"
    with pytest.raises(ConfigError, match=r"b\.json: \$\.stages\[0\]\.scenarios\[1\]\.histograms"):
        merge_summaries([a, b], ["a.json", "b.json"])


def test_histograms_of_other_parameters_are_refused() -> None:
    """Histograms of different ranges cannot add slot for slot: refused with the path."""
    a = two_stage_summary()
    b = another_shard(a)
    other = Histogram(highest_us=60_000_000)
    other.record(1000)
    b["stages"][0]["total"]["histograms"]["latency"] = other.encode()
    with pytest.raises(ConfigError, match=r"\$\.stages\[0\]\.total\.histograms: cannot merge"):
        merge_summaries([a, b])


def test_health_keeps_the_worst_verdict_and_every_shard() -> None:
    """Merged health: the worst verdict, reasons named by shard, each shard's own kept."""

    def figures(cpu_share: float) -> dict[str, Any]:
        return HealthFigures(cpu_share, 1.0, 2.0, peak_in_flight=4).to_json()

    suspect = {"verdict": "suspect", "reasons": ["CPU share 80% >= 75%"], "figures": figures(0.8)}
    bound = {"verdict": "generator-bound", "reasons": ["lag"], "figures": figures(0.2)}
    ok = {"verdict": "ok", "reasons": [], "figures": figures(0.1)}
    docs = [summary([snapshot([turn(0)], health=h)]) for h in (suspect, bound, ok)]
    docs.append(summary([snapshot([turn(0)])]))  # not assessed: left out
    health = merge_summaries(docs, ["a", "b", "c", "d"])["stages"][0]["health"]
    assert health == {
        "verdict": "generator-bound",
        "reasons": ["a: CPU share 80% >= 75%", "b: lag"],
        "shards": [suspect, bound, ok],
    }
    again = merge_summaries([merge_summaries(docs[:2], ["a", "b"]), docs[2]], ["ab", "c"])
    assert again["stages"][0]["health"]["shards"] == [suspect, bound, ok]
    assert again["stages"][0]["health"]["verdict"] == "generator-bound"


def test_merging_is_associative() -> None:
    """merge(merge(a, b), c) has the same stages and counts as merge(a, b, c)."""
    docs = [summary([snapshot(random_turns(seed, 100))]) for seed in (1, 2, 3)]
    once = merge_summaries(docs)
    twice = merge_summaries([merge_summaries(docs[:2]), docs[2]])
    assert once["stages"] == twice["stages"]
    assert (once["run"]["shards"], twice["run"]["shards"]) == (3, 3)
    assert once["run"]["seeds"] == twice["run"]["seeds"] == [0, 0, 0]


def test_generator_facts_are_kept_per_shard() -> None:
    """Each shard's `generator` object is kept under `shards`; none at all stays empty."""
    a = summary([snapshot([turn(0)])], generator={"host": "h1"})
    b = summary([snapshot([turn(0)])], generator={"host": "h2"})
    assert merge_summaries([a, b])["run"]["generator"] == {
        "shards": [{"host": "h1"}, {"host": "h2"}]
    }
    plain = summary([snapshot([turn(0)])], make_plan())
    assert merge_summaries([plain, another_shard(plain)])["run"]["generator"] == {}


def test_the_same_run_twice_is_refused() -> None:
    """A summary, a copy of it, or a merged summary holding it: its turns would count twice."""
    a, b = two_stage_summary(), two_stage_summary()
    with pytest.raises(ConfigError, match=r"b\.json: the same run as a\.json \(run "):
        merge_summaries([a, copy.deepcopy(a)], ["a.json", "b.json"])
    ab = merge_summaries([a, b], ["a", "b"])
    assert ab["run"]["run_ids"] == [a["run"]["run_id"], b["run"]["run_id"]]
    assert ab["run"]["run_id"] not in (a["run"]["run_id"], b["run"]["run_id"])
    with pytest.raises(ConfigError, match=r"b\.json: the same run as ab\.json"):
        merge_summaries([ab, b], ["ab.json", "b.json"])
    check_summary(ab)


def test_summaries_without_a_run_id_are_told_apart_by_start() -> None:
    """A summary written before run ids: its start time identifies its run."""
    a, b = two_stage_summary(), two_stage_summary()
    for doc in (a, b):
        del doc["run"]["run_id"]
    b["run"]["started_unix_s"] += 0.25
    assert merge_summaries([a, b])["run"]["run_ids"] == [
        f"started {START}",
        f"started {START + 0.25}",
    ]
    with pytest.raises(ConfigError, match="the same run"):
        merge_summaries([a, copy.deepcopy(a)])


def test_token_distributions_merge_exactly() -> None:
    """prompt and completion tokens per turn: the merged shards' figures are
    those of one summary of every turn (from the embedded histograms)."""
    a, b, whole = shard_and_whole()
    merged = merge_summaries([a, b])
    for key in ("prompt_tokens_dist", "completion_tokens_dist"):
        got, want = merged["stages"][0]["total"][key], whole["stages"][0]["total"][key]
        assert got == want
        assert (
            got["count"]
            == a["stages"][0]["total"][key]["count"] + (b["stages"][0]["total"][key]["count"])
        )
    completion = merged["stages"][0]["total"]["completion_tokens_dist"]
    assert completion["min"] < completion["p50"] < completion["p90"] <= completion["p99"]


def test_summaries_without_token_distributions_still_read_and_merge() -> None:
    """A summary written before the token distributions has neither them nor
    their histograms: it reads, merges (its turns then count in neither),
    and its report leaves the token table out."""
    a, b, _ = shard_and_whole()
    old = copy.deepcopy(a)
    for stage in old["stages"]:
        for stats in (stage["total"], *stage["scenarios"]):
            del stats["prompt_tokens_dist"], stats["completion_tokens_dist"]
            del stats["histograms"]["prompt_tokens"], stats["histograms"]["completion_tokens"]
    check_summary(old)
    assert "tokens per ok turn" not in render_text(old)
    assert "tokens per ok turn" in render_text(a)
    merged = merge_summaries([old, b])
    want = b["stages"][0]["total"]["completion_tokens_dist"]
    assert merged["stages"][0]["total"]["completion_tokens_dist"] == want


def _segment(doc: dict[str, Any], segment: str) -> dict[str, Any]:
    shard = another_shard(doc)
    shard["run"]["run_id"] += segment
    shard["run"]["segment"] = segment
    return shard


def test_segments_merge_when_complete_and_distinct() -> None:
    """The segments of one plan merge into a run listing them; a missing one
    is refused unless partial (then marked, with why, in the summary and
    the report); a duplicate, a mix and another count are refused."""
    base = two_stage_summary()
    a, b, c = (_segment(base, f"{k}/3") for k in range(3))
    whole = merge_summaries([c, a, b])
    assert whole["run"]["segments"] == ["0/3", "1/3", "2/3"]
    assert "partial" not in whole["run"]
    assert "missing_segments" not in whole["run"]
    assert "segment" not in whole["run"]
    check_summary(whole)
    with pytest.raises(ConfigError, match=r"^segment 2/3 missing: merge every segment"):
        merge_summaries([a, b])
    with pytest.raises(ConfigError, match=r"^segments 1/3, 2/3 missing"):
        merge_summaries([a])
    ab = merge_summaries([a, b], partial=True, missing_reasons={"2/3": "worker 2 died"})
    assert ab["run"]["partial"] is True
    assert ab["run"]["missing_segments"] == {"2/3": "worker 2 died"}
    check_summary(ab)
    report = render_text(ab)
    assert "PARTIAL run: 2 of 3 segments merged" in report
    assert "segment 2/3 missing: worker 2 died" in report
    assert merge_summaries([ab], partial=True)["run"]["missing_segments"] == {
        "2/3": "worker 2 died"
    }
    assert merge_summaries([a], partial=True)["run"]["missing_segments"] == {
        "1/3": "not merged",
        "2/3": "not merged",
    }
    again = merge_summaries([ab, c])
    assert again["run"]["segments"] == ["0/3", "1/3", "2/3"]
    assert "partial" not in again["run"]
    twin = _segment(base, "0/3")
    twin["run"]["run_id"] += "-twin"  # another run given the same segment
    with pytest.raises(ConfigError, match=r"^b: segment 0/3 is also in a; merging it again"):
        merge_summaries([a, twin], ["a", "b"])
    with pytest.raises(ConfigError, match=r"^b: not an execution segment"):
        merge_summaries([a, another_shard(base)], ["a", "b"])
    with pytest.raises(ConfigError, match=r"^segments of 2 and 3 shards"):
        merge_summaries([a, _segment(base, "1/2")], ["a", "b"])


def test_the_report_shows_each_shards_cpu_and_loop_lag() -> None:
    """A merged stage's health lists every shard's verdict, CPU and loop lag."""
    figures = HealthFigures(0.42, 1.5, 2.0, peak_in_flight=4).to_json()
    health = {"verdict": "ok", "reasons": [], "figures": figures}
    docs = [summary([snapshot([turn(0)], health=health)]) for _ in range(2)]
    report = render_text(merge_summaries(docs))
    assert "shard 2: ok, CPU 42%, loop lag p99 1.50 ms" in report
    for k, doc in enumerate(docs):
        doc["run"]["segment"] = doc["run"]["generator"]["segment"] = f"{k}/2"
    report = render_text(merge_summaries(docs))
    assert "segment 1/2: ok, CPU 42%, loop lag p99 1.50 ms" in report
    docs[0]["stages"][0]["health"] = {"verdict": "ok", "reasons": []}  # no figures: no line
    report = render_text(merge_summaries(docs))
    assert "segment 0/2:" not in report
    assert "segment 1/2: ok" in report


def test_shards_stopped_before_their_first_stage_merge() -> None:
    """Ctrl-C during the shared start's wait: every shard stops at once,
    each with no stage and a zero-length span a millisecond apart. They
    merge into a run with no stage (as one process writes it), never
    refused as runs of other times."""
    a = two_stage_summary()
    a["stages"] = []
    a["run"].update(started_unix_s=START, ended_unix_s=START)
    b = another_shard(a)
    b["run"].update(started_unix_s=START + 0.001, ended_unix_s=START + 0.001)
    merged = merge_summaries([a, b], ["a.json", "b.json"])
    assert merged["stages"] == []
    assert merged["run"]["shards"] == 2
