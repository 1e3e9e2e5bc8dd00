"""`loadtest` itself: `--version`, `python -m loadtest`, and the names it is
installed under."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from loadtest import __version__
from loadtest.cli import app

ROOT = Path(__file__).parents[3]
runner = CliRunner()


def test_version_prints_the_version_and_exits_0() -> None:
    """`loadtest --version` prints `loadtest <__version__>` and nothing else."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"loadtest {__version__}\n"


def test_version_comes_before_any_command_check() -> None:
    """`--version` is eager: it wins over a missing command or a later --help."""
    result = runner.invoke(app, ["--version", "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"loadtest {__version__}\n"


def test_python_dash_m_loadtest_runs_the_command_line() -> None:
    """`python -m loadtest --help` lists the commands; `--version` works there too."""
    for args, expected in ((["--help"], "validate"), (["--version"], f"loadtest {__version__}")):
        done = subprocess.run(
            [sys.executable, "-m", "loadtest", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout


def test_distribution_name_differs_from_the_import_name() -> None:
    """The package index already has an unrelated `loadtest`: the distribution is
    `loadtest-llm`, the command stays `loadtest`, the version has one source,
    and the README says how to install it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "loadtest-llm"
    assert project["scripts"] == {"loadtest": "loadtest.cli:main"}
    assert "version" in project["dynamic"]
    assert "loadtest-llm" in (ROOT / "README.md").read_text()


def test_run_help_names_every_cause_of_exit_1() -> None:
    """`run --help` lists exit 1's causes as the README does, the scaled-out
    ones included."""
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "400"})
    text = " ".join(result.output.split())
    exit_1 = text[text.index("Exit codes:") : text.index("2 bad profile")]
    for cause in ("an output could not be written", "the mock could not start", "--workers"):
        assert cause in exit_1, cause
