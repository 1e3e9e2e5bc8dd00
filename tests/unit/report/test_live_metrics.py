"""The live exposition's pure part: one stage's samples, the shared writer,
and the file's generator health gauges."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from loadtest.metrics import HealthFigures, StageRecorder
from loadtest.report import (
    LIVE_HISTOGRAMS,
    Exposition,
    LiveStage,
    render_live,
    render_prometheus,
    stage_exposition,
)
from loadtest.report._schema import PROM_FAMILIES, PROM_LIVE, PROM_STATS, PromFamily
from tests.unit.report.builders import NAMES, failed, snapshot, summary, turn

BASE = {"run": "20261128T015830Z", "profile": "p"}


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def live_stage(**changes: Any) -> LiveStage:
    recorder = StageRecorder(NAMES)
    for record in [turn(0), turn(0), turn(1), failed(0), turn(0, latency_us=4_000_000_000)]:
        recorder.record(record)
    recorder.record_dropped(1)
    fields: dict[str, Any] = {
        "index": 2,
        "mode": "open",
        "duration_s": 30.0,
        "concurrency": None,
        "rate": 5.0,
        "scenarios": recorder.scenario_stats(LIVE_HISTOGRAMS),
        "elapsed_s": 12.34567,
        "in_flight": 7,
        "health": HealthFigures(
            cpu_share=0.25, loop_lag_p99_ms=1.5, loop_lag_max_ms=4.0, peak_in_flight=9
        ),
    }
    return LiveStage(**{**fields, **changes})


def test_a_live_stage_has_the_file_labels_and_its_own_gauges() -> None:
    """Stage 3 (1-based) of an open run: counters per scenario and total,
    dropped arrivals as `gen_dropped` errors, in flight, elapsed, the
    arrival rate, health gauges in seconds, and latency/TTFT/ITL only."""
    found = families(render_live([stage_exposition(live_stage(), BASE)], BASE, 2))
    (current,) = found["loadtest_current_stage"].samples
    assert (current.labels, current.value) == (BASE, 3)
    requests = {s.labels["scenario"]: s.value for s in found["loadtest_requests"].samples}
    assert requests == {"chat": 4, "batch": 1, "total": 5}
    assert {s.labels["stage"] for s in found["loadtest_requests"].samples} == {"3"}
    errors = {
        (s.labels["scenario"], s.labels["error_class"]): s.value
        for s in found["loadtest_errors"].samples
    }
    assert errors == {
        ("chat", "http_5xx"): 1,
        ("batch", "gen_dropped"): 1,
        ("total", "http_5xx"): 1,
        ("total", "gen_dropped"): 1,
    }
    (in_flight,) = found["loadtest_in_flight"].samples
    assert in_flight.labels == {**BASE, "stage": "3", "mode": "open"}
    assert in_flight.value == 7
    assert found["loadtest_stage_elapsed_seconds"].samples[0].value == 12.346
    assert found["loadtest_stage_arrival_rate_per_second"].samples[0].value == 5.0
    assert "loadtest_stage_virtual_users" not in found
    assert found["loadtest_loop_lag_p99_seconds"].samples[0].value == 0.0015
    assert found["loadtest_generator_cpu_ratio"].samples[0].value == 0.25
    summaries = {name for name, f in found.items() if f.type == "summary"}
    assert summaries == {
        "loadtest_latency_seconds",
        "loadtest_ttft_seconds",
        "loadtest_itl_seconds",
    }
    ttft = [s for s in found["loadtest_ttft_seconds"].samples if s.labels["scenario"] == "total"]
    assert {s.labels.get("quantile") for s in ttft} >= {"0.5", "0.99"}
    # rates need the stage's end: the file's only
    assert "loadtest_throughput_requests_per_second" not in found
    assert "loadtest_error_ratio" not in found


def test_overflow_and_a_stage_without_health_figures() -> None:
    """A value above the histogram's range is counted live; a stage with no
    health figures yet has no health gauge; between stages current is 0."""
    stage = live_stage(health=None, mode="closed", concurrency=4, rate=None)
    found = families(render_live([stage_exposition(stage, BASE)], BASE, None))
    assert found["loadtest_current_stage"].samples[0].value == 0
    overflow = [s for s in found["loadtest_histogram_overflow"].samples]
    assert {(s.labels["scenario"], s.labels["histogram"]) for s in overflow} == {
        ("chat", "latency"),
        ("total", "latency"),
    }
    assert "loadtest_loop_lag_p99_seconds" not in found
    assert found["loadtest_stage_virtual_users"].samples[0].value == 4


def test_the_live_families_are_named_by_convention() -> None:
    """Every family: `loadtest_` prefix, counters end in `_total`, nothing
    else does, times in `_seconds`; live-only families are in the order list."""
    for family in PROM_FAMILIES:
        assert family.name.startswith("loadtest_")
        assert (family.type == "counter") == family.name.endswith("_total"), family
        assert not family.name.endswith(("_ms", "_us", "_milliseconds")), family
    assert set(PROM_LIVE.values()) <= set(PROM_FAMILIES)
    assert len({f.name for f in PROM_FAMILIES}) == len(PROM_FAMILIES)


def test_the_writer_orders_families_and_leaves_out_empty_ones() -> None:
    """Samples added in any order come out grouped by family in the fixed
    order, each family announced once; nothing is an empty text."""
    assert Exposition().render() == ""
    ok, requests = PROM_STATS["ok"], PROM_STATS["requests"]
    first, second = Exposition(), Exposition()
    first.add(ok, {"a": "1"}, 1)
    second.add(requests, {"a": "2"}, 2.5)
    second.add(ok, {"a": "2"}, 2)
    first.extend(second)
    assert first.render().splitlines() == [
        f"# HELP {requests.name} {requests.help}",
        f"# TYPE {requests.name} counter",
        f'{requests.name}{{a="2"}} 2.5',
        f"# HELP {ok.name} {ok.help}",
        f"# TYPE {ok.name} counter",
        f'{ok.name}{{a="1"}} 1',
        f'{ok.name}{{a="2"}} 2',
    ]
    unknown = PromFamily("loadtest_unknown", "gauge", "not in the order")
    only_unknown = Exposition()
    only_unknown.add(unknown, {}, 1)
    assert only_unknown.render() == ""


def test_the_file_has_the_health_gauges_of_each_assessed_stage() -> None:
    """CPU share and loop lag p99/max of a stage's health figures, in seconds;
    a stage not assessed has none."""
    health = {
        "verdict": "ok",
        "reasons": [],
        "figures": {
            "cpu_share": 0.4,
            "loop_lag_p99_ms": 2.5,
            "loop_lag_max_ms": 12.0,
            "peak_in_flight": 4,
        },
    }
    doc = summary([snapshot([turn(0)], health=health), snapshot([turn(0, stage=1)], 1)])
    found = families(render_prometheus(doc))
    for name, expected in (
        ("loadtest_generator_cpu_ratio", 0.4),
        ("loadtest_loop_lag_p99_seconds", 0.0025),
        ("loadtest_loop_lag_max_seconds", 0.012),
    ):
        (sample,) = found[name].samples
        assert sample.labels["stage"] == "1"
        assert sample.value == pytest.approx(expected)
