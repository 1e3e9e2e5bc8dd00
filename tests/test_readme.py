"""The README's first two commands are exactly what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return [
        next(line for line in block.splitlines() if line and not line.startswith("#"))
        for block in blocks[:2]
    ]


def test_ci_runs_the_readme_commands_verbatim() -> None:
    """.ci/run contains both README commands, character for character."""
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    main_job, tests = readme_commands()
    assert tests in ci
    assert main_job in ci
    assert "pytest" in tests
    assert "--mock" in main_job


def test_readme_commands_come_first() -> None:
    """The two commands are the first thing in the README, after its title."""
    text = (ROOT / "README.md").read_text()
    assert text.index("```sh") < text.index("A scenario-driven load generator")
