"""`http.ca_bundle` is checked before anything is sent: exit 2 with a clear
error, instead of every turn recorded as the gateway's conn_refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

import certifi
import pytest
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.errors import EXIT_USAGE

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()


def _profile(tmp_path: Path, bundle: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(
        'stages = ["1:1s"]\n[defaults]\ntarget = "https://gw.test"\nmodel = "m"\n'
        f"[http]\nca_bundle = {bundle!r}\n"
    )
    return path


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ("missing.pem", 'no such file: "'),
        (".", "is a directory, not a PEM file"),
        ("not-pem.pem", "is not a PEM bundle of CA certificates"),
        ("empty.pem", "is not a PEM bundle of CA certificates"),
    ],
)
def test_unusable_ca_bundle_is_refused(tmp_path: Path, bundle: str, message: str) -> None:
    """A missing file, a directory, a non-PEM or an empty file: exit 2, one line."""
    (tmp_path / "not-pem.pem").write_text("hello\n")
    (tmp_path / "empty.pem").write_text("")
    result = runner.invoke(app, ["validate", str(_profile(tmp_path, str(tmp_path / bundle)))])
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.stderr.startswith("loadtest: error: $.http.ca_bundle: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_real_ca_bundle_is_accepted(tmp_path: Path) -> None:
    """A PEM file of CA certificates validates."""
    result = runner.invoke(app, ["validate", str(_profile(tmp_path, certifi.where()))])
    assert result.exit_code == 0, result.output
