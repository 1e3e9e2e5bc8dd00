"""`loadtest run`: resolve the profile, run the engine, write every output.

Wiring only: the engine measures, `loadtest.report` renders, this module
writes files and maps the outcome to an exit code (0 ok, 2 bad input,
3 thresholds failed, 4 generator unhealthy with --strict-health, 130 stopped
by Ctrl-C/SIGTERM, 1 runtime failure). Results already collected are
written even when the run is stopped early.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import orjson
import trio
import typer

from loadtest.cli._app import DEBUG_OPTION, command
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
from loadtest.cli._outputs import OutputPaths, prepare_outputs, write_text
from loadtest.cli._progress import show_progress
from loadtest.config import dump_profile, redact_profile
from loadtest.engine import JsonlSink, RunResult, open_engine
from loadtest.errors import (
    EXIT_GENERATOR_HEALTH,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_THRESHOLDS,
    ConfigError,
)
from loadtest.mock import run_mock_process
from loadtest.report import (
    RunInfo,
    build_summary,
    evaluate_thresholds,
    render_csv,
    render_prometheus,
    render_text,
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
MOCK_ARGS_OPTION: Any = typer.Option(
    "", "--mock-args", help="Flags for the mock with --mock, e.g. '--ttft 200ms --itl 20ms'."
)


@contextlib.contextmanager
def _upstream(mock: bool, mock_args: str, target: str | None) -> Iterator[str | None]:
    if not mock:
        if mock_args:
            raise ConfigError("--mock-args: only used with --mock")
        yield target
        return
    if target is not None:
        raise ConfigError("--mock and --target: choose one (--mock sets the target)")
    with run_mock_process(shlex.split(mock_args)) as url:
        print(f"mock upstream: {url}", file=sys.stderr)
        yield url


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
    debug: bool = DEBUG_OPTION,
) -> None:
    """Run PROFILE: every stage in turn, then write the JSONL, summary and report.

    Exit codes: 0 ok; 1 runtime failure; 2 bad profile or flags; 3 a threshold
    failed; 4 generator unhealthy (with --strict-health); 130 stopped by
    Ctrl-C or SIGTERM (outputs are still written).
    """
    with _upstream(mock, mock_args, target) as effective_target:
        plan = plan_from_options(
            profile,
            target=effective_target,
            model=model,
            vk=vk,
            headers=header,
            stages=stages,
            seed=seed,
            warmup=warmup,
        )
        if not mock and plan.placeholder_problems():
            raise ConfigError(
                [f"{line} (nothing was sent)" for line in plan.placeholder_problems()]
            )
        for warning in plan.warnings:
            print(f"loadtest: warning: {warning}", file=sys.stderr)
        paths = prepare_outputs(out, max(time.time(), start_at or 0.0))
        try:
            options = _RunOptions(quiet=quiet, start_at=start_at, watch_stdin=watch_stdin)
            result, sink = trio.run(_run_engine, plan, paths, options)
        except KeyboardInterrupt:
            print("loadtest: aborted; the JSONL holds the turns finished so far", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
    summary = _write_outputs(plan, result, sink, paths)
    raise typer.Exit(exit_code(summary, strict_health=strict_health))


@attrs.frozen
class _RunOptions:
    quiet: bool = False
    start_at: float | None = None
    watch_stdin: bool = False


#: A run starting later than this after --start-at gets a warning.
_LATE_START_S = 0.1


async def _run_engine(
    plan: RunPlan, paths: OutputPaths, options: _RunOptions
) -> tuple[RunResult, JsonlSink]:
    sink = JsonlSink(paths.jsonl)
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        async with open_engine(plan, sink=sink) as engine:
            for warning in engine.warnings:
                print(f"loadtest: warning: {warning}", file=sys.stderr)
            nursery.start_soon(_watch_signals, engine)
            if options.watch_stdin:
                nursery.start_soon(_watch_stdin, engine)
            if options.start_at is not None:
                await _wait_for_start(options.start_at, engine)
            if not options.quiet:
                nursery.start_soon(show_progress, engine)
            result = await engine.run()
        nursery.cancel_scope.cancel()
    return result, sink


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


async def _watch_signals(engine: Engine) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if engine.stop_requested:
                raise KeyboardInterrupt
            name = signal.Signals(signum).name
            print(
                f"\nloadtest: {name}: ending the current stage and writing outputs "
                "(again to abort)",
                file=sys.stderr,
            )
            engine.request_stop()


def exit_code(summary: dict[str, Any], *, strict_health: bool) -> int:
    """The run's exit code: stopped early, thresholds, then generator health."""
    if summary["run"]["stopped_early"]:
        return EXIT_INTERRUPTED
    if thresholds_failed(summary.get("thresholds", [])):
        return EXIT_THRESHOLDS
    verdicts = {stage.get("health", {}).get("verdict", "ok") for stage in summary["stages"]}
    if strict_health and verdicts - {"ok"}:
        return EXIT_GENERATOR_HEALTH
    return EXIT_OK


def _written_profile(plan: RunPlan) -> str:
    header = (
        "# The profile this run used: command-line overrides applied, secrets masked (***).\n"
        "# Run it again with: loadtest run <this file> --vk ... (supply masked keys again).\n"
    )
    return header + dump_profile(redact_profile(plan.profile))


def _write_outputs(
    plan: RunPlan, result: RunResult, sink: JsonlSink, paths: OutputPaths
) -> dict[str, Any]:
    generator = {"fd_limits": result.fd_limits.to_json()} if result.fd_limits else {}
    info = RunInfo(
        started_unix_s=result.started_unix_s,
        ended_unix_s=result.ended_unix_s,
        stopped_early=result.stopped_early,
        jsonl_lines=sink.lines,
        sink_overflow=sink.overflow,
        generator=generator,
    )
    summary = build_summary(plan, result.stages, info)
    summary["thresholds"] = evaluate_thresholds(summary)
    report = render_text(summary)
    written = [
        paths.jsonl,
        write_text(
            paths.path("summary", "json"),
            orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n",
        ),
        write_text(paths.path("report", "txt"), report),
        write_text(paths.path("report", "csv"), render_csv(summary)),
        write_text(paths.path("metrics", "prom"), render_prometheus(summary)),
        write_text(paths.path("profile", "toml"), _written_profile(plan)),
    ]
    sys.stdout.write(report)
    print("outputs:", file=sys.stderr)
    for path in written:
        print(f"  {path}", file=sys.stderr)
    return summary
