"""`loadtest run`: resolve the profile, run the engine, write every output.

Wiring only: the engine measures, `loadtest.report` renders, this module
writes files and maps the outcome to an exit code (0 ok, 2 bad input,
3 thresholds failed, 4 generator unhealthy with --strict-health, 130 stopped
by Ctrl-C/SIGTERM, 1 runtime failure). Results already collected are
written even when the run is stopped early.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from loadtest.report import RunInfo, build_summary, render_text

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
        for warning in plan.warnings:
            print(f"loadtest: warning: {warning}", file=sys.stderr)
        paths = prepare_outputs(out, max(time.time(), start_at or 0.0))
        try:
            result, sink = trio.run(_run_engine, plan, paths, quiet, start_at)
        except KeyboardInterrupt:
            print("loadtest: aborted; the JSONL holds the turns finished so far", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
    summary = _write_outputs(plan, result, sink, paths)
    raise typer.Exit(exit_code(summary, strict_health=strict_health))


async def _run_engine(
    plan: RunPlan, paths: OutputPaths, quiet: bool, start_at: float | None
) -> tuple[RunResult, JsonlSink]:
    sink = JsonlSink(paths.jsonl)
    if start_at is not None:
        await trio.sleep(max(start_at - time.time(), 0.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        async with open_engine(plan, sink=sink) as engine:
            for warning in engine.warnings:
                print(f"loadtest: warning: {warning}", file=sys.stderr)
            nursery.start_soon(_watch_signals, engine)
            if not quiet:
                nursery.start_soon(show_progress, engine)
            result = await engine.run()
        nursery.cancel_scope.cancel()
    return result, sink


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
    if any(not result["passed"] for result in summary.get("thresholds", [])):
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
    report = render_text(summary)
    written = [
        paths.jsonl,
        write_text(
            paths.path("summary", "json"),
            orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n",
        ),
        write_text(paths.path("report", "txt"), report),
        write_text(paths.path("profile", "toml"), _written_profile(plan)),
    ]
    sys.stdout.write(report)
    print("outputs:", file=sys.stderr)
    for path in written:
        print(f"  {path}", file=sys.stderr)
    return summary
