"""The HTML report's page model: what each section shows, from a summary."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from loadtest.metrics import Histogram
from loadtest.report import render_html
from loadtest.report._html import script_json
from loadtest.report._html_extra import goodput_of, slo_of, sweep_of
from loadtest.report._html_model import (
    PERCENTILE_XS,
    Chart,
    Page,
    Series,
    Table,
    Text,
    distribution_ms,
    log_y,
    page_json,
)
from loadtest.report._html_run import build_run_page, load_text
from loadtest.report._html_series import distribution_charts, timeseries_charts

GOLDEN = Path(__file__).parent / "golden" / "summary.json"


def golden() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(GOLDEN.read_text())
    return doc


def items(page: Page, section: str) -> tuple[Any, ...]:
    (found,) = (s for s in page.sections if s.id == section)
    return found.items


def chart(page: Page, chart_id: str) -> Chart:
    (found,) = (
        i for s in page.sections for i in s.items if isinstance(i, Chart) and i.id == chart_id
    )
    return found


def chart_ids(page: Page) -> list[str]:
    return [i.id for s in page.sections for i in s.items if isinstance(i, Chart)]


def test_the_page_shows_the_sections_in_order() -> None:
    """Verdict, saturation, time series, distributions, stages, health."""
    page = build_run_page(golden())
    assert [s.id for s in page.sections] == [
        "verdict",
        "saturation",
        "timeseries",
        "distributions",
        "stages",
        "health",
    ]
    assert chart_ids(page) == [
        "sat-throughput",
        "sat-latency",
        "ts-throughput",
        "ts-latency",
        "ts-ttft",
        "ts-itl",
        "ts-inflight",
        "dist-latency",
        "dist-ttft",
        "dist-itl",
    ]
    assert page.header[2] == "target: http://gw.test/v1/chat/completions (openai-chat, m)"


def test_every_chart_has_one_value_per_x() -> None:
    page = build_run_page(golden())
    for item in chart_ids(page):
        c = chart(page, item)
        assert c.series, item
        assert all(len(s.values) == len(c.xs) for s in c.series), item


def test_the_verdict_uses_the_text_reports_words_and_lists_thresholds() -> None:
    page = build_run_page(golden())
    verdict, thresholds = items(page, "verdict")
    assert isinstance(verdict, Text)
    assert verdict.tone == "fail"
    assert verdict.lines[0] == "verdict: FAIL (run stopped early)"
    assert isinstance(thresholds, Table)
    assert thresholds.rows[0][:4] == ("FAIL", "1", "total", "error_rate")


@pytest.mark.parametrize(
    ("thresholds", "tone", "note"),
    [([], "info", "none set"), ([{"passed": True}], "pass", "")],
)
def test_a_passing_or_unjudged_verdict_has_its_tone(
    thresholds: list[dict[str, Any]], tone: str, note: str
) -> None:
    doc = golden()
    result = {**doc["thresholds"][0], **(thresholds[0] if thresholds else {})}
    doc["thresholds"] = [result] if thresholds else []
    for stage in doc["stages"]:
        stage["total"]["failed"] = 0
    verdict, table = items(build_run_page(doc), "verdict")
    assert verdict.tone == tone
    assert table.note == note


def test_the_saturation_table_matches_the_text_report() -> None:
    table = items(build_run_page(golden()), "saturation")[0]
    assert table.columns[:3] == ("stage", "load", "rps")
    assert table.rows[0][1] == "closed 4 VUs"
    assert table.rows[1][1] == "open 5/s"
    assert table.rows[0][-1] == "suspect"
    assert "goodput" not in table.columns


def test_the_few_samples_legend_shows_only_under_a_marked_figure() -> None:
    """As in the text report: "* fewer than 10 samples" under a table only
    when one of its figures is marked."""
    doc = golden()
    saturation = items(build_run_page(doc), "saturation")[0]
    stage = items(build_run_page(doc), "stages")[0]
    marked = any(c.endswith("*") for r in saturation.rows for c in r)
    assert saturation.note == ("* fewer than 10 samples" if marked else "")
    for stats in (s["total"] for s in doc["stages"]):
        for metric in ("latency_ms", "ttft_ms", "itl_ms"):
            stats[metric]["count"] = 1000
    for scenario in (sc for s in doc["stages"] for sc in s["scenarios"]):
        for metric in ("latency_ms", "ttft_ms", "itl_ms"):
            scenario[metric]["count"] = 1000
    assert items(build_run_page(doc), "saturation")[0].note == ""
    assert items(build_run_page(doc), "stages")[0].note == "ms"
    assert stage.note in ("ms", "ms; * fewer than 10 samples")


def _stages(*loads: tuple[str, float]) -> list[dict[str, Any]]:
    base = golden()["stages"][0]
    stages = []
    for index, (mode, load) in enumerate(loads):
        stage = copy.deepcopy(base)
        stage.update(
            index=index,
            mode=mode,
            concurrency=load if mode == "closed" else None,
            rate=load if mode == "open" else None,
        )
        stages.append(stage)
    return stages


@pytest.mark.parametrize(
    ("loads", "x_kind", "xs", "label"),
    [
        ((("closed", 1), ("closed", 8)), "linear", (1.0, 8.0), "virtual users (closed loop)"),
        ((("open", 2.5), ("open", 5)), "linear", (2.5, 5), "offered conversation starts"),
        ((("closed", 4), ("open", 5)), "category", (1.0, 2.0), "stage: offered load"),
        ((("closed", 8), ("closed", 4)), "category", (1.0, 2.0), "stage: offered load"),
    ],
)
def test_saturation_is_drawn_against_the_load_when_it_rises(
    loads: tuple[tuple[str, float], ...], x_kind: str, xs: tuple[float, ...], label: str
) -> None:
    doc = golden()
    doc["stages"] = _stages(*loads)
    c = chart(build_run_page(doc), "sat-throughput")
    assert (c.x_kind, c.xs) == (x_kind, xs)
    assert c.x_label.startswith(label)
    assert bool(c.x_ticks) == (x_kind == "category")


def test_time_series_mark_stage_starts_and_shade_warmup() -> None:
    doc = golden()
    doc["stages"][1]["warmup_s"] = 2.0
    c = chart(build_run_page(doc), "ts-throughput")
    assert [m.label for m in c.marks] == ["stage 1", "stage 2"]
    assert c.marks[1].x - c.marks[0].x == pytest.approx(10.0)
    (band,) = c.bands
    assert (band.end - band.start, band.label) == (2.0, "stage 2 warm-up")


def test_a_second_two_stages_share_adds_counts_and_merges_histograms() -> None:
    """The golden stages have buckets at the same seconds: counts add up,
    percentiles are those of the merged histograms."""
    doc = golden()
    first = [b for s in doc["stages"] for b in s["timeseries"] if b["t"] == s["timeseries"][0]["t"]]
    charts = {c.id: c for c in timeseries_charts(doc["stages"])}
    ok = next(s for s in charts["ts-throughput"].series if s.label == "ok")
    assert ok.values[0] == sum(b["ok"] for b in first)
    merged = Histogram.decode(first[0]["histograms"]["latency"])
    merged.merge(Histogram.decode(first[1]["histograms"]["latency"]))
    p99 = next(s for s in charts["ts-latency"].series if s.label == "p99")
    assert p99.values[0] == merged.percentiles([99.0])[99.0] / 1000


def test_a_second_of_one_stage_shows_its_own_figures_and_gaps_stay_gaps() -> None:
    doc = golden()
    stage = doc["stages"][0]
    later = copy.deepcopy(stage["timeseries"][0])
    later["t"] = stage["timeseries"][-1]["t"] + 3
    stage["timeseries"].append(later)
    charts = {c.id: c for c in timeseries_charts([stage])}
    p50 = charts["ts-latency"].series[0]
    assert p50.values[0] == stage["timeseries"][0]["latency_ms"]["p50"]
    assert p50.values[-2] is None  # a second no stage covers
    assert p50.values[-1] == later["latency_ms"]["p50"]


def test_a_summary_without_time_series_says_so() -> None:
    doc = golden()
    for stage in doc["stages"]:
        del stage["timeseries"]
    (text,) = items(build_run_page(doc), "timeseries")
    assert text.lines == ("This summary has no time series.",)


def test_a_metric_without_values_has_no_chart() -> None:
    doc = golden()
    for stage in doc["stages"]:
        for bucket in stage["timeseries"]:
            bucket["itl_ms"] = {"p50": None, "p90": None, "p99": None, "count": 0}
            bucket["histograms"].pop("itl", None)
        stage["total"]["histograms"].pop("itl")
    ids = chart_ids(build_run_page(doc))
    assert "ts-itl" not in ids
    assert "dist-itl" not in ids


def test_distributions_come_from_the_histograms_with_corrected_open_stages() -> None:
    doc = golden()
    charts = {c.id: c for c in distribution_charts([("", doc["stages"])])}
    latency = charts["dist-latency"]
    assert [(s.label, s.dash) for s in latency.series] == [
        ("stage 1", False),
        ("stage 2", False),
        ("stage 2 corrected", True),
    ]
    hist = Histogram.decode(doc["stages"][0]["total"]["histograms"]["latency"])
    assert latency.series[0].values[0] == hist.min / 1000
    assert latency.xs == PERCENTILE_XS[: len(latency.xs)]
    assert latency.series[0].color == latency.series[0].color != latency.series[1].color
    assert latency.series[1].color == latency.series[2].color
    assert [s.label for s in charts["dist-itl"].series] == ["stage 1", "stage 2"]


def test_a_summary_without_histograms_says_so() -> None:
    doc = golden()
    for stage in doc["stages"]:
        stage["total"]["histograms"] = {}
    (text,) = items(build_run_page(doc), "distributions")
    assert text.lines == ("No latency was recorded.",)


def test_distribution_needs_x_values_for_the_point_at_x() -> None:
    hist = Histogram()
    for value_us in range(1000, 101_000, 1000):  # 100 values
        hist.record(value_us)
    values = distribution_ms(hist)
    assert len(values) == len(PERCENTILE_XS)
    reached = [x for x, v in zip(PERCENTILE_XS, values, strict=True) if v is not None]
    assert reached[-1] == 100.0  # the p99 of 100 values, no further
    assert values[0] == 1.0
    assert distribution_ms(Histogram()) == (None,) * len(PERCENTILE_XS)


def test_per_stage_tables_list_scenarios_then_the_total() -> None:
    tables = items(build_run_page(golden()), "stages")
    assert [t.title for t in tables] == [
        "Stage 1: closed 4 VUs, 10 s steady",
        "Stage 2: open 5/s, 10 s steady (stopped early)",
    ]
    assert [row[0] for row in tables[0].rows] == ["chat", "batch", "total"]
    assert "goodput" not in tables[0].columns  # none in this summary
    assert all(len(row) == len(tables[0].columns) for row in tables[0].rows)


def test_generator_health_per_stage() -> None:
    doc = golden()
    doc["stages"][1]["health"] = {
        "verdict": "ok",
        "reasons": [],
        "figures": {
            "cpu_share": 0.25,
            "loop_lag_p99_ms": 1.5,
            "peak_in_flight": 3,
            "target_rate": 5.0,
            "achieved_rate": 4.9,
            "schedule_lag_p99_ms": 0.4,
        },
    }
    (table,) = items(build_run_page(doc), "health")
    assert table.rows[0][:5] == ("1", "suspect", "50%", "12.5", "4")
    assert table.rows[0][5:] == ("-", "-", "0", "event-loop lag p99 12.5 ms > 10 ms")
    assert table.rows[1][5:] == ("4.9/s of 5/s", "0.4", "0", "-")
    del doc["stages"][1]["health"]
    (table,) = items(build_run_page(doc), "health")
    assert table.rows[1][:4] == ("2", "not assessed", "-", "-")


def test_a_summary_without_stages_still_renders() -> None:
    doc = golden()
    doc["stages"] = []
    page = build_run_page(doc)
    assert items(page, "saturation") == ()
    assert "<main" in render_html(doc)


def test_load_text() -> None:
    assert load_text({"mode": "closed", "concurrency": 8}) == "closed 8 VUs"
    assert load_text({"mode": "open", "rate": 2.5}) == "open 2.5/s"


# --- goodput, SLOs, sweep -------------------------------------------------------------


def with_goodput(doc: dict[str, Any]) -> dict[str, Any]:
    doc["run"]["slo"] = ["ttft_p99_ms<=500", "error"]
    goodputs = [
        {"judged": 100, "good": 90, "share": 0.9, "good_per_s": 9.0},
        {"judged": 0, "good": 0, "share": None, "good_per_s": None},
    ]
    for stage, good in zip(doc["stages"], goodputs, strict=True):
        stage["total"]["goodput"] = good
    doc["stages"][0]["scenarios"][0]["goodput"] = {"judged": 4, "good": 1, "share": 0.25}
    return doc


def test_goodput_and_slos_are_shown_when_present() -> None:
    page = build_run_page(with_goodput(golden()))
    slo = items(page, "verdict")[1]
    assert (slo.title, slo.lines) == ("Service-level objectives", ("ttft_p99_ms<=500", "error"))
    table = items(page, "saturation")[0]
    assert table.columns[-2:] == ("goodput", "good rps")
    assert table.rows[0][-2:] == ("90.0%", "9.0")
    assert table.rows[1][-2:] == ("-", "-")
    good = chart(page, "sat-throughput").series[-1]
    assert (good.label, good.values) == ("good/s (met the SLOs)", (9.0, None))
    stage1, stage2 = items(page, "stages")
    assert stage1.columns[-2:] == ("goodput", "errors")
    assert [row[12] for row in stage1.rows] == ["25.0%", "-", "90.0%"]
    assert [row[12] for row in stage2.rows] == ["-", "-", "-"]


def test_a_missing_goodput_rate_is_a_dash() -> None:
    doc = with_goodput(golden())
    doc["stages"][0]["total"]["goodput"]["good_per_s"] = None
    del doc["stages"][1]["total"]["goodput"]
    table = items(build_run_page(doc), "saturation")[0]
    assert table.rows[0][-2:] == ("90.0%", "-")
    assert table.rows[1][-2:] == ("-", "-")


@pytest.mark.parametrize(
    "value", [None, "x", [], {"judged": 1}, {"judged": "1", "good": 1}, {"judged": True, "good": 1}]
)
def test_a_malformed_goodput_reads_as_absent(value: object) -> None:
    assert goodput_of({"goodput": value}) is None


@pytest.mark.parametrize(
    ("run", "expected"),
    [({}, ()), ({"slo": "x"}, ()), ({"slo": ["a", 1, "b"]}, ("a", "b"))],
)
def test_slo_reads_strings_only(run: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert slo_of({"run": run}) == expected
    assert slo_of({"run": None}) == ()


SWEEP: dict[str, Any] = {
    "slo": ["ttft_p99_ms<=500"],
    "goodput_target": 0.95,
    "probes": [
        {
            "stage": 0,
            "kind": "baseline",
            "offered_rps": None,
            "achieved_rps": 0.9,
            "goodput": 1.0,
            "ttft_p50_ms": 100,
            "ttft_p99_ms": 120,
            "latency_p99_ms": 300,
            "health": "ok",
            "passed": True,
            "reason": None,
        },
        {
            "stage": 2,
            "kind": "rate",
            "offered_rps": 20,
            "achieved_rps": 15.5,
            "goodput": 0.5,
            "ttft_p50_ms": 400,
            "ttft_p99_ms": 1900,
            "latency_p99_ms": 2500,
            "health": "ok",
            "passed": False,
            "reason": "goodput 50% < 95%",
        },
        {
            "stage": 1,
            "kind": "rate",
            "offered_rps": 10,
            "achieved_rps": 10.0,
            "goodput": 0.97,
            "ttft_p50_ms": 110,
            "ttft_p99_ms": 300,
            "latency_p99_ms": 800,
            "health": "ok",
            "passed": True,
            "reason": None,
        },
        "not a probe",
    ],
    "knee": {"rate_rps": 10, "stage": 1, "next_failed_because": "goodput 50% < 95%", "note": "n"},
}


def test_a_sweep_shows_its_knee_probes_and_charts() -> None:
    doc = golden()
    doc["sweep"] = SWEEP
    page = build_run_page(doc)
    saturation = items(page, "saturation")
    text = next(i for i in saturation if isinstance(i, Text))
    assert text.tone == "pass"
    assert text.lines == (
        "knee: 10 conversation starts/s (stage 2)",
        "n",
        "SLOs: ttft_p99_ms<=500",
        "goodput target: 95% of turns meet the SLOs",
    )
    unnoted = {**SWEEP, "knee": {**SWEEP["knee"], "note": ""}}
    lines = next(
        i
        for i in items(build_run_page({**doc, "sweep": unnoted}), "saturation")
        if isinstance(i, Text)
    ).lines
    assert "the next rate failed because: goodput 50% < 95%" in lines
    rate = chart(page, "sweep-rate")
    assert rate.xs == (10.0, 20.0)  # sorted by offered rate; the baseline has none
    assert [(m.x, m.label) for m in rate.marks] == [(10.0, "knee")]
    assert chart(page, "sweep-latency").y_log  # 110 ms to 2.5 s
    goodput = chart(page, "sweep-goodput")
    assert [s.values for s in goodput.series] == [(97.0, 50.0), (95.0, 95.0)]
    table = next(i for i in saturation if isinstance(i, Table) and i.title == "Sweep probes")
    assert saturation.index(table) < saturation.index(
        next(i for i in saturation if isinstance(i, Chart) and i.id == "sat-throughput")
    )  # the sweep first
    assert table.title == "Sweep probes"
    assert [row[:2] for row in table.rows] == [("1", "baseline"), ("3", "rate"), ("2", "rate")]
    assert table.rows[0][2] == "-"
    assert table.rows[1][-2:] == ("FAIL", "goodput 50% < 95%")


def test_a_sweep_without_a_knee_or_placed_probes() -> None:
    doc = golden()
    doc["sweep"] = {
        "probes": [{"kind": "baseline", "passed": True, "goodput": None}],
        "knee": {"rate_rps": None, "stage": None},
    }
    saturation = items(build_run_page(doc), "saturation")
    text = next(i for i in saturation if isinstance(i, Text))
    assert (text.tone, text.lines) == ("fail", ("knee: not found (no probed rate met the SLOs)",))
    assert not [i for i in saturation if isinstance(i, Chart) and i.id.startswith("sweep")]
    probes = next(i for i in saturation if isinstance(i, Table) and i.title == "Sweep probes")
    assert probes.rows == (("-", "baseline", "-", "-", "-", "-", "-", "-", "-", "pass", "-"),)


def test_a_knee_without_a_stage_and_a_sweep_without_a_target() -> None:
    sweep = copy.deepcopy(SWEEP)
    sweep["knee"] = {"rate_rps": 10, "stage": None}
    del sweep["goodput_target"]
    doc = golden()
    doc["sweep"] = sweep
    page = build_run_page(doc)
    text = next(i for i in items(page, "saturation") if isinstance(i, Text))
    assert text.lines[0] == "knee: 10 conversation starts/s"
    assert [s.label for s in chart(page, "sweep-goodput").series] == ["goodput"]
    sweep["knee"] = {"rate_rps": None}
    assert chart(build_run_page(doc), "sweep-rate").marks == ()


@pytest.mark.parametrize("sweep", [None, [], "x"])
def test_no_sweep_reads_as_none(sweep: object) -> None:
    assert sweep_of({"sweep": sweep}) is None
    assert sweep_of({}) is None


def test_a_sweep_with_malformed_parts_reads_what_it_can() -> None:
    sweep = sweep_of({"sweep": {"probes": "x", "knee": "y", "goodput_target": "z"}})
    assert sweep is not None
    assert (sweep.probes, sweep.knee.rate_rps, sweep.goodput_target) == ((), None, None)


# --- the HTML file --------------------------------------------------------------------


def test_script_json_cannot_end_its_script_element() -> None:
    text = script_json({"label": "</script><script>alert(1)</script>&\u2028\u2029"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "\u2028" not in text
    assert "\u2029" not in text
    assert json.loads(text) == {"label": "</script><script>alert(1)</script>&\u2028\u2029"}


def test_a_hostile_label_stays_inside_the_page_data() -> None:
    """A scenario or profile named with markup: the page's data element is
    the only script data, and the title is escaped."""
    doc = golden()
    evil = '</script><img src=x onerror=alert(1)>"'
    doc["run"]["profile"] = evil
    doc["stages"][0]["scenarios"][0]["label"] = evil
    page = render_html(doc)
    assert evil not in page
    assert page.count("</script>") == 3  # the data, uPlot, the page's script
    assert "<title>loadtest report: &lt;/script&gt;&lt;img" in page
    start = page.index('id="page-data">') + len('id="page-data">')
    data = json.loads(page[start : page.index("</script>", start)])
    assert data["title"] == f"loadtest report: {evil}"


def test_the_page_is_self_contained() -> None:
    """No URL fetched: no src= or href= to anything but the page's own anchors."""
    page = render_html(golden())
    assert "src=" not in page.replace("u.src", "")
    assert "http://gw.test" in page  # the target, as data
    assert "<link" not in page
    assert "uPlot" in page
    assert page_json(build_run_page(golden()))["sections"][0]["id"] == "verdict"


def test_latency_against_load_is_on_a_log_axis_when_it_spans_a_lot() -> None:
    """The golden run's TTFT p50 (~10 ms) beside its latency p99 (~700 ms)."""
    assert chart(build_run_page(golden()), "sat-latency").y_log
    assert not chart(build_run_page(golden()), "sat-throughput").y_log


@pytest.mark.parametrize(
    ("values", "expected"),
    [((), False), ((None, 0.0), False), ((1.0, 20.0), False), ((1.0, None, 20.5), True)],
)
def test_log_y_needs_a_ratio_over_20(values: tuple[float | None, ...], expected: bool) -> None:
    assert log_y((Series(label="s", values=values, color=0),)) is expected
