"""docs/profiles.md documents every field of every profile class."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from loadtest.config import (
    ClosedStage,
    Correlation,
    DatasetContent,
    DatasetFields,
    Defaults,
    DurationRange,
    EmpiricalDist,
    HttpOptions,
    IntRange,
    LognormalDist,
    NormalDist,
    OpenStage,
    PoolContent,
    Profile,
    Scenario,
    ScriptedContent,
    SizedContent,
    Thresholds,
    Timeouts,
    Tool,
    UniformDist,
)

DOC = (Path(__file__).parents[3] / "docs" / "profiles.md").read_text()
SECTIONED = [
    Profile,
    Defaults,
    Scenario,
    PoolContent,
    ScriptedContent,
    SizedContent,
    DatasetContent,
    DatasetFields,
    Correlation,
    Thresholds,
    Timeouts,
    HttpOptions,
    Tool,
]


def section(heading_part: str) -> str:
    match = re.search(rf"^#+ .*\({heading_part}[^)]*\).*$", DOC, re.MULTILINE)
    assert match, f"no heading mentioning ({heading_part}) in docs/profiles.md"
    rest = DOC[match.end() :]
    end = re.search(r"^#+ ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


@pytest.mark.parametrize("cls", SECTIONED, ids=lambda c: c.__name__)
def test_every_field_has_a_row_in_its_section(cls: type) -> None:
    """Each field of the class is a table row in the section naming the class."""
    heading = "top level" if cls is Profile else cls.__name__
    text = section(heading)
    missing = [f.name for f in attrs.fields(cls) if f"| `{f.name}` |" not in text]
    assert not missing, f"{cls.__name__}: undocumented fields {missing}"


@pytest.mark.parametrize(
    "cls",
    [
        ClosedStage,
        OpenStage,
        IntRange,
        DurationRange,
        UniformDist,
        NormalDist,
        LognormalDist,
        EmpiricalDist,
    ],
)
def test_inline_shapes_are_documented(cls: type) -> None:
    """Stage and range fields appear in the document (in their tables or examples)."""
    for field in attrs.fields(cls):
        assert f'"{field.name}"' in DOC or f"`{field.name}`" in DOC, field.name
