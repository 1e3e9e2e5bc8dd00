"""The overlay pages: `compare --html` and multi-service's page."""

from __future__ import annotations

import copy
from typing import Any

from loadtest.report import compare_page, gateways_page
from loadtest.report._html_compare import overlay_charts
from loadtest.report._html_model import Chart, Page, Text
from tests.unit.report.test_html import golden


def charts(page: Page) -> dict[str, Chart]:
    return {i.id: i for s in page.sections for i in s.items if isinstance(i, Chart)}


def slower(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with another load in stage 2 and a third stage."""
    new = copy.deepcopy(doc)
    new["stages"][1]["rate"] = 9
    third = copy.deepcopy(new["stages"][0])
    third["index"] = 2
    new["stages"].append(third)
    return new


def test_compare_overlays_both_runs_in_their_colours() -> None:
    old = golden()
    text = "verdict: REGRESSION\n  stage 1 total: rps\n\nStage 1: closed 4 VUs\n  table\n"
    page = compare_page(old, slower(old), text, names=("a.json", "b.json"), regressed=True)
    assert page.header[0].startswith("baseline: a.json (profile unit, started ")
    assert page.header[1].startswith("new: b.json")
    (text,) = page.sections[0].items
    assert isinstance(text, Text)
    assert (text.lines, text.tone, text.preformatted) == (
        ("verdict: REGRESSION", "  stage 1 total: rps"),
        "fail",
        True,
    )
    assert page.sections[-1].title == "Figures per stage"
    assert page.sections[-1].items[0].lines == ("Stage 1: closed 4 VUs", "  table")
    found = charts(page)
    rps = found["cmp-sat-rps"]
    assert rps.x_ticks == ("1: closed 4 VUs", "2: open 5/s / open 9/s", "3: closed 4 VUs")
    assert [(s.label, s.color) for s in rps.series] == [("baseline", 0), ("new", 1)]
    assert rps.series[0].values[2] is None  # the baseline has no stage 3
    assert rps.series[1].values[2] == old["stages"][0]["total"]["throughput_rps"]
    latency = found["cmp-sat-latency"]
    assert not latency.y_log  # p99s within 20x of each other
    assert [(s.label, s.dash) for s in latency.series] == [
        ("baseline latency p99", False),
        ("baseline TTFT p99", True),
        ("new latency p99", False),
        ("new TTFT p99", True),
    ]
    # Stages in both runs have overlays (by index, as the table matches them).
    assert [s.id for s in page.sections] == [
        "verdict",
        "saturation",
        "stage-1",
        "stage-2",
        "tables",
    ]
    assert page.sections[2].title == "Stage 1: closed 4 VUs"
    dist = found["cmp-s1-dist-latency"]
    assert [(s.label, s.color) for s in dist.series] == [("baseline", 0), ("new", 1)]
    assert found["cmp-s1-ts-ok"].x_label == "seconds since the start"
    assert found["cmp-s2-ts-ok"].xs[0] == 0.0  # from the stage's start or first turn


def test_compare_without_regression_is_green() -> None:
    old = golden()
    page = compare_page(old, old, "no regression\n", names=("a", "a"), regressed=False)
    assert page.sections[0].items[0].tone == "pass"
    assert page.sections[-1].id == "stage-2"  # no tables in this text


def _round(doc: dict[str, Any], start_s: float) -> tuple[int, float, str, list[Any]]:
    other = copy.deepcopy(doc)
    return (
        1,
        start_s,
        "round 1/1 table\n",
        [("gw-a", doc, None), ("gw-b", other, None), ("gw-c", None, "exit code 1, no summary")],
    )


def test_gateways_share_the_rounds_clock() -> None:
    doc = golden()
    doc["stages"][1]["warmup_s"] = 1.5
    start_s = doc["run"]["started_unix_s"] - 2
    page = gateways_page([_round(doc, start_s)], "summary table\n", profile="p.json")
    assert page.title == "loadtest multi-service: p.json"
    assert page.header == ("gateways: gw-a, gw-b, gw-c", "rounds: 1")
    assert page.sections[0].items[0].lines == ("summary table",)
    round_items = page.sections[1].items
    assert round_items[0].lines == ("round 1/1 table",)
    assert round_items[1].lines == ("gw-c: FAILED: exit code 1, no summary",)
    assert round_items[1].tone == "fail"
    found = charts(page)
    ok = found["round-1-ts-ok"]
    assert ok.x_label == "seconds since the round's shared start"
    first_t = doc["stages"][0]["timeseries"][0]["t"]
    assert ok.xs[0] == int(first_t - start_s)
    assert [s.label for s in ok.series] == ["gw-a", "gw-b"]
    assert ok.series[0].values == ok.series[1].values
    assert [(m.x, m.label) for m in ok.marks] == [(2.0, "stage 1"), (12.0, "stage 2")]
    assert [(b.start, b.end) for b in ok.bands] == [(12.0, 13.5)]  # gw-a's warm-up
    assert "round-1-dist-ttft" in found


def test_a_round_where_every_gateway_failed_has_no_chart() -> None:
    page = gateways_page([(2, 0.0, "t", [("gw", None, "refused")])], "s", profile="p")
    assert [type(i) for i in page.sections[1].items] == [Text, Text]


def test_overlays_leave_out_what_no_run_has() -> None:
    doc = golden()
    bare = copy.deepcopy(doc)
    for stage in bare["stages"]:
        stage["timeseries"] = []
        stage["total"]["histograms"] = {}
    assert overlay_charts([("a", bare["stages"])], id_prefix="x", title_suffix="") == ()
    assert overlay_charts([("a", [])], id_prefix="x", title_suffix="") == ()
    no_ttft = copy.deepcopy(doc)
    for stage in no_ttft["stages"]:
        for bucket in stage["timeseries"]:
            bucket["ttft_ms"]["p50"] = None
        stage["total"]["histograms"].pop("ttft")
    found = {
        c.id
        for c in overlay_charts(
            [("a", no_ttft["stages"]), ("b", bare["stages"])], id_prefix="x", title_suffix=""
        )
    }
    assert found == {"x-dist-latency", "x-ts-ok", "x-ts-latency"}
