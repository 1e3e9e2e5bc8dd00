"""`loadtest sweep`: find the highest rate the gateway sustains within its
SLOs (docs/sweep.md).

Wiring only: the search and its probes are `loadtest.sweep` (pure search,
`run_sweep` on the library API); the outputs are `loadtest run`'s (the
summary gains its `sweep` section, the report starts with it). Checked
before anything starts, as `run`: the profile and flags (SLOs required,
from `--slo` or the profile), the mock's flags, `--out`; then the mock,
the pre-flight request, the probes.

Exit codes: 0 a knee was found; 3 no rate was sustainable (no knee); 5 no
steady turn succeeded in any probe; 1 a runtime failure or a failed
pre-flight; 2 bad input; 130 stopped by Ctrl-C or SIGTERM (what was
measured is written, the knee so far included). Threshold verdicts are
written, but never change the exit code: probes above the knee fail them
by design.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio
import typer

from loadtest.cli._app import DEBUG_OPTION, _state, command
from loadtest.cli._options import (
    HEADER_OPTION,
    MODEL_OPTION,
    PROFILE_ARGUMENT,
    SEED_OPTION,
    SLO_OPTION,
    TARGET_OPTION,
    VK_OPTION,
    plan_from_options,
)
from loadtest.cli._outputs import OutputPaths, prepare_outputs
from loadtest.cli._preflight import preflight
from loadtest.cli._progress import show_progress
from loadtest.cli._run import _upstream
from loadtest.cli._run_local import open_session
from loadtest.cli._run_options import (
    _MOCK_PLACEHOLDER,
    MOCK_ARGS_OPTION,
    MOCK_OPTION,
    NO_PREFLIGHT_OPTION,
    OUT_OPTION,
    QUIET_OPTION,
    _mock_args,
)
from loadtest.cli._run_outputs import Rerun, write_run_outputs
from loadtest.cli._signals import StopSignals
from loadtest.config import Duration, closed_stage, load_profile, open_stage, parse_duration
from loadtest.engine import JsonlSink, RunResult
from loadtest.errors import (
    EXIT_INTERRUPTED,
    EXIT_NO_SUCCESS,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_THRESHOLDS,
    ConfigError,
)
from loadtest.report import sweep_json
from loadtest.sweep import SweepOutcome, SweepSettings, run_sweep

if TYPE_CHECKING:
    from loadtest.config import RunPlan, Stage
    from loadtest.report import ProbeDoc

__all__ = ["sweep"]

#: Without --warmup, each probe's warm-up is this share of its duration.
WARMUP_SHARE = 0.2


@attrs.frozen
class _SweepOptions:
    settings: SweepSettings
    probe: Duration
    quiet: bool


def _settings(**given: Any) -> SweepSettings:
    try:
        return SweepSettings(**given)
    except ValueError as exc:
        raise ConfigError(f"sweep: {exc}") from None


def _probe_duration(text: str) -> Duration:
    try:
        probe = parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"--probe-duration: {exc}") from None
    if probe.us < 1_000_000:
        raise ConfigError(f"--probe-duration: at least 1s, got {probe}")
    return probe


@command
def sweep(
    profile: Path = PROFILE_ARGUMENT,
    slo: list[str] | None = SLO_OPTION,
    goodput_target: float = typer.Option(
        0.9,
        "--goodput-target",
        help="A probe passes when at least this share of its turns is good.",
    ),
    probe_duration: str = typer.Option(
        "15s", "--probe-duration", help="Length of each probe stage, warm-up included."
    ),
    warmup: str | None = typer.Option(
        None, "--warmup", help="Warm-up of each probe (default: a fifth of --probe-duration)."
    ),
    min_rate: float | None = typer.Option(
        None, "--min-rate", help="Lowest rate probed, per second (default: the ceiling / 16)."
    ),
    max_rate: float | None = typer.Option(None, "--max-rate", help="Highest rate probed."),
    precision: float = typer.Option(
        0.05, "--precision", help="Stop bisecting when the bracket is this narrow (relative)."
    ),
    ceiling_vus: int = typer.Option(
        64, "--ceiling-vus", help="VUs of the closed-loop probe that finds the throughput ceiling."
    ),
    target: str | None = TARGET_OPTION,
    model: str | None = MODEL_OPTION,
    vk: str | None = VK_OPTION,
    header: list[str] | None = HEADER_OPTION,
    seed: int | None = SEED_OPTION,
    out: Path = OUT_OPTION,
    quiet: bool = QUIET_OPTION,
    mock: bool = MOCK_OPTION,
    mock_args: str = MOCK_ARGS_OPTION,
    no_preflight: bool = NO_PREFLIGHT_OPTION,
    debug: bool = DEBUG_OPTION,
) -> None:
    """Find the highest rate PROFILE's gateway sustains within its SLOs: a
    1-VU baseline, a closed-loop ceiling, then open-loop rates bracketed and
    bisected; writes a run's outputs with a `sweep` section.

    Exit codes: 0 a knee was found; 1 runtime failure or failed pre-flight;
    2 bad profile or flags; 3 no rate was sustainable; 5 no steady turn
    succeeded; 130 stopped by Ctrl-C or SIGTERM (outputs still written).
    """
    signals = StopSignals()
    with signals.installed(keep=_state["program"]):
        try:
            mock_flags = _mock_args(mock, mock_args, target)
            probe = _probe_duration(probe_duration)
            options = _SweepOptions(
                settings=_settings(
                    goodput_target=goodput_target,
                    precision=precision,
                    min_rate=min_rate,
                    max_rate=max_rate,
                    ceiling_vus=ceiling_vus,
                ),
                probe=probe,
                quiet=quiet,
            )
            warmup = warmup or str(Duration.from_seconds(probe.seconds * WARMUP_SHARE))

            def plan_for(effective_target: str | None) -> RunPlan:
                return plan_from_options(
                    profile,
                    target=effective_target,
                    model=model,
                    vk=vk,
                    headers=header,
                    stages=f"1:{probe}",
                    seed=seed,
                    warmup=warmup,
                    slo=slo,
                )

            plan = plan_for(_MOCK_PLACEHOLDER if mock else target)
            if plan.warmup_s >= probe.seconds:
                raise ConfigError(
                    f"sweep: the warm-up ({plan.profile.warmup}) leaves each probe ({probe}) "
                    "no steady window: shorten --warmup or lengthen --probe-duration"
                )
            if not plan.slo:
                raise ConfigError(
                    "sweep: no SLO: pass --slo (e.g. --slo 'ttft<=300ms') or set the profile's slo"
                )
            placeholders = [] if mock else plan.placeholder_problems()
            if placeholders:
                raise ConfigError([f"{line} (nothing was sent)" for line in placeholders])
            source = load_profile(profile) if mock else None
            paths = prepare_outputs(out, time.time())
            with _upstream(mock_flags) as mock_url:
                if mock_url is not None:
                    plan = plan_for(mock_url)
                if not no_preflight:
                    preflight(plan)
                signals.phase = "running"
                result, outcome, sink = trio.run(_sweep_engine, plan, paths, options, signals)
                signals.phase = "writing"
                rerun = Rerun(source, mock_args) if source is not None else None
                ran = _as_ran(plan, outcome)
                summary, failed = write_run_outputs(
                    ran, result, sink, paths, rerun, sweep=sweep_json(outcome.sweep)
                )
        except KeyboardInterrupt:
            name = signals.received[-1] if signals.received else "SIGINT"
            print(f"loadtest: {name}: stopped before any load was sent", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
    if failed:
        raise typer.Exit(EXIT_RUNTIME)
    raise typer.Exit(exit_code(summary, stopped=bool(signals.received)))


def exit_code(summary: dict[str, Any], *, stopped: bool) -> int:
    """Stopped, then no steady turn succeeded, then no knee."""
    if stopped or summary["run"]["stopped_early"]:
        return EXIT_INTERRUPTED
    if not any(stage["total"]["ok"] for stage in summary["stages"]):
        return EXIT_NO_SUCCESS
    if summary["sweep"]["knee"]["rate_rps"] is None:
        return EXIT_THRESHOLDS
    return EXIT_OK


def _as_ran(plan: RunPlan, outcome: SweepOutcome) -> RunPlan:
    """The plan with the probes as its stages: `profile-<ts>.toml` then
    reruns the probes as an ordinary run."""
    stages: list[Stage] = [
        _stage_of(s.mode, s.concurrency, s.rate, s.duration_s) for s in outcome.stages
    ]
    return attrs.evolve(
        plan, profile=attrs.evolve(plan.profile, stages=tuple(stages)), stages=tuple(stages)
    )


def _stage_of(mode: str, vus: int | None, rate: float | None, duration_s: float) -> Stage:
    duration = Duration.from_seconds(duration_s)
    if mode == "closed":
        assert vus is not None
        return closed_stage(vus, duration)
    assert rate is not None
    return open_stage(rate, duration)


def _probe_line(probe: ProbeDoc) -> str:
    load = f" {probe.offered_rps:g}/s" if probe.offered_rps is not None else ""
    goodput = "-" if probe.goodput is None else f"{100 * probe.goodput:.1f}%"
    achieved = "-" if probe.achieved_rps is None else f"{probe.achieved_rps:.1f}/s"
    if probe.passed:
        verdict = "pass"
    else:  # a failed probe has its reason; a stopped one is not judged
        verdict = f"fail ({probe.reason})" if probe.reason else "stopped (not judged)"
    return (
        f"loadtest: sweep: stage {probe.stage + 1} {probe.kind}{load}: goodput {goodput}, "
        f"achieved {achieved}, generator {probe.health}: {verdict}"
    )


async def _sweep_engine(
    plan: RunPlan, paths: OutputPaths, options: _SweepOptions, signals: StopSignals
) -> tuple[RunResult, SweepOutcome, JsonlSink]:
    def heard(probe: ProbeDoc) -> None:
        if not options.quiet:  # on a terminal, over the status line
            start = "\r\x1b[K" if sys.stderr.isatty() else ""
            print(f"{start}{_probe_line(probe)}", file=sys.stderr)

    async with open_session(plan, paths, "sweep", signals) as (engine, sink, nursery):
        if not options.quiet:
            nursery.start_soon(show_progress, engine)
        started = time.time()
        outcome = await run_sweep(engine, options.settings, options.probe, on_probe=heard)
        result = RunResult(
            plan=plan,
            stages=outcome.stages,
            started_unix_s=started,
            ended_unix_s=time.time(),
            stopped_early=outcome.stopped_early,
            fd_limits=engine.fd_limits,
        )
    return result, outcome, sink
