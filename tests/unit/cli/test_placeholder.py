"""No placeholder key on the wire: `--vk` fills every placeholder secret
header; `run` refuses a request that would carry `REPLACE_WITH_VK` (but to
its own --mock); `validate` warns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.config import Overrides, parse_profile, resolve
from loadtest.errors import EXIT_USAGE

PROFILES = Path(__file__).parents[3] / "profiles"
runner = CliRunner()
SECRET_HEADERS = [
    ("Authorization", "Bearer REPLACE_WITH_VK", "Bearer sk-vk-1"),
    ("x-api-key", "REPLACE_WITH_VK", "sk-vk-1"),
    ("api-key", "REPLACE_WITH_VK", "sk-vk-1"),
]


def _profile_text(name: str, value: str) -> str:
    return json.dumps(
        {
            "stages": ["1:1s"],
            "defaults": {"target": "http://gw.test", "model": "m"},
            "scenarios": [{"name": "plain"}, {"name": "keyed", "headers": {name: value}}],
        }
    )


@pytest.mark.parametrize(("name", "value", "filled"), SECRET_HEADERS)
def test_vk_fills_each_placeholder_secret_header(name: str, value: str, filled: str) -> None:
    """`--vk` replaces the placeholder where it stands (keeping `Bearer `) and
    gives a scenario without one `Authorization: Bearer <vk>`."""
    plan = resolve(parse_profile(_profile_text(name, value), "json"), Overrides(vk="sk-vk-1"))
    keyed = dict(plan.scenarios[1].headers)
    assert keyed[name] == filled
    assert "Authorization" not in keyed or name == "Authorization"
    assert dict(plan.scenarios[0].headers) == {"Authorization": "Bearer sk-vk-1"}
    assert plan.placeholder_problems() == []


@pytest.mark.parametrize(("name", "value", "_filled"), SECRET_HEADERS)
def test_run_refuses_the_placeholder_for_each_secret_header(
    tmp_path: Path, name: str, value: str, _filled: str
) -> None:
    """Without a key, `run` exits 2 naming the scenario and the header, and
    creates no output (nothing was sent)."""
    path = tmp_path / "p.json"
    path.write_text(_profile_text(name, value))
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["run", str(path), "--out", str(out), "-q"], env={"LOADTEST_VK": None}
    )
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"scenario 'keyed': header {name} holds the placeholder REPLACE_WITH_VK" in result.stderr
    assert "--vk or LOADTEST_VK" in result.stderr
    assert not out.exists()


def test_cross_ingress_anthropic_scenario_gets_the_key() -> None:
    """The shipped cross-ingress profile sends the key, not the placeholder,
    in its Anthropic scenario's x-api-key."""
    profile = parse_profile((PROFILES / "cross-ingress.json").read_bytes(), "json")
    plan = resolve(profile, Overrides(vk="sk-vk-1"))
    headers = {s.name: dict(s.headers) for s in plan.scenarios}
    assert headers["anthropic-ingress"]["x-api-key"] == "sk-vk-1"
    assert headers["openai-ingress"]["Authorization"] == "Bearer sk-vk-1"
    assert plan.placeholder_problems() == []


def test_validate_warns_about_the_placeholder() -> None:
    """`validate` without a key prints the plan (exit 0) and one warning per
    placeholder header."""
    result = runner.invoke(
        app, ["validate", str(PROFILES / "cross-ingress.json")], env={"LOADTEST_VK": None}
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stdout.splitlines() if "REPLACE_WITH_VK" in line]
    assert len(warnings) == 2
    assert all(line.startswith("warning: scenario ") for line in warnings)
