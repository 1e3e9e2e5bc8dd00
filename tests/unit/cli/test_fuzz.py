"""Fuzzing `validate` with seeded mutations of the shipped profiles: it
accepts or refuses each one cleanly, never with a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.config import (
    Overrides,
    describe_plan,
    dump_profile,
    parse_profile,
    redact_profile,
    resolve,
)
from loadtest.engine._scenario import build_runtime
from loadtest.errors import EXIT_USAGE, ConfigError
from loadtest.report import RunInfo, build_summary
from tests.fuzz import mutants

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()


def test_validate_never_tracebacks_on_mutated_profiles(tmp_path: Path) -> None:
    """300 mutants: each exits 0 (with a plan) or 2 (with `loadtest: error:`
    lines only), and nothing escapes as an exception."""
    outcomes = {0: 0, EXIT_USAGE: 0}
    for name, text in mutants(seed=20261129, count=300):
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        result = runner.invoke(app, ["validate", str(path)], env={"LOADTEST_VK": None})
        assert result.exit_code in outcomes, (name, text[:300], result.output[-2000:])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            name,
            text[:300],
        )
        outcomes[result.exit_code] += 1
        if result.exit_code == EXIT_USAGE:
            assert result.stderr.startswith("loadtest: error: "), (name, result.stderr)
        else:
            assert "stages (warm-up" in result.stdout
    assert outcomes[0] > 10  # the mutations are not all fatal
    assert outcomes[EXIT_USAGE] > 100


def test_accepted_mutants_survive_what_run_does_with_a_plan(tmp_path: Path) -> None:
    """For each accepted mutant, everything `run` does with the plan besides
    sending works: the plan prints as UTF-8, every scenario's request head is
    built, the summary serialises, and the written profile reads back."""
    accepted = 0
    for name, text in mutants(seed=7, count=300):
        try:
            profile = parse_profile(text, "json", source=name)
            plan = resolve(profile, Overrides(), env={})
        except ConfigError:
            continue
        accepted += 1
        describe_plan(plan).encode("utf-8")
        for index, scenario in enumerate(plan.scenarios):
            build_runtime(
                index,
                scenario,
                correlation_header=plan.correlation.header,
                total_timeout_s=plan.timeouts.total.seconds,
                keepalive=plan.http.keepalive,
            )
        summary = build_summary(plan, [], RunInfo(started_unix_s=0.0, ended_unix_s=1.0))
        orjson.dumps(summary)
        written = dump_profile(redact_profile(plan.profile))
        assert parse_profile(written, "toml") == redact_profile(plan.profile), name
    assert accepted > 10
