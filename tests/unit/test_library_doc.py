"""docs/library.md: every recipe it names is a file in examples/, and every
public name it lists is exported from `loadtest`."""

from __future__ import annotations

import re
from pathlib import Path

import loadtest
from loadtest.metrics import Metric, StageRecorder
from tests.unit.metrics.test_recorder import freeze, turn
from tests.unit.report import builders

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


def _block_starting(first_line: str) -> str:
    """The python code block of the doc whose first line is `first_line`."""
    blocks = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
    found = [block for block in blocks if block.startswith(first_line)]
    assert len(found) == 1, first_line
    return found[0]


def test_the_snapshot_block_reads_a_real_snapshot() -> None:
    """Every read the doc shows on a frozen snapshot works."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(ttft_us=200_000))
    snapshot = freeze(recorder)
    exec(_block_starting("stats = snapshot.total"), {"snapshot": snapshot, "Metric": Metric})


def test_render_text_output_ends_in_the_newline_the_doc_says() -> None:
    """The doc prints it with `end=""` because the text ends in a newline."""
    assert 'print(loadtest.render_text(summary), end="")' in DOC
    text = loadtest.render_text(
        builders.summary([builders.snapshot([builders.turn(0)] * 3, concurrency=1)])
    )
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
