"""The summary's JSON Schema: generated from the document classes, shipped
as docs/summary.schema.json, and every summary the suite builds conforms."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.report import _document, merge_summaries, summary_schema
from tests.unit.report.builders import another_shard, two_stage_summary

DOCS = Path(__file__).parents[3] / "docs"
GOLDEN = Path(__file__).parent / "golden"
VALIDATOR = jsonschema.Draft202012Validator(summary_schema())


def errors(doc: Any) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(doc)]


def test_the_shipped_schema_is_the_generated_one() -> None:
    """docs/summary.schema.json is `loadtest schema --summary`'s output: a
    field added to a document class and not shipped fails here."""
    shipped = json.loads((DOCS / "summary.schema.json").read_text())
    assert shipped == summary_schema()
    printed = CliRunner().invoke(app, ["schema", "--summary"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == shipped
    jsonschema.Draft202012Validator.check_schema(shipped)


def test_every_field_of_every_document_class_is_in_the_schema() -> None:
    defs = summary_schema()["$defs"]
    classes = [cls for cls in vars(_document).values() if isinstance(cls, type) and attrs.has(cls)]
    assert sorted(defs) == sorted(cls.__name__ for cls in classes)
    for cls in classes:
        assert list(defs[cls.__name__]["properties"]) == [f.name for f in attrs.fields(cls)]


@pytest.mark.parametrize("name", ["summary.json", "merged.json", "merged-twice.json"])
def test_golden_summaries_conform(name: str) -> None:
    assert errors(json.loads((GOLDEN / name).read_text())) == []


def test_built_and_merged_summaries_conform() -> None:
    """(builders.summary validates every summary the report tests build.)"""
    doc = two_stage_summary()
    assert errors(doc) == []
    assert errors(merge_summaries([doc, another_shard(doc)])) == []


def test_an_older_summary_conforms() -> None:
    """Keys added since the first summaries may be absent."""
    doc = copy.deepcopy(two_stage_summary())
    for key in ("tool", "version", "run_id", "cache_mode", "targets", "retries", "generator"):
        del doc["run"][key]
    for stage in doc["stages"]:
        del stage["stopped_early"]
        for stats in (stage["total"], *stage["scenarios"]):
            del stats["cache"], stats["unanswered_wait_ms"], stats["retries"]
    assert errors(doc) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(schema="loadtest.summary/2"), "'loadtest.summary/1' was expected"),
        (lambda d: d["run"].pop("profile"), "'profile' is a required property"),
        (lambda d: d["stages"][0]["total"].update(requests="3"), "'3' is not of type 'integer'"),
        (lambda d: d["stages"][0].update(mode="x"), "'x' is not one of ['closed', 'open']"),
        (lambda d: d["stages"][0]["total"]["ttft_ms"].update(p99="1"), "is not of type"),
        (lambda d: d["stages"][0]["total"]["errors"].update(x=1.5), "1.5 is not of type"),
        (lambda d: d["run"]["targets"][0].update(stream=1), "1 is not of type 'boolean'"),
    ],
)
def test_the_schema_refuses_a_wrong_summary(change: Any, problem: str) -> None:
    doc = copy.deepcopy(two_stage_summary())
    change(doc)
    assert any(problem in message for message in errors(doc)), errors(doc)
