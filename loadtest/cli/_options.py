"""Options shared by the commands that take a profile (`validate`, `run`),
and the one function that turns them into a `RunPlan`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import typer

from loadtest.config import (
    Overrides,
    RunPlan,
    check_files,
    load_datasets,
    load_profile,
    parse_duration,
    parse_header_flag,
    parse_stages,
    resolve,
)
from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "HEADER_OPTION",
    "MODEL_OPTION",
    "PROFILE_ARGUMENT",
    "SEED_OPTION",
    "SLO_OPTION",
    "STAGES_OPTION",
    "TARGET_OPTION",
    "VK_OPTION",
    "WARMUP_OPTION",
    "plan_from_options",
]

PROFILE_ARGUMENT: Any = typer.Argument(
    ..., help="Profile file (.json or .toml).", show_default=False
)
TARGET_OPTION: Any = typer.Option(
    None,
    "--target",
    help="Target URL for every scenario. A full URL is used as is; a base URL (no path, "
    "or ending in /v1) keeps each scenario's protocol path.",
)
MODEL_OPTION: Any = typer.Option(None, "--model", help="Model name for every scenario.")
VK_OPTION: Any = typer.Option(
    None,
    "--vk",
    envvar="LOADTEST_VK",
    show_envvar=True,
    show_default=False,
    help="Key sent as 'Authorization: Bearer <vk>' on every scenario. Prefer the "
    "LOADTEST_VK environment variable: flags are visible in ps.",
)
HEADER_OPTION: Any = typer.Option(
    None,
    "--header",
    "-H",
    help="Extra header 'Name: value' for every scenario (repeatable; applied after --vk). "
    "Flags are visible in ps: pass a key as '${NAME}' (in single quotes), read from the "
    "environment variable NAME, e.g. -H 'x-api-key: ${GW_KEY}'.",
)
STAGES_OPTION: Any = typer.Option(
    None,
    "--stages",
    help="Replace the profile's stages, e.g. '1:10s,100:60s,@200:60s~poisson'.",
)
SEED_OPTION: Any = typer.Option(None, "--seed", help="Seed of the request plan.")
MAX_REQUESTS_OPTION: Any = typer.Option(
    None,
    "--max-requests",
    help="End the run once this many turns have started in all (the profile's max_requests).",
)
WARMUP_OPTION: Any = typer.Option(
    None, "--warmup", help="Replace the profile's warm-up (per stage), e.g. '5s' or '0'."
)

SLO_OPTION: Any = typer.Option(
    None,
    "--slo",
    help="Per-turn SLOs replacing the profile's, e.g. 'ttft<=300ms,latency<=10s' "
    "(repeatable; metrics: ttft, ttfb, latency, tpot, itl_p50, itl_p90, itl_p99, itl_max). "
    "Each stage then reports goodput.",
)


def plan_from_options(
    profile_path: Path,
    *,
    target: str | None,
    model: str | None,
    vk: str | None,
    headers: list[str] | None,
    stages: str | None,
    seed: int | None,
    warmup: str | None = None,
    max_requests: int | None = None,
    slo: list[str] | None = None,
) -> RunPlan:
    """Load the profile, apply the flags, resolve against the environment,
    check the files the plan names and read its datasets."""
    profile = load_profile(profile_path)
    parsed_stages = None
    if stages is not None:
        try:
            parsed_stages = parse_stages(stages)
        except ValueError as exc:
            raise ConfigError([f"--stages: {line}" for line in exc.args[0]]) from None
    parsed_warmup = None
    if warmup is not None:
        try:
            parsed_warmup = parse_duration(warmup)
        except ValueError as exc:
            raise ConfigError(f"--warmup: {exc}") from None
    overrides = Overrides(
        target=target,
        model=model,
        vk=vk or None,
        headers=tuple(parse_header_flag(h) for h in headers or ()),
        stages=parsed_stages,
        seed=seed,
        warmup=parsed_warmup,
        max_requests=max_requests,
        slo=slo or None,
    )
    plan = resolve(profile, overrides, env=os.environ, name=profile_path.stem)
    check_files(plan)
    return load_datasets(plan)
