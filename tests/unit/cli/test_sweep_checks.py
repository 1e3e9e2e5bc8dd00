"""`loadtest sweep` checks its input before it starts anything: SLOs
required, its own options, the profile and the mock's flags; and its exit
codes from the summary it wrote."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from loadtest.cli import _run as run_module
from loadtest.cli import _sweep as sweep_module
from loadtest.cli import app
from loadtest.cli._sweep import _probe_line, exit_code
from loadtest.engine import JsonlSink, RunResult
from loadtest.errors import (
    EXIT_INTERRUPTED,
    EXIT_NO_SUCCESS,
    EXIT_OK,
    EXIT_THRESHOLDS,
    EXIT_USAGE,
)
from loadtest.report import KneeDoc, ProbeDoc, SweepDoc
from loadtest.sweep import SweepOutcome

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()

PROFILE: dict[str, Any] = {
    "name": "checks",
    "defaults": {"model": "mock-model", "content": {"mode": "pool", "prompts": ["hi"]}},
}


@pytest.fixture(autouse=True)
def no_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the sweep starts the mock."""

    def refuse(args: Any) -> Any:
        raise AssertionError(f"the mock was started with {args}")

    monkeypatch.setattr(run_module, "run_mock_process", refuse)


def sweep_cli(tmp_path: Path, *args: str, profile: dict[str, Any] | None = None) -> Any:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile or PROFILE))
    return runner.invoke(
        app, ["sweep", str(path), "--mock", "-q", "--out", str(tmp_path / "o"), *args]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "sweep: no SLO: pass --slo (e.g. --slo 'ttft<=300ms') or set the profile's slo"),
        (("--slo", "ttft<300ms"), '--slo: SLO "ttft<300ms": expected METRIC<=DURATION'),
        (("--slo", "ttft<=1s", "--goodput-target", "0"), "sweep: the goodput target is above 0"),
        (("--slo", "ttft<=1s", "--precision", "1.5"), "sweep: the precision is above 0"),
        (
            ("--slo", "ttft<=1s", "--min-rate", "9", "--max-rate", "3"),
            "sweep: the min rate (9/s) is above the max rate (3/s)",
        ),
        (("--slo", "ttft<=1s", "--probe-duration", "500ms"), "--probe-duration: at least 1s"),
        (
            ("--slo", "ttft<=1s", "--probe-duration", "soon"),
            "--probe-duration: expected a duration",
        ),
        (("--slo", "ttft<=1s", "--warmup", "x"), "--warmup: expected a duration"),
        (
            ("--slo", "ttft<=1s", "--ceiling-vus", "0"),
            "sweep: the ceiling probe needs 1 to 100,000 VUs",
        ),
        (
            ("--slo", "ttft<=1s", "--ceiling-vus", "100001"),
            "sweep: the ceiling probe needs 1 to 100,000 VUs",
        ),
        (
            ("--slo", "ttft<=1s", "--probe-duration", "2s", "--warmup", "2s"),
            "sweep: the warm-up (2s) leaves each probe (2s) no steady window",
        ),
        (("--slo", "ttft<=1s", "--mock-args", "--ttfx 1s"), "--mock-args: No such option: --ttfx"),
    ],
)
def test_bad_input_exits_2_before_anything_starts(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = sweep_cli(tmp_path, *args)
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.stderr.splitlines()[0].startswith(f"loadtest: error: {message}")
    assert not (tmp_path / "o").exists()


def test_the_profile_slo_is_enough_and_checked(tmp_path: Path) -> None:
    result = sweep_cli(tmp_path, profile={**PROFILE, "slo": ["ttft<=1s", "nope<=1s"]})
    assert result.exit_code == EXIT_USAGE
    assert '$.slo: SLO "nope<=1s": unknown metric "nope"' in result.stderr


def _summary(ok: int = 1, knee: float | None = 10.0, stopped: bool = False) -> dict[str, Any]:
    return {
        "run": {"stopped_early": stopped},
        "stages": [{"total": {"ok": ok}}],
        "sweep": {"knee": {"rate_rps": knee}},
    }


def test_exit_codes() -> None:
    assert exit_code(_summary(), stopped=False) == EXIT_OK
    assert exit_code(_summary(knee=None), stopped=False) == EXIT_THRESHOLDS
    assert exit_code(_summary(ok=0, knee=None), stopped=False) == EXIT_NO_SUCCESS
    assert exit_code(_summary(stopped=True), stopped=False) == EXIT_INTERRUPTED
    assert exit_code(_summary(), stopped=True) == EXIT_INTERRUPTED


@pytest.mark.parametrize("command", ["run", "validate"])
def test_run_and_validate_take_slo(tmp_path: Path, command: str) -> None:
    """`--slo` reaches the plan of `run` and `validate` (a bad one: exit 2, nothing sent)."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**PROFILE, "stages": ["1:1s"]}))
    extra = ["--mock", "-q", "--out", str(tmp_path / "o")] if command == "run" else []
    result = runner.invoke(
        app, [command, str(path), *extra, "--slo", "ttft<=1s", "--slo", "p9<=1s"]
    )
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith('loadtest: error: --slo: SLO "p9<=1s": unknown metric "p9"')


def test_the_sweep_section_reaches_the_summary_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep's outcome is written as the summary's `sweep` (not mixed
    into `run.generator`), and the text report starts with the knee."""
    knee = KneeDoc(rate_rps=None, stage=None, next_failed_because=None, note="no rate passed")
    doc = SweepDoc(slo=["ttft<=1s"], goodput_target=0.9, probes=[], knee=knee)

    async def no_engine(plan: Any, paths: Any, options: Any, signals: Any) -> Any:
        result = RunResult(
            plan=plan, stages=(), started_unix_s=1.0, ended_unix_s=2.0, stopped_early=False
        )
        return result, SweepOutcome(stages=(), sweep=doc), JsonlSink(paths.jsonl)

    monkeypatch.setattr(sweep_module, "_sweep_engine", no_engine)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PROFILE))
    out = tmp_path / "o"
    target = ["--target", "http://127.0.0.1:9/v1", "--no-preflight", "--vk", "k"]
    result = runner.invoke(
        app, ["sweep", str(path), *target, "-q", "--slo", "ttft<=1s", "--out", str(out)]
    )
    assert result.exit_code == EXIT_NO_SUCCESS, result.output
    (summary_path,) = out.glob("summary-*.json")
    summary = json.loads(summary_path.read_text())
    assert summary["sweep"]["knee"]["note"] == "no rate passed"
    assert "probes" not in summary["run"]["generator"]
    (report,) = out.glob("report-*.txt")
    assert "Sweep:" in report.read_text()


@pytest.mark.parametrize(
    ("passed", "reason", "verdict"),
    [(True, None, "pass"), (False, "slo", "fail (slo)"), (False, None, "stopped (not judged)")],
)
def test_the_probe_line_says_a_stopped_probe_was_not_judged(
    passed: bool, reason: str | None, verdict: str
) -> None:
    probe = ProbeDoc(
        stage=2,
        kind="rate",
        offered_rps=8.0,
        achieved_rps=None,
        goodput=0.5,
        ttft_p50_ms=None,
        ttft_p99_ms=None,
        latency_p99_ms=None,
        health="ok",
        passed=passed,
        reason=reason,
    )
    assert _probe_line(probe) == (
        f"loadtest: sweep: stage 3 rate 8/s: goodput 50.0%, achieved -, generator ok: {verdict}"
    )
