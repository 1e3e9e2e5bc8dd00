"""`run_multi_service`: one profile against several gateways, round after round.

Rules:
- Bad input fails before any process starts: the services file, every
  environment variable it names (one error listing all the missing ones),
  the profile and `--stages`, and each gateway's resolved plan (the checks
  of `loadtest validate`, through `load_profile` and `resolve`).
- Each round runs every gateway at once (see `_rounds`); its table is
  reported as soon as it ends. After the last round, the summary table gives
  per gateway the median delta and its range over the rounds.
- Outputs go to `OUT/multi-<ts>/round-<k>/<name>/` (one `loadtest run` set
  each) and the combined document to `OUT/multi-<ts>.json` (or `json_path`),
  with its HTML page beside it (`.html`: the gateways overlaid per round),
  both rewritten after every round so an interrupted comparison keeps what
  it measured. A Ctrl-C ends the current round cleanly and stops there.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import orjson

from loadtest.config import (
    Overrides,
    format_stage,
    load_datasets,
    load_profile,
    mask_url,
    parse_stages,
    resolve,
)
from loadtest.errors import ConfigError, RuntimeFailure
from loadtest.multiservice._html import write_html
from loadtest.multiservice._results import (
    GatewaySummary,
    Metric,
    RoundResult,
    summarize,
    with_deltas,
)
from loadtest.multiservice._rounds import collect, launch_for, run_round
from loadtest.multiservice._services import Service, load_services, missing_env
from loadtest.multiservice._table import render_round, render_summary

if TYPE_CHECKING:
    from collections.abc import Callable

    from loadtest.config import Profile, RunPlan, Stage

__all__ = ["JSON_SCHEMA", "MultiResult", "run_multi_service"]

JSON_SCHEMA = "loadtest.multi-service/1"
#: Seconds a child may take, after its SIGTERM and beyond its graceful stop, to exit.
_EXIT_MARGIN_S = 15.0


@attrs.frozen
class _Setup:
    """What validation decided, and where outputs go: the same for every round."""

    services: tuple[Service, ...]
    profile: Path
    services_file: Path
    stages: str | None
    metric: Metric
    stage_plan: tuple[str, ...]
    rounds: int
    start_delay_s: float
    stop_grace_s: float
    directory: Path
    json_path: Path
    env: Mapping[str, str] = attrs.field(repr=False)  # holds keys: never shown


@attrs.frozen
class MultiResult:
    """A whole comparison: the rounds run, the summary over them, where it was written."""

    services: tuple[Service, ...]
    rounds: tuple[RoundResult, ...]
    summaries: tuple[GatewaySummary, ...]
    metric: Metric
    directory: Path
    json_path: Path
    interrupted: bool = False

    @property
    def table(self) -> str:
        """The summary table over every round run."""
        return render_summary(self.summaries, self.metric, len(self.rounds))

    @property
    def any_failed(self) -> bool:
        """Whether some gateway's run FAILED in some round."""
        return any(s.failure is not None for r in self.rounds for s in r.services)


def run_multi_service(
    services_file: Path,
    profile: Path,
    *,
    stages: str | None = None,
    rounds: int = 3,
    out: Path = Path("runs/multi"),
    start_delay_s: float = 2.0,
    json_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    on_table: Callable[[str], None] = lambda _text: None,
    on_progress: Callable[[str], None] = lambda _line: None,
) -> MultiResult:
    """Run `profile` against every gateway of `services_file`, `rounds` times.

    Raises `ConfigError` (nothing started) for bad input. `on_table` gets each
    round's table as it ends, then the summary; `on_progress` gets status lines.
    `environ` (default `os.environ`) is where keys and `${NAME}`s are read."""
    if rounds < 1:
        raise ConfigError(f"--rounds: at least 1, got {rounds}")
    if start_delay_s <= 0:
        raise ConfigError(f"--start-delay: must be more than 0, got {start_delay_s:g}s")
    env = dict(os.environ if environ is None else environ)
    services, plans = _validate(services_file, profile, stages, env)
    for line in _warnings(plans):
        on_progress(f"warning: {line}")
    directory = _prepare_directory(out)
    setup = _Setup(
        services=services,
        profile=profile,
        services_file=services_file,
        stages=stages,
        metric="ttft" if any(s.stream for s in plans[0].scenarios) else "latency",
        stage_plan=tuple(format_stage(stage) for stage in plans[0].stages),
        rounds=rounds,
        start_delay_s=start_delay_s,
        stop_grace_s=max(plan.graceful_stop_s for plan in plans) + _EXIT_MARGIN_S,
        directory=directory,
        json_path=json_path or directory.with_name(directory.name + ".json"),
        env=env,
    )
    return _run_rounds(setup, on_table, on_progress)


def _validate(
    services_file: Path, profile_path: Path, stages: str | None, env: Mapping[str, str]
) -> tuple[tuple[Service, ...], tuple[RunPlan, ...]]:
    """The gateways and each one's resolved plan, checked as `loadtest validate`
    would; every environment variable the services name must be set."""
    services = load_services(services_file)
    missing = missing_env(services, env)
    if missing:
        raise ConfigError(
            f"environment variables not set (or empty): {', '.join(missing)}; nothing was sent"
        )
    profile = load_profile(profile_path)
    parsed = _parse_stages(stages)
    problems: list[str] = []
    plans = []
    for service in services:
        try:
            plan = _plan(profile, profile_path, service, parsed, env)
        except ConfigError as exc:
            problems += [f'service "{service.name}": {line}' for line in exc.problems]
            continue
        plans.append(plan)
        problems += [
            f'service "{service.name}": {line} (here: set key_env)'
            for line in plan.placeholder_problems()
        ]
    if problems:
        raise ConfigError(problems)
    return services, tuple(plans)


def _plan(
    profile: Profile,
    profile_path: Path,
    service: Service,
    stages: tuple[Stage, ...] | None,
    env: Mapping[str, str],
) -> RunPlan:
    overrides = Overrides(
        target=service.target,
        model=service.model,
        vk=env[service.key_env] if service.key_env else None,
        headers=tuple(service.headers.items()),
        stages=stages,
    )
    return load_datasets(resolve(profile, overrides, env=env, name=profile_path.stem))


def _parse_stages(stages: str | None) -> tuple[Stage, ...] | None:
    if stages is None:
        return None
    try:
        return parse_stages(stages)
    except ValueError as exc:
        raise ConfigError([f"--stages: {line}" for line in exc.args[0]]) from None


def _warnings(plans: tuple[RunPlan, ...]) -> list[str]:
    """The plans' own warnings (once each), and what makes the comparison unfair."""
    lines = list(dict.fromkeys(w for plan in plans for w in plan.warnings))
    if plans[0].cache_mode != "bust":
        lines.append(
            f"cache_mode is {plans[0].cache_mode}: a gateway with a response or prompt "
            'cache can look faster than it is; use "bust" to compare gateways'
        )
    return lines


def _prepare_directory(out: Path) -> Path:
    """A fresh `OUT/multi-<ts>` folder (suffixed -2, -3... if taken)."""
    stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for n in range(1, 1000):
            candidate = out / (f"multi-{stamp}" if n == 1 else f"multi-{stamp}-{n}")
            if candidate.with_name(candidate.name + ".json").exists():
                continue
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate
    except OSError as exc:
        raise RuntimeFailure(f"--out {out}: cannot create it: {exc.strerror or exc}") from None
    raise RuntimeFailure(f"--out {out}: no free multi-{stamp} name")


def _run_rounds(
    setup: _Setup, on_table: Callable[[str], None], on_progress: Callable[[str], None]
) -> MultiResult:
    done: list[RoundResult] = []
    interrupted = False
    _write_json(_result(setup, done, interrupted), setup)  # fails early if it cannot
    for number in range(1, setup.rounds + 1):
        on_progress(
            f"round {number}/{setup.rounds}: {len(setup.services)} gateways start together "
            f"in {setup.start_delay_s:g}s"
        )
        try:
            round_, interrupted = _one_round(setup, number, on_progress)
        except KeyboardInterrupt:
            interrupted = True
        else:
            done.append(round_)
            on_table(render_round(round_))
        _write_json(_result(setup, done, interrupted), setup)
        if interrupted:
            on_progress(f"interrupted: {len(done)} of {setup.rounds} rounds reported")
            break
    result = _result(setup, done, interrupted)
    on_table(result.table)
    return result


def _one_round(
    setup: _Setup, number: int, on_progress: Callable[[str], None]
) -> tuple[RoundResult, bool]:
    round_dir = setup.directory / f"round-{number}"
    launches = [
        launch_for(
            setup.profile,
            service,
            stages=setup.stages,
            directory=round_dir / service.name,
            environ=setup.env,
        )
        for service in setup.services
    ]
    run = run_round(
        launches,
        start_delay_s=setup.start_delay_s,
        stop_grace_s=setup.stop_grace_s,
        on_progress=on_progress,
    )
    rows = [
        collect(launch.name, launch.directory, run.exit_codes.get(launch.name), run.start_at_unix_s)
        for launch in launches
    ]
    round_ = RoundResult(
        number=number,
        of=setup.rounds,
        start_at_unix_s=run.start_at_unix_s,
        metric=setup.metric,
        stage_plan=setup.stage_plan,
        services=with_deltas(rows, setup.metric),
        interrupted=run.interrupted,
        host_cores=os.cpu_count(),
    )
    return round_, run.interrupted


def _result(setup: _Setup, done: list[RoundResult], interrupted: bool) -> MultiResult:
    names = [service.name for service in setup.services]
    return MultiResult(
        services=setup.services,
        rounds=tuple(done),
        summaries=summarize(names, done),
        metric=setup.metric,
        directory=setup.directory,
        json_path=setup.json_path,
        interrupted=interrupted,
    )


def _result_json(result: MultiResult, setup: _Setup) -> dict[str, Any]:
    """The combined document: every round, the per-gateway figures, the tables."""
    return {
        "schema": JSON_SCHEMA,
        "profile": str(setup.profile),
        "services_file": str(setup.services_file),
        "stage_plan": list(setup.stage_plan),
        "metric": f"{setup.metric}_p50",
        "rounds_planned": setup.rounds,
        "start_delay_s": setup.start_delay_s,
        "interrupted": result.interrupted,
        "directory": str(setup.directory),
        "services": [
            {
                "name": s.name,
                "target": mask_url(s.target),
                "model": s.model,
                "key_env": s.key_env or None,
            }
            for s in setup.services
        ],
        "rounds": [r.to_json() | {"table": render_round(r)} for r in result.rounds],
        "summary": [s.to_json() for s in result.summaries],
        "table": result.table,
    }


def _write_json(result: MultiResult, setup: _Setup) -> None:
    """Write the combined document, and its HTML page beside it."""
    data = orjson.dumps(_result_json(result, setup), option=orjson.OPT_INDENT_2) + b"\n"
    try:
        setup.json_path.parent.mkdir(parents=True, exist_ok=True)
        setup.json_path.write_bytes(data)
    except OSError as exc:
        raise RuntimeFailure(f"cannot write {setup.json_path}: {exc.strerror or exc}") from None
    write_html(result.rounds, result.table, profile=str(setup.profile), json_path=setup.json_path)
