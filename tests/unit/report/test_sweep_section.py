"""A sweep's section of the summary: written and read back through the one
converter, checked by the schema, rendered first in the text report."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import orjson

from loadtest.report import (
    KneeDoc,
    ProbeDoc,
    SweepDoc,
    check_summary,
    render_text,
    summary_schema,
    sweep_json,
)
from loadtest.report._document import summary_problems
from tests.unit.report.builders import make_plan, snapshot, summary, turn


def probe(stage: int, kind: str, rate: float | None, **changes: Any) -> ProbeDoc:
    fields: dict[str, Any] = {
        "stage": stage,
        "kind": kind,
        "offered_rps": rate,
        "achieved_rps": rate or 1.5,
        "goodput": 0.97,
        "ttft_p50_ms": 51.2,
        "ttft_p99_ms": 66.8,
        "latency_p99_ms": 701.0,
        "health": "ok",
        "passed": True,
        "reason": None,
    }
    return ProbeDoc(**{**fields, **changes})


SWEEP = SweepDoc(
    slo=["ttft<=300ms"],
    goodput_target=0.9,
    probes=[
        probe(0, "baseline", None),
        probe(1, "ceiling", None, passed=False, reason="slo", goodput=0.0, health="suspect"),
        probe(2, "rate", 37.33, passed=False, reason="generator-bound", health="generator-bound"),
        probe(3, "rate", 36.16),
        probe(4, "rate", 41.0, passed=False, reason="slo", goodput=None),
        probe(5, "rate", 38.0, passed=False, reason=None),
    ],
    knee=KneeDoc(
        rate_rps=36.16,
        stage=3,
        next_failed_because="generator-bound",
        note="the probe at 37.3/s was generator-bound: not counted as the gateway's limit, "
        "which may be higher (run more generator processes)",
    ),
)


def with_sweep(sweep: SweepDoc) -> dict[str, Any]:
    doc = summary([snapshot([turn(0)], slo=["ttft<=300ms"])], make_plan(slo=["ttft<=300ms"]))
    doc["sweep"] = sweep_json(sweep)
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    return loaded


def test_the_section_is_plain_data_that_reads_back_and_validates() -> None:
    doc = with_sweep(SWEEP)
    assert list(doc)[-2:] == ["thresholds", "sweep"]
    assert doc["sweep"]["knee"]["rate_rps"] == 36.16
    assert doc["sweep"]["probes"][2]["reason"] == "generator-bound"
    check_summary(doc)
    jsonschema.validate(doc, summary_schema(), cls=jsonschema.Draft202012Validator)


def test_a_malformed_section_is_named_by_its_path() -> None:
    doc = with_sweep(SWEEP)
    bad = copy.deepcopy(doc)
    bad["sweep"]["probes"][1]["kind"] = "fast"
    bad["sweep"]["slo"] = "ttft<=1s"
    problems = summary_problems(bad)
    assert any(p.startswith("$.sweep.probes[1].kind: expected") for p in problems), problems
    assert any(p.startswith("$.sweep.slo: expected a list of strings") for p in problems)


def test_the_text_report_starts_with_the_knee_and_the_probes() -> None:
    text = render_text(with_sweep(SWEEP))
    body = text.split("\n\n", 1)[1]
    lines = body.splitlines()
    assert lines[0].startswith("Sweep: knee at 36.16/s (stage 4): the highest rate with goodput")
    assert "not counted as the gateway's limit" in body.split("stage  ", 1)[0]
    table = body.split("Saturation", 1)[0]
    rows = [line.split() for line in table.splitlines() if line[:1].isdigit()]
    assert [row[-1] for row in rows] == ["pass", "slo", "counted", "pass", "slo", "stopped"]
    assert rows[2][-2:] == ["not", "counted"]
    assert rows[4][:5] == ["5", "rate", "41", "41.0", "-"]
    assert max(len(line) for line in text.splitlines()) <= 100
    assert text.index("Sweep:") < text.index("Saturation")


def test_no_knee_says_so() -> None:
    knee = KneeDoc(rate_rps=None, stage=None, next_failed_because="slo", note="every rate failed")
    text = render_text(
        with_sweep(SweepDoc(slo=["ttft<=1s"], goodput_target=0.95, probes=[], knee=knee))
    )
    assert "Sweep: no sustainable rate found (goodput >= 95% of ttft<=1s)" in text
    assert "  no probe ran" in text


def test_a_sweep_stopped_before_any_pass_says_so() -> None:
    knee = KneeDoc(rate_rps=None, stage=None, next_failed_because=None, note="stopped")
    stopped = probe(1, "ceiling", None, passed=False, reason=None)
    doc = with_sweep(SweepDoc(slo=["ttft<=1s"], goodput_target=0.9, probes=[stopped], knee=knee))
    assert "Sweep: stopped before any rate passed (goodput >= 90% of ttft<=1s)" in render_text(doc)
