"""`loadtest run`: resolve the profile, run the engine, write every output.

Wiring only: the engine measures, `loadtest.report` renders, this module
writes files and maps the outcome to an exit code (0 ok, 2 bad input,
3 thresholds failed, 4 generator unhealthy with --strict-health, 5 no steady
turn succeeded, 130 stopped by Ctrl-C/SIGTERM, 1 runtime failure (an output
not written in --out) or a target that failed the pre-flight request).

Everything is checked before anything starts: the profile and flags, the
mock's flags (with the mock's own parser) and --out; then the mock starts,
then the pre-flight request per target, then the engine. The live metrics
socket (--metrics-port) is bound before the mock starts: a port in use is
a bad flag (exit 2) and nothing is sent. What was measured
is written even when the run is stopped by signals (`_signals`) or its disk
fills up (`_outputs`, the JSONL sink); the mock is stopped after that.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio
import typer

from loadtest.cli._app import DEBUG_OPTION, _state, command
from loadtest.cli._cluster import CLUSTER_OPTION, check_cluster_flags, run_on_cluster
from loadtest.cli._mock import parse_mock_args
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
from loadtest.cli._outputs import OutputPaths, prepare_outputs
from loadtest.cli._preflight import preflight
from loadtest.cli._progress import show_progress
from loadtest.cli._run_outputs import Rerun, write_run_outputs, written_profile
from loadtest.cli._signals import StopSignals
from loadtest.config import (
    Segment,
    load_profile,
    parse_segment,
)
from loadtest.engine import JsonlSink, RunResult, listen_metrics, open_engine, serve_metrics
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
#: --start-at is at most this far ahead: a later one is a mistake (milliseconds
#: for seconds), never a run to wait for.
MAX_START_AHEAD_S = 24 * 3600


def check_start_at(start_at: float | None, now_unix_s: float) -> None:
    """ConfigError for a --start-at that is not a Unix time in seconds at
    most a day ahead (milliseconds would wait for millennia, or fail)."""
    if start_at is None:
        return
    if not math.isfinite(start_at) or start_at < 0:
        raise ConfigError(f"--start-at {start_at:g}: expected Unix time in seconds (date +%s)")
    ahead_s = start_at - now_unix_s
    if ahead_s > MAX_START_AHEAD_S:
        raise ConfigError(
            f"--start-at {start_at:.0f}: {ahead_s / 86400:,.0f} days ahead; expected Unix time "
            "in seconds (date +%s), at most a day ahead"
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
METRICS_PORT_OPTION: Any = typer.Option(
    None,
    "--metrics-port",
    min=0,
    max=65535,
    help="Serve live Prometheus metrics on this port during the run (GET /metrics; "
    "0 picks a free port, printed on stderr). Same names as metrics-<ts>.prom.",
)
_METRICS_HOST = "127.0.0.1"
METRICS_HOST_OPTION: Any = typer.Option(
    _METRICS_HOST,
    "--metrics-host",
    help="Address --metrics-port listens on. The endpoint has no authentication: "
    "another address than loopback (0.0.0.0) exposes it to the network, your choice.",
)
MOCK_ARGS_OPTION: Any = typer.Option(
    "", "--mock-args", help="Flags for the mock with --mock, e.g. '--ttft 200ms --itl 20ms'."
)
SEGMENT_OPTION: Any = typer.Option(
    None,
    "--segment",
    help="Run execution segment K/N of the plan (K 0-based, 0 to N-1): N processes or "
    "hosts given 0/N to N-1/N and one --start-at run the plan together; `loadtest merge` "
    "joins their summaries (docs/scale.md).",
)
WORKERS_OPTION: Any = typer.Option(
    None,
    "--workers",
    help="Run the plan in N worker processes on this host (auto: one per usable core) "
    "and write one merged set of outputs (docs/scale.md). Default 1: one process. "
    "With --cluster: N shards, one per Dask worker (auto: one per worker of the cluster).",
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
                    signals.phase = "writing"
                    profile_name = paths.path("profile", "toml").name
                    written = written_profile(plan, profile_name, rerun)
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


@contextlib.contextmanager
def _metrics_socket(port: int | None, host: str) -> Iterator[socket.socket | None]:
    """The live metrics endpoint's listening socket (with --metrics-port),
    bound before anything starts, closed at the end; else None."""
    if port is None:
        if host != _METRICS_HOST:
            raise ConfigError("--metrics-host: only used with --metrics-port")
        yield None
        return
    try:
        sock = listen_metrics(port, host)
    except ConfigError as exc:
        raise ConfigError(f"--metrics-port: {exc}") from None
    with sock:
        bound = sock.getsockname()
        where = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        print(f"metrics: http://{where}:{bound[1]}/metrics", file=sys.stderr)
        yield sock


def _for_segments(plan: RunPlan, shard: Segment, workers: int) -> RunPlan:
    """`plan` cut to `--segment`; with `--workers`, its limits checked for
    that many segments (ConfigError before anything starts)."""
    for index in range(workers if workers > 1 else 0):
        plan.for_segment(Segment(index, workers))
    return plan if shard.whole else plan.for_segment(shard)


def _generator_facts(plan: RunPlan, skew_ms: float | None) -> dict[str, Any]:
    """What a segment's summary records of its generator: host, segment,
    and how late it started after --start-at."""
    facts: dict[str, Any] = {}
    if not plan.segment.whole:
        facts |= {"host": socket.gethostname(), "segment": str(plan.segment)}
    if skew_ms is not None:
        facts["start_skew_ms"] = skew_ms
    return facts


@attrs.frozen
class _RunOptions:
    quiet: bool = False
    start_at: float | None = None
    watch_stdin: bool = False
    metrics: socket.socket | None = None


#: A run starting later than this after --start-at gets a warning.
_LATE_START_S = 0.1


async def _run_engine(
    plan: RunPlan, paths: OutputPaths, options: _RunOptions, signals: StopSignals
) -> tuple[RunResult, JsonlSink, float | None]:
    sink = JsonlSink(paths.jsonl, on_failure=_jsonl_failed)
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        async with open_engine(plan, sink=sink) as engine:
            for warning in engine.warnings:
                print(f"loadtest: warning: {warning}", file=sys.stderr)
            nursery.start_soon(signals.watch, engine)
            if options.metrics is not None:
                await nursery.start(serve_metrics, engine, options.metrics)
            if options.watch_stdin:
                nursery.start_soon(_watch_stdin, engine)
            skew_ms = None
            if options.start_at is not None:
                await _wait_for_start(options.start_at, engine)
                skew_ms = round((time.time() - options.start_at) * 1000, 3)
            if not options.quiet:
                nursery.start_soon(show_progress, engine)
            result = await engine.run()
        nursery.cancel_scope.cancel()
    return result, sink, skew_ms


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
