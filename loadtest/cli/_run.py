"""`loadtest run`: resolve the profile, run the engine, write every output.

Wiring only: the engine measures, `loadtest.report` renders, this module
writes files and maps the outcome to an exit code (0 ok, 2 bad input,
3 thresholds failed, 4 generator unhealthy with --strict-health, 5 no steady
turn succeeded, 130 stopped by Ctrl-C/SIGTERM, 1 runtime failure (an output
not written in --out) or a target that failed the pre-flight request).

Everything is checked before anything starts: the profile and flags, the
mock's flags (with the mock's own parser) and --out; then the mock starts,
then the pre-flight request per target, then the engine. What was measured
is written even when the run is stopped by signals (`_signals`) or its disk
fills up (`_outputs`, the JSONL sink); the mock is stopped after that.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import orjson
import trio
import typer

from loadtest.cli._app import DEBUG_OPTION, _state, command
from loadtest.cli._mock import parse_mock_args
from loadtest.cli._options import (
    HEADER_OPTION,
    MODEL_OPTION,
    PROFILE_ARGUMENT,
    SEED_OPTION,
    STAGES_OPTION,
    TARGET_OPTION,
    VK_OPTION,
    WARMUP_OPTION,
    plan_from_options,
)
from loadtest.cli._outputs import OutputPaths, prepare_outputs, write_outputs
from loadtest.cli._preflight import preflight
from loadtest.cli._progress import show_progress
from loadtest.cli._signals import StopSignals
from loadtest.config import Profile, dump_profile, load_profile, redact_profile
from loadtest.engine import JsonlSink, RunResult, open_engine
from loadtest.errors import (
    EXIT_GENERATOR_HEALTH,
    EXIT_INTERRUPTED,
    EXIT_NO_SUCCESS,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_THRESHOLDS,
    ConfigError,
)
from loadtest.mock import run_mock_process
from loadtest.report import (
    build_summary,
    render_csv,
    render_html,
    render_prometheus,
    render_text,
    run_info,
    thresholds_failed,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from loadtest.config import RunPlan
    from loadtest.engine import Engine

__all__ = ["run"]

OUT_OPTION: Any = typer.Option(Path("runs"), "--out", help="Directory for the run's outputs.")
QUIET_OPTION: Any = typer.Option(False, "--quiet", "-q", help="No live progress.")
MOCK_OPTION: Any = typer.Option(
    False,
    "--mock",
    help="Start the built-in mock upstream on a free loopback port and point every "
    "scenario at it (each keeps its protocol's path); stop it afterwards.",
)
STRICT_HEALTH_OPTION: Any = typer.Option(
    False,
    "--strict-health",
    help="Exit 4 when the generator was not healthy (suspect or generator-bound) in any stage.",
)
START_AT_OPTION: Any = typer.Option(
    None,
    "--start-at",
    help="Unix time (seconds) at which the first stage starts; processes given the same "
    "value start together (multi-service.py uses it). Default: at once.",
)
WATCH_STDIN_OPTION: Any = typer.Option(
    False,
    "--watch-stdin",
    help="Stop (as on SIGTERM: end the stage, write outputs) when standard input, a pipe "
    "held by a supervisor, closes: a child run must not outlive its parent.",
)
NO_PREFLIGHT_OPTION: Any = typer.Option(
    False,
    "--no-preflight",
    help="Skip the pre-flight request (one per distinct target and protocol, before any "
    "load, not counted in the results) that stops the run with exit 1 when a target is "
    "dead or refuses the request.",
)
MOCK_ARGS_OPTION: Any = typer.Option(
    "", "--mock-args", help="Flags for the mock with --mock, e.g. '--ttft 200ms --itl 20ms'."
)


def _mock_args(mock: bool, mock_args: str, target: str | None) -> list[str] | None:
    """The mock's flags with --mock (checked with the mock's own parser), else None."""
    if not mock:
        if mock_args:
            raise ConfigError("--mock-args: only used with --mock")
        return None
    if target is not None:
        raise ConfigError("--mock and --target: choose one (--mock sets the target)")
    try:
        args = shlex.split(mock_args)
        parse_mock_args(args)
    except ValueError as exc:  # shlex: an unclosed quote
        raise ConfigError(f"--mock-args: {exc}") from None
    except ConfigError as exc:
        raise ConfigError([f"--mock-args: {line}" for line in exc.problems]) from None
    return args


@contextlib.contextmanager
def _upstream(mock_args: list[str] | None) -> Iterator[str | None]:
    """The mock's URL while it runs (with --mock), else None."""
    if mock_args is None:
        yield None
        return
    with run_mock_process(mock_args) as url:
        print(f"mock upstream: {url}", file=sys.stderr)
        yield url


#: The target a --mock run's plan is checked with before the mock starts.
_MOCK_PLACEHOLDER = "http://127.0.0.1:9"


@command
def run(
    profile: Path = PROFILE_ARGUMENT,
    target: str | None = TARGET_OPTION,
    model: str | None = MODEL_OPTION,
    vk: str | None = VK_OPTION,
    header: list[str] | None = HEADER_OPTION,
    stages: str | None = STAGES_OPTION,
    seed: int | None = SEED_OPTION,
    warmup: str | None = WARMUP_OPTION,
    out: Path = OUT_OPTION,
    quiet: bool = QUIET_OPTION,
    mock: bool = MOCK_OPTION,
    mock_args: str = MOCK_ARGS_OPTION,
    start_at: float | None = START_AT_OPTION,
    strict_health: bool = STRICT_HEALTH_OPTION,
    watch_stdin: bool = WATCH_STDIN_OPTION,
    no_preflight: bool = NO_PREFLIGHT_OPTION,
    debug: bool = DEBUG_OPTION,
) -> None:
    """Run PROFILE: every stage in turn, then write the JSONL, summary and report.

    Exit codes: 0 ok; 1 runtime failure (an output could not be written), or
    a target failed the pre-flight request (nothing else sent); 2 bad profile
    or flags; 3 a threshold failed; 4 generator unhealthy (with
    --strict-health); 5 no steady turn succeeded (outputs are written); 130
    stopped by Ctrl-C or SIGTERM (what was measured is still written).
    """
    signals = StopSignals()
    with signals.installed(keep=_state["program"]):
        try:
            mock_flags = _mock_args(mock, mock_args, target)

            def plan_for(effective_target: str | None) -> RunPlan:
                return plan_from_options(
                    profile,
                    target=effective_target,
                    model=model,
                    vk=vk,
                    headers=header,
                    stages=stages,
                    seed=seed,
                    warmup=warmup,
                )

            plan = plan_for(_MOCK_PLACEHOLDER if mock else target)
            placeholders = [] if mock else plan.placeholder_problems()
            if placeholders:
                raise ConfigError([f"{line} (nothing was sent)" for line in placeholders])
            source = load_profile(profile) if mock else None
            paths = prepare_outputs(out, max(time.time(), start_at or 0.0))
            with _upstream(mock_flags) as mock_url:
                if mock_url is not None:
                    plan = plan_for(mock_url)
                for warning in plan.warnings:
                    print(f"loadtest: warning: {warning}", file=sys.stderr)
                if not no_preflight:
                    preflight(plan)
                options = _RunOptions(quiet=quiet, start_at=start_at, watch_stdin=watch_stdin)
                signals.phase = "running"
                result, sink = trio.run(_run_engine, plan, paths, options, signals)
                signals.phase = "writing"
                rerun = _Rerun(source, mock_args) if source is not None else None
                summary, failed = _write_outputs(plan, result, sink, paths, rerun)
        except KeyboardInterrupt:
            name = signals.received[-1] if signals.received else "SIGINT"
            print(f"loadtest: {name}: stopped before any load was sent", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
    if failed:
        raise typer.Exit(EXIT_RUNTIME)
    if signals.received:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(exit_code(summary, strict_health=strict_health))


@attrs.frozen
class _RunOptions:
    quiet: bool = False
    start_at: float | None = None
    watch_stdin: bool = False


#: A run starting later than this after --start-at gets a warning.
_LATE_START_S = 0.1


async def _run_engine(
    plan: RunPlan, paths: OutputPaths, options: _RunOptions, signals: StopSignals
) -> tuple[RunResult, JsonlSink]:
    sink = JsonlSink(paths.jsonl, on_failure=_jsonl_failed)
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        async with open_engine(plan, sink=sink) as engine:
            for warning in engine.warnings:
                print(f"loadtest: warning: {warning}", file=sys.stderr)
            nursery.start_soon(signals.watch, engine)
            if options.watch_stdin:
                nursery.start_soon(_watch_stdin, engine)
            if options.start_at is not None:
                await _wait_for_start(options.start_at, engine)
            if not options.quiet:
                nursery.start_soon(show_progress, engine)
            result = await engine.run()
        nursery.cancel_scope.cancel()
    return result, sink


def _jsonl_failed(message: str) -> None:
    print(
        f"\nloadtest: error: {message}: JSONL writing stopped; the run goes on measuring",
        file=sys.stderr,
    )


async def _wait_for_start(start_at: float, engine: Engine) -> None:
    """Sleep until `start_at` (Unix seconds), unless a stop comes first."""
    late_s = time.time() - start_at
    if late_s > _LATE_START_S:
        print(
            f"loadtest: warning: starting {late_s * 1000:.0f} ms after --start-at "
            "(a shared start time is only shared when every process is early)",
            file=sys.stderr,
        )
    with trio.move_on_after(max(start_at - time.time(), 0.0)):
        await engine.wait_stop_requested()


async def _watch_stdin(engine: Engine) -> None:
    """Stop the run when standard input (a supervisor's pipe) closes."""
    async with trio.lowlevel.FdStream(os.dup(0)) as stdin:
        while await stdin.receive_some(4096):
            pass
    print("loadtest: standard input closed: stopping", file=sys.stderr)
    engine.request_stop()


def exit_code(summary: dict[str, Any], *, strict_health: bool) -> int:
    """The run's exit code: stopped early, no steady turn succeeded,
    thresholds, then generator health."""
    if summary["run"]["stopped_early"]:
        return EXIT_INTERRUPTED
    if not any(stage["total"]["ok"] for stage in summary["stages"]):
        return EXIT_NO_SUCCESS
    if thresholds_failed(summary.get("thresholds", [])):
        return EXIT_THRESHOLDS
    verdicts = {stage.get("health", {}).get("verdict", "ok") for stage in summary["stages"]}
    if strict_health and verdicts - {"ok"}:
        return EXIT_GENERATOR_HEALTH
    return EXIT_OK


@attrs.frozen
class _Rerun:
    """How a --mock run is run again: its profile as loaded, and the mock's flags."""

    source: Profile
    mock_args: str


def _written_profile(plan: RunPlan, file_name: str, rerun: _Rerun | None) -> str:
    """The profile as run (named as it ran), with how to run it again. A
    --mock run keeps the profile's own targets (not the mock's passing port)
    and records the mock's flags in the command."""
    profile = attrs.evolve(plan.profile, name=plan.name)
    header = "# The profile this run used: command-line overrides applied, secrets masked (***).\n"
    if rerun is None:
        header += (
            "# Run it again with: loadtest run <this file> --vk ... (supply masked keys again).\n"
        )
    else:
        source = rerun.source.scenarios
        targets = [s.target for s in source] if source else [None]
        scenarios = tuple(
            attrs.evolve(scenario, target=target)
            for scenario, target in zip(profile.scenarios or (), targets, strict=True)
        )
        profile = attrs.evolve(profile, scenarios=scenarios)
        command = ["loadtest", "run", file_name, "--mock"]
        if rerun.mock_args:
            command += ["--mock-args", rerun.mock_args]
        header += (
            "# It ran against the built-in mock upstream; run it again as it ran with:\n"
            f"#   {shlex.join(command)}\n"
        )
    return header + dump_profile(redact_profile(profile))


def _write_outputs(
    plan: RunPlan, result: RunResult, sink: JsonlSink, paths: OutputPaths, rerun: _Rerun | None
) -> tuple[dict[str, Any], bool]:
    """Write every output (see `write_outputs` for where); the summary, and
    whether anything could not be written in --out."""
    info = run_info(
        result, jsonl_lines=sink.lines, sink_overflow=sink.overflow, jsonl_lost_lines=sink.lost
    )
    summary = build_summary(plan, result, info)
    report = render_text(summary)
    summary_json = orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n"
    profile_name = paths.path("profile", "toml").name
    files = {
        paths.path("summary", "json").name: summary_json,
        paths.path("report", "txt").name: report,
        paths.path("report", "csv").name: render_csv(summary),
        paths.path("report", "html").name: render_html(summary),
        paths.path("metrics", "prom").name: render_prometheus(summary),
        profile_name: _written_profile(plan, profile_name, rerun),
    }
    outcome = write_outputs(paths, files)
    summary_lost = paths.path("summary", "json").name in outcome.lost
    sys.stdout.write(report)
    if summary_lost:
        sys.stdout.write(summary_json)
    print("outputs:", file=sys.stderr)
    for path in (paths.jsonl, *outcome.written):
        print(f"  {path}", file=sys.stderr)
    for failure in outcome.failures:
        print(f"loadtest: error: {failure}", file=sys.stderr)
    if outcome.fallback is not None:
        print(
            f"loadtest: error: what could not be written in {paths.directory} "
            f"is in {outcome.fallback}",
            file=sys.stderr,
        )
    if outcome.lost:
        where = "; the summary is on standard output, after the report" if summary_lost else ""
        lost = ", ".join(outcome.lost)
        print(f"loadtest: error: written nowhere: {lost}{where}", file=sys.stderr)
    if sink.error is not None:
        print(
            f"loadtest: error: {sink.error}: the JSONL holds {sink.lines:,} whole lines; "
            f"{sink.lost:,} were lost",
            file=sys.stderr,
        )
    return summary, bool(outcome.failures or sink.error)
