"""`loadtest run`: resolve the profile, run the engine, write every output.

Wiring only: the engine measures, `loadtest.report` renders, this module
writes files and maps the outcome to an exit code (0 ok, 2 bad input,
3 thresholds failed, 4 generator unhealthy with --strict-health, 5 no steady
turn succeeded, 130 stopped by Ctrl-C/SIGTERM, 1 runtime failure (an output
not written in --out) or a target that failed the pre-flight request).

Everything is checked before anything starts: the profile and flags, the
mock's flags (with the mock's own parser) and --out (run's own flags and
their checks: cli/_run_options.py); then the mock starts, then the
pre-flight request per target, then the engine (in this process:
cli/_run_local.py; else cli/_workers.py or cli/_cluster.py). The live metrics
socket (--metrics-port) is bound before the mock starts: a port in use is
a bad flag (exit 2) and nothing is sent. What was measured
is written even when the run is stopped by signals (`_signals`) or its disk
fills up (`_outputs`, the JSONL sink); the mock is stopped after that.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
import typer

from loadtest.cli._app import DEBUG_OPTION, _state, command
from loadtest.cli._cluster import CLUSTER_OPTION, check_cluster_flags, run_on_cluster
from loadtest.cli._options import (
    HEADER_OPTION,
    MAX_REQUESTS_OPTION,
    MODEL_OPTION,
    PROFILE_ARGUMENT,
    SEED_OPTION,
    SLO_OPTION,
    STAGES_OPTION,
    TARGET_OPTION,
    VK_OPTION,
    WARMUP_OPTION,
    plan_from_options,
)
from loadtest.cli._outputs import prepare_outputs
from loadtest.cli._preflight import preflight
from loadtest.cli._run_local import _generator_facts, _run_engine, _RunOptions
from loadtest.cli._run_options import (
    _MOCK_PLACEHOLDER,
    METRICS_HOST_OPTION,
    METRICS_PORT_OPTION,
    MOCK_ARGS_OPTION,
    MOCK_OPTION,
    NO_PREFLIGHT_OPTION,
    OUT_OPTION,
    QUIET_OPTION,
    SEGMENT_OPTION,
    START_AT_OPTION,
    STRICT_HEALTH_OPTION,
    WATCH_STDIN_OPTION,
    WORKERS_OPTION,
    _for_segments,
    _metrics_socket,
    _mock_args,
    check_start_at,
)
from loadtest.cli._run_outputs import Rerun, write_run_outputs, written_profile
from loadtest.cli._signals import StopSignals
from loadtest.config import (
    Segment,
    load_profile,
    parse_segment,
)
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
    thresholds_failed,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from loadtest.config import RunPlan

__all__ = ["run"]


@contextlib.contextmanager
def _upstream(mock_args: list[str] | None) -> Iterator[str | None]:
    """The mock's URL while it runs (with --mock), else None."""
    if mock_args is None:
        yield None
        return
    with run_mock_process(mock_args) as url:
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
    max_requests: int | None = MAX_REQUESTS_OPTION,
    slo: list[str] | None = SLO_OPTION,
    out: Path = OUT_OPTION,
    quiet: bool = QUIET_OPTION,
    mock: bool = MOCK_OPTION,
    mock_args: str = MOCK_ARGS_OPTION,
    start_at: float | None = START_AT_OPTION,
    strict_health: bool = STRICT_HEALTH_OPTION,
    watch_stdin: bool = WATCH_STDIN_OPTION,
    no_preflight: bool = NO_PREFLIGHT_OPTION,
    metrics_port: int | None = METRICS_PORT_OPTION,
    metrics_host: str = METRICS_HOST_OPTION,
    segment: str | None = SEGMENT_OPTION,
    workers: str | None = WORKERS_OPTION,
    cluster: str | None = CLUSTER_OPTION,
    debug: bool = DEBUG_OPTION,
) -> None:
    """Run PROFILE: every stage in turn, then write the JSONL, summary and report.

    Exit codes: 0 ok; 1 runtime failure (an output could not be written, the
    mock could not start, a --workers worker or --cluster shard failed), or
    a target failed the pre-flight request (nothing else sent); 2 bad profile
    or flags; 3 a threshold failed; 4 generator unhealthy (with
    --strict-health); 5 no steady turn succeeded (outputs are written); 130
    stopped by Ctrl-C or SIGTERM (what was measured is still written).
    """
    # Imported here: loadtest.scale imports loadtest.cli (its output writer).
    from loadtest.cli._workers import (
        died_starting,
        host_warnings,
        parse_workers,
        run_workers,
        start_time,
        write_worker_outputs,
    )

    signals = StopSignals()
    with signals.installed(keep=_state["program"]):
        try:
            mock_flags = _mock_args(mock, mock_args, target)
            shard = parse_segment(segment) if segment is not None else Segment()
            worker_count = parse_workers(workers)
            if worker_count > 1 and not shard.whole:
                raise ConfigError("--segment and --workers: choose one (a worker runs a segment)")
            check_cluster_flags(cluster, workers, mock, segment)
            check_start_at(start_at, time.time())
            if (worker_count > 1 or cluster is not None) and metrics_port is not None:
                raise ConfigError(
                    "--metrics-port with --workers or --cluster: not together yet (each "
                    "worker is its own process); serve one segment per process with --segment"
                )

            def plan_for(effective_target: str | None) -> RunPlan:
                return _for_segments(
                    plan_from_options(
                        profile,
                        target=effective_target,
                        model=model,
                        vk=vk,
                        headers=header,
                        stages=stages,
                        seed=seed,
                        warmup=warmup,
                        max_requests=max_requests,
                        slo=slo,
                    ),
                    shard,
                    worker_count,
                )

            plan = plan_for(_MOCK_PLACEHOLDER if mock else target)
            placeholders = [] if mock else plan.placeholder_problems()
            if placeholders:
                raise ConfigError([f"{line} (nothing was sent)" for line in placeholders])
            source = load_profile(profile) if mock else None
            paths = prepare_outputs(out, max(time.time(), start_at or 0.0))
            if cluster is not None:
                signals.phase = "starting"
                summary, failed = run_on_cluster(
                    cluster,
                    None if workers == "auto" else worker_count,
                    plan,
                    paths,
                    start_at=start_at,
                    no_preflight=no_preflight,
                    signals=signals,
                )
                if failed:
                    raise typer.Exit(EXIT_RUNTIME)
                if signals.received:
                    raise typer.Exit(EXIT_INTERRUPTED)
                raise typer.Exit(exit_code(summary, strict_health=strict_health))
            with (
                _metrics_socket(metrics_port, metrics_host) as metrics,
                _upstream(mock_flags) as mock_url,
            ):
                if mock_url is not None:
                    plan = plan_for(mock_url)
                warnings = [*plan.warnings]
                warnings += host_warnings(plan, worker_count) if worker_count > 1 else []
                for warning in warnings:
                    print(f"loadtest: warning: {warning}", file=sys.stderr)
                if not no_preflight:
                    preflight(plan)
                options = _RunOptions(
                    quiet=quiet, start_at=start_at, watch_stdin=watch_stdin, metrics=metrics
                )
                rerun = Rerun(source, mock_args) if source is not None else None
                signals.phase = "running"
                if worker_count > 1:
                    first = start_time(worker_count, start_at)
                    results = run_workers(
                        plan,
                        worker_count,
                        paths,
                        first,
                        quiet=quiet,
                        signals=signals,
                        watch_stdin=watch_stdin,
                    )
                    if signals.received and died_starting(results):
                        raise KeyboardInterrupt  # stopped before any load was sent
                    signals.phase = "writing"
                    profile_name = paths.path("profile", "toml").name
                    how = ("--workers", workers or str(worker_count))
                    written = written_profile(plan, profile_name, rerun, how=how)
                    summary, failed = write_worker_outputs(results, paths, profile_text=written)
                else:
                    result, sink, skew_ms = trio.run(_run_engine, plan, paths, options, signals)
                    signals.phase = "writing"
                    facts = _generator_facts(plan, skew_ms)
                    summary, failed = write_run_outputs(
                        plan, result, sink, paths, rerun, facts=facts
                    )
        except KeyboardInterrupt:
            name = signals.received[-1] if signals.received else "SIGINT"
            print(f"loadtest: {name}: stopped before any load was sent", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
    if failed:
        raise typer.Exit(EXIT_RUNTIME)
    if signals.received:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(exit_code(summary, strict_health=strict_health))


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
