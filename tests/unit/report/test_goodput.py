"""Goodput in the summary and every report: its document, exact merge,
thresholds, text, CSV and Prometheus; summaries without it still read."""

from __future__ import annotations

import copy
from typing import Any

from loadtest.report import (
    check_summary,
    evaluate_thresholds,
    merge_summaries,
    render_csv,
    render_prometheus,
    render_text,
    stats_from_json,
)
from loadtest.report._prometheus import run_stamp
from tests.unit.report.builders import (
    another_shard,
    failed,
    make_plan,
    random_turns,
    snapshot,
    summary,
    turn,
)

SLO = ["latency<=150ms"]


def slo_summary(**plan: Any) -> dict[str, Any]:
    """Stage 1: chat 3 good + 1 slow + 1 failed, batch 2 good; stage 2: no turn."""
    turns = [turn(0) for _ in range(3)] + [turn(0, latency_us=150_001), failed(0)]
    turns += [turn(1) for _ in range(2)]
    stages = [snapshot(turns, slo=SLO), snapshot([], 1, slo=SLO)]
    return summary(stages, make_plan(slo=SLO, **plan))


def test_each_statistics_object_has_its_goodput() -> None:
    doc = slo_summary()
    assert doc["run"]["slo"] == ["latency<=150ms"]
    stage = doc["stages"][0]
    assert stage["total"]["goodput"] == {
        "judged": 7,
        "good": 5,
        "share": round(5 / 7, 6),
        "good_per_s": 0.5,
    }
    chat, batch = stage["scenarios"]
    assert chat["goodput"] == {"judged": 5, "good": 3, "share": 0.6, "good_per_s": 0.3}
    assert batch["goodput"]["share"] == 1.0
    empty = doc["stages"][1]["total"]["goodput"]
    assert empty == {"judged": 0, "good": 0, "share": None, "good_per_s": 0.0}
    assert sum(s.get("good", 0) for s in stage["timeseries"]) == 5


def test_an_empty_steady_window_has_no_good_rate() -> None:
    doc = summary([snapshot([turn(0)], steady_s=0, slo=SLO)], make_plan(slo=SLO))
    assert doc["stages"][0]["total"]["goodput"]["good_per_s"] is None


def test_a_run_without_slos_has_no_goodput_keys() -> None:
    doc = summary([snapshot([turn(0), turn(1)])])
    assert "slo" not in doc["run"]
    assert "goodput" not in doc["stages"][0]["total"]
    assert all("good" not in second for second in doc["stages"][0]["timeseries"])
    assert "goodput" not in render_text(doc)
    assert "loadtest_goodput" not in render_prometheus(doc)


def test_goodput_merges_exactly() -> None:
    """Shards' judged and good add; share and rate are computed again."""
    a = [*random_turns(3, 300), turn(0), failed(0)]
    b = random_turns(4, 200)

    def build(turns: list[Any], concurrency: int) -> dict[str, Any]:
        stage = snapshot(turns, concurrency=concurrency, slo=SLO)
        return summary([stage], make_plan(slo=SLO))

    merged = merge_summaries([build(a, 2), build(b, 2)])
    whole = build(a + b, 4)
    for scope in ("total", "scenarios"):
        got, want = merged["stages"][0][scope], whole["stages"][0][scope]
        assert got == want
    assert merged["run"]["slo"] == SLO
    assert stats_from_json(merged["stages"][0]["total"]).judged == len(a + b) - sum(
        1 for t in a + b if t.warmup or t.outcome == "interrupted"
    )
    check_summary(merged)


def test_a_summary_written_before_goodput_reads_and_merges() -> None:
    doc = summary([snapshot([turn(0)])])
    older = copy.deepcopy(doc)
    for second in older["stages"][0]["timeseries"]:
        second.pop("good", None)
    check_summary(older)
    merged = merge_summaries([older, another_shard(older)])
    assert "goodput" not in merged["stages"][0]["total"]
    assert stats_from_json(older["stages"][0]["total"]).judged == 0


def test_goodput_thresholds_pass_fail_and_need_data() -> None:
    doc = slo_summary(thresholds={"goodput": 0.7, "goodput_rps": 0.5})
    results = {(r["stage"], r["name"]): r for r in evaluate_thresholds(doc)}
    share = results[(0, "goodput")]
    assert (share["passed"], share["samples"], share["actual_text"]) == (True, 7, "71.4%")
    assert share["limit_text"] == ">= 70%"
    assert results[(0, "goodput_rps")]["passed"] is True
    assert results[(0, "goodput_rps")]["actual_text"] == "0.5/s"
    assert results[(1, "goodput")]["actual"] is None  # nothing judged: no data
    assert results[(1, "goodput")]["passed"] is False
    strict = slo_summary(thresholds={"goodput": 0.72})
    assert not evaluate_thresholds(strict)[0]["passed"]


def test_goodput_thresholds_without_slos_fail_as_no_data() -> None:
    doc = summary([snapshot([turn(0)])], make_plan(thresholds={"goodput": 0.5}))
    (result,) = evaluate_thresholds(doc)
    assert (result["passed"], result["actual_text"], result["samples"]) == (False, "no data", None)


def test_the_text_report_shows_goodput() -> None:
    text = render_text(slo_summary())
    saturation = text.split("Saturation", 1)[1].split("\n\n", 1)[0]
    header, first = saturation.splitlines()[1:3]
    assert "goodput" in header.split()
    assert "71.4%" in first.split()
    assert "goodput (ok turns within every SLO: latency<=150ms)" in text
    block = text.split("goodput (ok turns within every SLO", 1)[1].splitlines()
    assert block[1].split() == ["scenario", "judged", "good", "goodput", "good/s"]
    assert block[2].split() == ["chat", "5", "3", "60.0%", "0.3"]
    assert block[4].split() == ["total", "7", "5", "71.4%", "0.5"]
    assert max(len(line) for line in text.splitlines()) <= 100


def test_csv_and_prometheus_carry_goodput() -> None:
    doc = slo_summary()
    lines = render_csv(doc).splitlines()
    header = lines[0].split(",")
    total = dict(zip(header, lines[3].split(","), strict=True))
    assert total["scenario"] == "total"
    assert (total["goodput_judged"], total["goodput_good"]) == ("7", "5")
    assert (total["goodput"], total["goodput_rps"]) == ("0.714286", "0.5")
    empty = dict(zip(header, lines[-1].split(","), strict=True))
    assert empty["goodput"] == ""
    prom = render_prometheus(doc)
    assert "loadtest_goodput_judged_total{run=" in prom
    assert "# TYPE loadtest_goodput_ratio gauge" in prom
    labels = 'stage="1",mode="closed",scenario="total"'
    assert f"loadtest_goodput_good_total{{{_base(doc)},{labels}}} 5" in prom
    assert f"loadtest_good_requests_per_second{{{_base(doc)},{labels}}} 0.5" in prom
    stage2 = 'stage="2",mode="closed",scenario="total"'
    assert f"loadtest_goodput_ratio{{{_base(doc)},{stage2}}}" not in prom


def _base(doc: dict[str, Any]) -> str:
    return f'run="{run_stamp(doc["run"])}",profile="{doc["run"]["profile"]}"'
