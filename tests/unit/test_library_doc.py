"""docs/library.md: every recipe it names is a file in examples/, and every
public name it lists is exported from `loadtest`."""

from __future__ import annotations

import re
from pathlib import Path

import loadtest

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "library.md").read_text()


def test_every_linked_example_exists() -> None:
    linked = re.findall(r"\]\(\.\./(examples/[\w/]+\.py)\)", DOC)
    assert {
        "examples/ramp_until_ttft.py",
        "examples/chaos_restart.py",
        "examples/protocol_plugin.py",
    } <= set(linked)
    for path in linked:
        assert (ROOT / path).is_file(), path


def test_the_name_table_is_the_namespace() -> None:
    """The table of public names lists exactly what `loadtest` exports."""
    table = DOC.split("## The public names", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    listed = set()
    for row in rows[1:]:
        names_cell = row.split("|")[2]
        listed |= set(re.findall(r"`(\w+)", names_cell))
    listed -= {"loadtest"}  # `loadtest.testing` is a package, named in the text
    assert listed == set(loadtest.__all__) - {"__version__"}
