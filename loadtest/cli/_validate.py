"""`loadtest validate` and `loadtest schema`: check a profile, print the plan
or the JSON Schema of a profile or a summary. Neither sends any load."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from loadtest.cli._app import DEBUG_OPTION, command
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
from loadtest.config import describe_plan, profile_schema
from loadtest.report import summary_schema

__all__ = ["schema", "validate"]


@command
def validate(
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
    debug: bool = DEBUG_OPTION,
) -> None:
    """Check PROFILE and print the resolved plan; send no load.

    Exit codes: 0 valid, 2 invalid (every problem is listed, one per line).
    """
    plan = plan_from_options(
        profile,
        target=target,
        model=model,
        vk=vk,
        headers=header,
        stages=stages,
        seed=seed,
        warmup=warmup,
        max_requests=max_requests,
        slo=slo,
    )
    typer.echo(describe_plan(plan), nl=False)


SUMMARY_OPTION = typer.Option(
    False, "--summary", help="The summary's schema (docs/summary.schema.json) instead."
)


@command
def schema(summary: bool = SUMMARY_OPTION, debug: bool = DEBUG_OPTION) -> None:
    """Print the JSON Schema (draft 2020-12) of a profile, or of a summary."""
    doc = summary_schema() if summary else profile_schema()
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
