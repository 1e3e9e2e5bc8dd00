"""render_prometheus: valid text exposition, parsed back with prometheus_client."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from loadtest.report import evaluate_thresholds, render_prometheus, run_stamp
from tests.unit.report.builders import (
    SECRET,
    make_plan,
    random_turns,
    snapshot,
    summary,
    turn,
    two_stage_summary,
)

STAGE_LABELS = {"run", "profile", "stage", "mode"}
SCENARIO_LABELS = STAGE_LABELS | {"scenario"}


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family: Any, name: str | None = None, **labels: str) -> list[Any]:
    return [
        s
        for s in family.samples
        if (name is None or s.name == name) and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def test_families_have_help_and_type_once() -> None:
    """Every family is announced once, with its type, before its samples."""
    text = render_prometheus(two_stage_summary())
    found = families(text)
    expected_types = {
        "loadtest_requests": "counter",
        "loadtest_ok": "counter",
        "loadtest_failed": "counter",
        "loadtest_interrupted": "counter",
        "loadtest_dropped": "counter",
        "loadtest_tokens": "counter",
        "loadtest_errors": "counter",
        "loadtest_http_responses": "counter",
        "loadtest_throughput_requests_per_second": "gauge",
        "loadtest_ok_requests_per_second": "gauge",
        "loadtest_output_tokens_per_second": "gauge",
        "loadtest_error_ratio": "gauge",
        "loadtest_latency_seconds": "summary",
        "loadtest_ttft_seconds": "summary",
        "loadtest_itl_seconds": "summary",
        "loadtest_schedule_lag_seconds": "summary",
        "loadtest_stage_steady_seconds": "gauge",
        "loadtest_stage_virtual_users": "gauge",
        "loadtest_stage_arrival_rate_per_second": "gauge",
        "loadtest_jsonl_lines": "counter",
    }
    assert {name: found[name].type for name in expected_types} == expected_types
    type_lines = [line for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(type_lines) == len(set(type_lines)) == len(found)
    assert all(f.name.startswith("loadtest_") for f in found.values())


def test_label_sets() -> None:
    """Per-scenario families carry run/profile/stage/mode/scenario; stage totals say `total`."""
    doc = two_stage_summary()
    found = families(render_prometheus(doc))
    requests = found["loadtest_requests"].samples
    assert all(set(s.labels) == SCENARIO_LABELS for s in requests)
    assert {(s.labels["stage"], s.labels["scenario"]) for s in requests} == {
        (stage, scenario) for stage in ("1", "2") for scenario in ("chat", "batch", "total")
    }
    assert {s.labels["run"] for s in requests} == {run_stamp(doc["run"])} == {"20261128T015830Z"}
    assert {s.labels["mode"] for s in requests} == {"closed", "open"}
    steady = found["loadtest_stage_steady_seconds"].samples
    assert all(set(s.labels) == STAGE_LABELS for s in steady)
    assert set(found["loadtest_jsonl_lines"].samples[0].labels) == {"run", "profile"}
    errors = samples(found["loadtest_errors"], stage="1", scenario="total")
    assert {s.labels["error_class"]: s.value for s in errors} == {"http_5xx": 1, "http_429": 1}
    codes = samples(found["loadtest_http_responses"], stage="1", scenario="total")
    assert {s.labels["code"]: s.value for s in codes} == {"200": 50, "429": 1, "503": 1}
    tokens = samples(found["loadtest_tokens"], stage="1", scenario="chat")
    assert {s.labels["kind"]: s.value for s in tokens} == {
        "prompt": 300,
        "completion": 600,
        "cached": 60,
    }


def test_latency_summaries_are_in_seconds() -> None:
    """Quantiles are the summary's percentiles / 1000; _count the count; _sum mean x count."""
    doc = summary([snapshot(random_turns(1, 200))])
    latency = doc["stages"][0]["total"]["latency_ms"]
    family = families(render_prometheus(doc))["loadtest_latency_seconds"]
    mine = samples(family, stage="1", scenario="total")
    quantiles = {s.labels["quantile"]: s.value for s in mine if s.name == family.name}
    assert quantiles == pytest.approx(
        {
            "0.5": latency["p50"] / 1000,
            "0.9": latency["p90"] / 1000,
            "0.95": latency["p95"] / 1000,
            "0.99": latency["p99"] / 1000,
            "0.999": latency["p999"] / 1000,
        }
    )
    (count,) = samples(family, "loadtest_latency_seconds_count", stage="1", scenario="total")
    (total,) = samples(family, "loadtest_latency_seconds_sum", stage="1", scenario="total")
    assert count.value == latency["count"] > 100
    assert len(set(quantiles.values())) == 5
    assert total.value == pytest.approx(latency["mean"] * count.value / 1000)
    assert "quantile" not in count.labels


def test_empty_histograms_have_no_samples() -> None:
    """A non-streamed scenario has no TTFT samples, a closed stage no schedule lag."""
    found = families(render_prometheus(two_stage_summary()))
    assert not samples(found["loadtest_ttft_seconds"], scenario="batch")
    assert not samples(found["loadtest_schedule_lag_seconds"], stage="1")
    assert samples(found["loadtest_schedule_lag_seconds"], stage="2", scenario="chat")


def test_throughput_gauges() -> None:
    """rps, ok rps, output tokens/s and error ratio are the summary's figures."""
    doc = two_stage_summary()
    stats = doc["stages"][0]["total"]
    found = families(render_prometheus(doc))
    for family, key in (
        ("loadtest_throughput_requests_per_second", "throughput_rps"),
        ("loadtest_ok_requests_per_second", "ok_rps"),
        ("loadtest_output_tokens_per_second", "output_tokens_per_s"),
        ("loadtest_error_ratio", "error_rate"),
    ):
        (sample,) = samples(found[family], stage="1", scenario="total")
        assert sample.value == stats[key]


def test_label_values_and_help_are_escaped() -> None:
    """Backslash, double quote and newline in a label value parse back unchanged."""
    doc = two_stage_summary()
    doc["run"]["profile"] = 'a\\b"c\nd'
    found = families(render_prometheus(doc))
    assert {s.labels["profile"] for s in found["loadtest_requests"].samples} == {'a\\b"c\nd'}


def test_overflow_and_threshold_families() -> None:
    """Histogram overflow is a counter by histogram; threshold results are 1/0 gauges."""
    plan = make_plan(thresholds={"p95_ms": 50, "error_rate": 0.5})
    doc = summary([snapshot([turn(0), turn(0, latency_us=4_000_000_000)])], plan)
    doc["thresholds"] = evaluate_thresholds(doc)
    found = families(render_prometheus(doc))
    overflow = samples(found["loadtest_histogram_overflow"], scenario="total")
    assert [(s.labels["histogram"], s.value) for s in overflow] == [("latency", 1)]
    passed = {s.labels["threshold"]: s.value for s in found["loadtest_threshold_passed"].samples}
    assert passed == {"p95_ms": 0, "error_rate": 1}
    assert set(found["loadtest_threshold_passed"].samples[0].labels) == {
        "run",
        "profile",
        "stage",
        "scope",
        "threshold",
    }


def test_no_header_value_reaches_the_exposition() -> None:
    """The profile's Authorization header never appears in the metrics."""
    assert SECRET not in render_prometheus(two_stage_summary())


def test_jsonl_lost_lines_are_a_run_counter() -> None:
    """Lines lost to a failed JSONL file are exposed, labelled by run and profile."""
    found = families(render_prometheus(two_stage_summary(jsonl_lost_lines=7)))
    (sample,) = found["loadtest_jsonl_lost_lines"].samples
    assert found["loadtest_jsonl_lost_lines"].type == "counter"
    assert set(sample.labels) == {"run", "profile"}
    assert sample.value == 7


def test_infinite_and_nan_values_are_spelled_as_the_format_wants() -> None:
    # A stage ended only by a request count plans an infinite duration.
    from loadtest.report._exposition import Exposition
    from loadtest.report._schema import PROM_FAMILIES

    family = next(f for f in PROM_FAMILIES if f.name == "loadtest_stage_duration_seconds")
    for value, spelled in ((float("inf"), "+Inf"), (float("-inf"), "-Inf"), (float("nan"), "NaN")):
        exposition = Exposition()
        exposition.add(family, {"stage": "1"}, value)
        text = exposition.render()
        assert f'loadtest_stage_duration_seconds{{stage="1"}} {spelled}' in text
        parsed = next(iter(text_string_to_metric_families(text)))
        assert str(parsed.samples[0].value) == str(value)


def test_ramps_request_counts_and_why_a_stage_ended() -> None:
    """A ramp's end, a stage's planned request count and why each stage ended
    are samples too (the CSV and the text report carry them)."""
    doc = two_stage_summary()
    doc["stages"][0]["ramp_to"] = 16
    doc["stages"][1].update(requests=40, ended_by="requests")
    found = families(render_prometheus(doc))
    (ramp,) = found["loadtest_stage_ramp_to"].samples
    assert (ramp.labels["stage"], ramp.labels["mode"], ramp.value) == ("1", "closed", 16)
    (planned,) = found["loadtest_stage_planned_requests"].samples
    assert (planned.labels["stage"], planned.value) == ("2", 40)
    ended = {
        s.labels["stage"]: (s.labels["reason"], s.value)
        for s in found["loadtest_stage_ended_by"].samples
    }
    assert ended == {"1": ("duration", 1), "2": ("requests", 1)}
    assert set(found["loadtest_stage_ended_by"].samples[0].labels) == STAGE_LABELS | {"reason"}
