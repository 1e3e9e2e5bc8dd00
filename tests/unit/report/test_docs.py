"""docs/reports.md names every CSV column, Prometheus family and threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.report import CSV_COLUMNS, THRESHOLD_NAMES
from loadtest.report._schema import PROM_FAMILIES

DOC = (Path(__file__).parents[3] / "docs" / "reports.md").read_text()
FAMILIES = [f.name for f in PROM_FAMILIES]


@pytest.mark.parametrize("column", CSV_COLUMNS)
def test_every_csv_column_is_documented(column: str) -> None:
    """Each CSV column appears in docs/reports.md."""
    assert f"`{column}`" in DOC


@pytest.mark.parametrize("family", FAMILIES)
def test_every_prometheus_family_is_documented(family: str) -> None:
    """Each Prometheus family appears in docs/reports.md by its exposed name."""
    assert f"`{family}`" in DOC


@pytest.mark.parametrize("name", THRESHOLD_NAMES)
def test_every_threshold_is_documented(name: str) -> None:
    """Each threshold name appears in docs/reports.md."""
    assert f"`{name}`" in DOC
