"""`loadtest run --cluster`: what is refused before anything starts (exit
2, one line, nothing sent, no connection to any scheduler)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.errors import EXIT_USAGE

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()

PROFILE: dict[str, Any] = {
    "name": "cluster-checks",
    "stages": ["2:1s"],
    "defaults": {"model": "m", "content": {"mode": "pool", "prompts": ["hi"]}},
}
#: Nothing listens there: a test that connected would fail, not hang.
ADDRESS = "tcp://127.0.0.1:9"


def run_cli(tmp_path: Path, *args: str) -> Any:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PROFILE))
    out = tmp_path / "out"
    return runner.invoke(app, ["run", str(path), "-q", "--out", str(out), *args])


def test_without_dask_cluster_names_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    args = ["--target", "http://127.0.0.1:9", "--cluster", ADDRESS, "--workers", "2"]
    result = run_cli(tmp_path, *args)
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.splitlines() == [
        "loadtest: error: --cluster needs Dask, which is not installed: "
        "pip install 'loadtest-llm[cluster]'"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--mock", "--cluster", ADDRESS, "--workers", "2"],
            "--mock and --cluster: the mock would run on this host only",
        ),
        (["--target", "http://127.0.0.1:9", "--cluster", ADDRESS], "give the number of shards"),
        (
            ["--target", "http://127.0.0.1:9", "--cluster", ADDRESS, "--segment", "0/2"],
            "--cluster: give the number",
        ),
        (
            [
                "--target",
                "http://127.0.0.1:9",
                "--cluster",
                ADDRESS,
                "--segment",
                "0/2",
                "--workers",
                "1",
            ],
            "--segment and --cluster: choose one",
        ),
        (
            ["--target", "http://127.0.0.1:9", "--cluster", "127.0.0.1:8786", "--workers", "2"],
            "--cluster '127.0.0.1:8786': expected a Dask scheduler address, tcp://HOST:PORT",
        ),
        (
            ["--target", "http://127.0.0.1:9", "--cluster", "tcp://h:8786/x", "--workers", "2"],
            "expected a Dask scheduler address",
        ),
        (
            ["--target", "http://127.0.0.1:9", "--cluster", "tcp://h:port", "--workers", "2"],
            "expected a Dask scheduler address",
        ),
        (
            ["--target", "http://127.0.0.1:9", "--workers", "2", "--metrics-port", "0"],
            "--metrics-port with --workers or --cluster: not together yet",
        ),
        (
            [
                *("--target", "http://127.0.0.1:9", "--cluster", ADDRESS),
                *("--workers", "2", "--metrics-port", "0"),
            ],
            "--metrics-port with --workers or --cluster: not together yet",
        ),
    ],
)
def test_cluster_flags_refused_before_anything_starts(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli(tmp_path, *args)
    assert result.exit_code == EXIT_USAGE, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("loadtest: error: ")
    assert message in line
    assert not (tmp_path / "out").exists()
