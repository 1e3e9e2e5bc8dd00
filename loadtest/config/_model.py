"""The profile model: frozen attrs classes, one per block of a profile.

Rules:
- The classes hold what the user wrote (after type conversion), not what the
  run will use: `None` means "not set here, inherit". `loadtest.config`'s
  resolver merges defaults, scenarios and command-line overrides into a plan.
- Validators check only invariants of one object (a rate is positive, a
  range is ordered) and raise `FieldError` naming the field, so the loader can
  report the exact path. Cross-object rules (unique scenario names, a known
  protocol, a usable target) are checked by the resolver.
- Every field carries a `doc` in its metadata: the JSON Schema and the
  documentation test read it.

This module holds the profile, its defaults and its scenarios, and gathers
the rest of the model, the import path of every class: the stages are in
config/_model_stages.py; content, tools and the other blocks in
config/_model_blocks.py; the field helpers and validators in
config/_model_fields.py.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from loadtest.config import _checks as check
from loadtest.config import _limits as limit
from loadtest.config._checks import FieldError
from loadtest.config._dataset import DatasetContent, DatasetFields
from loadtest.config._lengths import TokenCount, token_count
from loadtest.config._model_blocks import (
    CONTENT_MODES,
    Content,
    Correlation,
    HttpOptions,
    PoolContent,
    ScriptedContent,
    SizedContent,
    Thresholds,
    Timeouts,
    Tool,
)
from loadtest.config._model_fields import _doc, _slo_texts, _turns
from loadtest.config._model_stages import Arrival, ClosedStage, OpenStage, Stage
from loadtest.config._units import Duration, DurationRange, IntRange

__all__ = [
    "CONTENT_MODES",
    "Arrival",
    "CacheMode",
    "ClosedStage",
    "Content",
    "Correlation",
    "DatasetContent",
    "DatasetFields",
    "Defaults",
    "FieldError",
    "HttpOptions",
    "OpenStage",
    "PoolContent",
    "Profile",
    "Scenario",
    "ScriptedContent",
    "SizedContent",
    "Stage",
    "ThinkTime",
    "Thresholds",
    "Timeouts",
    "Tool",
    "Turns",
]

CacheMode = Literal["bust", "shared-prefix", "natural"]
Turns = int | IntRange
ThinkTime = Duration | DurationRange


@attrs.frozen
class Defaults:
    """What every scenario inherits unless it sets its own."""

    protocol: str = _doc("Protocol adapter name.", default="openai-chat", validator=check.name)
    target: str | None = _doc(
        "Full URL, or a base URL (no path, or ending in /v1) that gets the protocol's path.",
        default=None,
        validator=check.url,
    )
    headers: dict[str, str] = _doc(
        "Request headers; `${NAME}` reads the environment.", factory=dict, validator=check.headers
    )
    model: str | None = _doc("Model name sent in each request.", default=None, validator=check.name)
    max_tokens: TokenCount = _doc(
        "Max output tokens per turn: an int or a distribution {dist, ...}.",
        default=256,
        validator=token_count,
    )
    stream: bool = _doc("Ask for a streamed answer.", default=True)
    system: str | None = _doc("System prompt.", default=None, validator=check.long_text)
    temperature: float | None = _doc(
        "Sampling temperature.", default=None, validator=check.between(0, limit.MAX_TEMPERATURE)
    )
    extra_body: dict[str, Any] = _doc(
        "Extra request-body fields, merged last.", factory=dict, validator=check.extra_body
    )
    tools: tuple[Tool, ...] = _doc(
        "Functions the model may call (openai-chat, anthropic, openai-responses).",
        default=(),
        validator=check.tools,
    )
    tool_choice: str | None = _doc(
        "auto, required, none, or the name of a tool to call (default: the API's).",
        default=None,
        validator=check.name,
    )
    turns: Turns = _doc(
        "Turns per conversation: an int or {min, max}.", default=1, validator=_turns
    )
    content: Content = _doc(
        "What each user turn says: pool, scripted, sized or dataset.",
        factory=lambda: SizedContent(128),
    )


@attrs.frozen
class Scenario:
    """One kind of conversation; unset fields inherit from `defaults`."""

    name: str = _doc("Scenario name, unique in the profile.", validator=check.name)
    weight: float = _doc(
        "Share of VUs / arrivals (relative to the other scenarios).",
        default=1.0,
        validator=check.between(0, limit.MAX_WEIGHT),
    )
    turns: Turns | None = _doc("Turns per conversation.", default=None, validator=_turns)
    think_time: ThinkTime | None = _doc("Pause between turns.", default=None)
    content: Content | None = _doc("What each user turn says.", default=None)
    stream: bool | None = _doc("Ask for a streamed answer.", default=None)
    max_tokens: TokenCount | None = _doc(
        "Max output tokens per turn: an int or a distribution {dist, ...}.",
        default=None,
        validator=token_count,
    )
    system: str | None = _doc(
        "System prompt (empty string: none).", default=None, validator=check.long_text
    )
    protocol: str | None = _doc("Protocol adapter name.", default=None, validator=check.name)
    target: str | None = _doc(
        "Target URL (see defaults.target).", default=None, validator=check.url
    )
    model: str | None = _doc("Model name.", default=None, validator=check.name)
    headers: dict[str, str] | None = _doc(
        "Headers merged over defaults.headers (same name: this one wins).",
        default=None,
        validator=check.headers,
    )
    temperature: float | None = _doc(
        "Sampling temperature.", default=None, validator=check.between(0, limit.MAX_TEMPERATURE)
    )
    extra_body: dict[str, Any] | None = _doc(
        "Body fields merged over defaults.extra_body.", default=None, validator=check.extra_body
    )
    tools: tuple[Tool, ...] | None = _doc(
        "Functions the model may call (replaces defaults.tools; [] for none).",
        default=None,
        validator=check.tools,
    )
    tool_choice: str | None = _doc(
        "auto, required, none, or a tool name (see defaults.tool_choice).",
        default=None,
        validator=check.name,
    )
    thresholds: Thresholds | None = _doc("Limits for this scenario, per stage.", default=None)


@attrs.frozen
class Profile:
    """A whole benchmark: who to call, with what traffic, in which stages."""

    name: str | None = _doc(
        "Profile name (default: the file name).", default=None, validator=check.name
    )
    stages: tuple[Stage, ...] = _doc(
        'Stages, in order: {"concurrency", "duration"}, {"rate", "duration"} '
        '(each with optional "ramp_to", "requests"), or strings "100:60s" / "@200:60s" / '
        '"10->100:60s" / "@10->@200:60s" / "100x@50:30s". `--stages` replaces them.',
        default=(),
        validator=check.items(limit.MAX_ITEMS),
    )
    defaults: Defaults = _doc("Settings every scenario inherits.", factory=Defaults)
    scenarios: tuple[Scenario, ...] | None = _doc(
        "Scenarios; absent means one implicit scenario made of `defaults`.",
        default=None,
        validator=check.items(limit.MAX_ITEMS),
    )
    warmup: Duration = _doc(
        "Turns starting this early in each stage are kept out of its statistics.",
        default=Duration(0),
    )
    graceful_stop: Duration = _doc(
        "Grace period for in-flight turns at the end of a stage.", default=Duration(10_000_000)
    )
    start_spread: Duration = _doc(
        "Closed stages: VU i of N starts i/N of this after the stage starts (0: all at once).",
        default=Duration(0),
    )
    think_time: ThinkTime = _doc("Default pause between turns.", default=Duration(0))
    cache_mode: CacheMode = _doc(
        "bust: UUID first; shared-prefix: UUID at the end of the first message; natural: none.",
        default="bust",
    )
    correlation: Correlation = _doc("Correlation header and tags.", factory=Correlation)
    thresholds: Thresholds = _doc("Limits checked on each stage's totals.", factory=Thresholds)
    slo: tuple[str, ...] = _doc(
        'Per-turn SLOs, e.g. ["ttft<=300ms", "latency<=10s"]: a turn is good when it is ok '
        "and meets every one; each stage reports goodput. `--slo` replaces them.",
        default=(),
        validator=_slo_texts,
    )
    seed: int = _doc(
        "Seed of every random choice in the request plan.",
        default=0,
        validator=check.between(0, limit.MAX_SEED),
    )
    timeouts: Timeouts = _doc("Per-turn time limits.", factory=Timeouts)
    http: HttpOptions = _doc("Connection behaviour.", factory=HttpOptions)
    max_in_flight: int | None = _doc(
        "Open loop: arrivals beyond this many in-flight conversations are dropped "
        "(default: derived from the open-file limit).",
        default=None,
        validator=check.between(1, limit.MAX_IN_FLIGHT),
    )
    arrival: Arrival = _doc("Open-loop arrival process.", default="constant")
    burstiness: float = _doc(
        "Gamma arrivals: shape of the gaps; 1 = poisson, below 1 burstier, above 1 smoother.",
        default=1.0,
        validator=check.above(0, limit.MAX_BURSTINESS),
    )
    max_requests: int | None = _doc(
        "End the run once this many turns have started in all (warm-up included).",
        default=None,
        validator=check.between(1, limit.MAX_REQUESTS),
    )
    redact_headers: tuple[str, ...] = _doc(
        "More header names to mask in every output (names holding key, token, secret, "
        "auth, password or cookie always are).",
        default=(),
        validator=check.header_names,
    )

    def __attrs_post_init__(self) -> None:
        if self.scenarios is not None:
            _check_scenarios(self.scenarios)


def _check_scenarios(scenarios: tuple[Scenario, ...]) -> None:
    if not scenarios:
        raise FieldError("scenarios", "list at least one scenario, or leave the key out")
    seen: dict[str, int] = {}
    for index, scenario in enumerate(scenarios):
        if not scenario.name.strip():
            raise FieldError(f"scenarios[{index}].name", "must not be empty")
        if scenario.name == "total":
            raise FieldError(
                f"scenarios[{index}].name", '"total" is reserved for the stage totals in reports'
            )
        if scenario.name in seen:
            raise FieldError(
                f"scenarios[{index}].name",
                f"{scenario.name!r} is already the name of scenarios[{seen[scenario.name]}]",
            )
        seen[scenario.name] = index
    if not any(s.weight > 0 for s in scenarios):
        raise FieldError("scenarios", "at least one scenario needs a weight above 0")
