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
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import attrs

from loadtest.config import _checks as check
from loadtest.config import _limits as limit
from loadtest.config._checks import FieldError
from loadtest.config._dataset import DatasetContent, DatasetFields
from loadtest.config._lengths import TokenCount, token_count
from loadtest.config._slo import parse_slos
from loadtest.config._units import Duration, DurationRange, IntRange

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
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
Arrival = Literal["constant", "poisson", "gamma"]
Turns = int | IntRange
ThinkTime = Duration | DurationRange


def _doc(doc: str, **kwargs: Any) -> Any:
    return attrs.field(metadata={"doc": doc}, **kwargs)


def _at_least(low: float) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value < low:
            raise FieldError(attribute.name, f"must be at least {low:g}, got {value!r}")

    check.schema = {"minimum": low}  # type: ignore[attr-defined]  # read by _schema
    return check


def _positive_duration(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value.us <= 0:
        raise FieldError(attribute.name, f"must be longer than 0, got {value}")


def _non_empty_texts(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise FieldError(attribute.name, "must hold at least one text")
    if len(value) > limit.MAX_ITEMS:
        raise FieldError(attribute.name, f"at most {limit.MAX_ITEMS:,} texts, got {len(value):,}")
    for index, text in enumerate(value):
        if not text.strip():
            raise FieldError(f"{attribute.name}[{index}]", "must not be empty")
        if len(text) > limit.MAX_TEXT_CHARS:
            raise FieldError(
                f"{attribute.name}[{index}]",
                f"at most {limit.MAX_TEXT_CHARS:,} characters, got {len(text):,}",
            )
        if check.has_surrogate(text):
            raise FieldError(
                f"{attribute.name}[{index}]", "holds a lone surrogate, which is not text"
            )


_non_empty_texts.schema = {  # type: ignore[attr-defined]  # read by _schema
    "maxItems": limit.MAX_ITEMS,
    "items": {"type": "string", "maxLength": limit.MAX_TEXT_CHARS},
}


def _slo_texts(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if len(value) > limit.MAX_ITEMS:
        raise FieldError(attribute.name, f"at most {limit.MAX_ITEMS:,} items, got {len(value):,}")
    try:
        parse_slos(value)
    except ValueError as exc:
        raise FieldError(attribute.name, str(exc)) from None


_slo_texts.schema = {"maxItems": limit.MAX_ITEMS}  # type: ignore[attr-defined]  # read by _schema


def _turns(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    low = value.min if isinstance(value, IntRange) else value
    high = value.max if isinstance(value, IntRange) else value
    if low is not None and low < 1:
        raise FieldError(attribute.name, f"a conversation has at least 1 turn, got {low}")
    if high is not None and high > limit.MAX_TURNS:
        raise FieldError(
            attribute.name, f"a conversation has at most {limit.MAX_TURNS:,} turns, got {high}"
        )


# --- content -----------------------------------------------------------------


@attrs.frozen
class PoolContent:
    """Each turn sends a prompt drawn at random from `prompts`."""

    prompts: tuple[str, ...] = _doc("Prompts to draw from.", validator=_non_empty_texts)


@attrs.frozen
class ScriptedContent:
    """Turn i sends `script[i]`, cycling past the end."""

    script: tuple[str, ...] = _doc("User messages, one per turn.", validator=_non_empty_texts)


@attrs.frozen
class SizedContent:
    """Each turn sends about `approx_input_tokens` tokens of generated text."""

    approx_input_tokens: TokenCount = _doc(
        "Tokens of generated text per user turn: an int or a distribution {dist, ...}.",
        validator=token_count,
    )


Content = PoolContent | ScriptedContent | SizedContent | DatasetContent
CONTENT_MODES: dict[str, type[PoolContent | ScriptedContent | SizedContent | DatasetContent]] = {
    "pool": PoolContent,
    "scripted": ScriptedContent,
    "sized": SizedContent,
    "dataset": DatasetContent,
}


# --- tools -------------------------------------------------------------------


def _no_parameters() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


@attrs.frozen
class Tool:
    """A function the model may call: the fields of an OpenAI function tool."""

    name: str = _doc("Function name: letters, digits, _ or -.", validator=check.tool_name)
    description: str | None = _doc(
        "What the function does.", default=None, validator=check.long_text
    )
    parameters: dict[str, Any] = _doc(
        "JSON Schema of the function's arguments.", factory=_no_parameters
    )


# --- stages ------------------------------------------------------------------


_REQUESTS_DOC = (
    "End the stage once this many turns have started (warm-up included), "
    "or at its duration if that comes first."
)
_DURATION_DOC = "How long the stage runs (may be left out when `requests` is set)."


def _check_end(stage: ClosedStage | OpenStage) -> None:
    """A stage ends by its duration, its request count, or both; a ramp
    needs a duration to ramp over."""
    if stage.duration is None and stage.requests is None:
        raise FieldError("duration", 'a stage needs a "duration", a "requests" count, or both')
    if stage.duration is None and stage.ramp_to is not None:
        raise FieldError("ramp_to", 'a ramp needs a "duration" to ramp over')


@attrs.frozen
class ClosedStage:
    """`concurrency` virtual users, each running conversations back to back;
    with `ramp_to`, the number of VUs goes linearly from `concurrency` to
    `ramp_to` over the stage."""

    concurrency: int = _doc(
        "Number of virtual users (a ramp's first end; 0 only in a ramp).",
        validator=check.between(0, limit.MAX_VUS),
    )
    duration: Duration | None = _doc(_DURATION_DOC, default=None, validator=_positive_duration)
    ramp_to: int | None = _doc(
        "Ramp: the number of VUs at the end of the stage (linear from `concurrency`).",
        default=None,
        validator=check.between(0, limit.MAX_VUS),
    )
    requests: int | None = _doc(
        _REQUESTS_DOC, default=None, validator=check.between(1, limit.MAX_REQUESTS)
    )

    def __attrs_post_init__(self) -> None:
        _check_end(self)
        if self.ramp_to is None and self.concurrency < 1:
            raise FieldError("concurrency", "must be at least 1 (0 only as one end of a ramp)")
        if self.ramp_to == 0 and self.concurrency == 0:
            raise FieldError("ramp_to", "a ramp from 0 to 0 VUs runs nothing")

    @property
    def duration_s(self) -> float:
        """The duration in seconds (infinite for a stage with only a request count)."""
        return math.inf if self.duration is None else self.duration.seconds

    @property
    def peak(self) -> int:
        """The most VUs the stage runs at once."""
        return max(self.concurrency, self.ramp_to or 0)


@attrs.frozen
class OpenStage:
    """`rate` conversation starts per second, whatever the server does; with
    `ramp_to`, the rate goes linearly from `rate` to `ramp_to` over the stage."""

    rate: float = _doc(
        "Conversation starts per second (a ramp's first end; 0 only in a ramp).",
        validator=check.between(0, limit.MAX_RATE),
    )
    duration: Duration | None = _doc(_DURATION_DOC, default=None, validator=_positive_duration)
    arrival: Arrival | None = _doc(
        "Arrival process for this stage (default: the profile's `arrival`).", default=None
    )
    burstiness: float | None = _doc(
        "Gamma arrivals: shape of the gaps (default: the profile's `burstiness`); "
        "needs `arrival: gamma` on the same stage.",
        default=None,
        validator=check.above(0, limit.MAX_BURSTINESS),
    )
    ramp_to: float | None = _doc(
        "Ramp: the rate at the end of the stage (linear from `rate`).",
        default=None,
        validator=check.between(0, limit.MAX_RATE),
    )
    requests: int | None = _doc(
        _REQUESTS_DOC, default=None, validator=check.between(1, limit.MAX_REQUESTS)
    )

    def __attrs_post_init__(self) -> None:
        if self.burstiness is not None and self.arrival != "gamma":
            raise FieldError("burstiness", 'applies to gamma arrivals only; set "arrival": "gamma"')
        _check_end(self)
        if self.ramp_to is None and self.rate <= 0:
            raise FieldError("rate", "must be above 0 (0 only as one end of a ramp)")
        if self.ramp_to == 0 and self.rate == 0:
            raise FieldError("ramp_to", "a ramp from 0 to 0 per second starts nothing")

    @property
    def duration_s(self) -> float:
        """The duration in seconds (infinite for a stage with only a request count)."""
        return math.inf if self.duration is None else self.duration.seconds

    @property
    def expected_arrivals(self) -> float:
        """The arrivals the stage plans in its duration: rate x duration, or
        for a ramp the area under it, (rate + ramp_to) / 2 x duration
        (infinite without a duration)."""
        end = self.rate if self.ramp_to is None else self.ramp_to
        return (self.rate + end) / 2 * self.duration_s


Stage = ClosedStage | OpenStage


# --- blocks ------------------------------------------------------------------


@attrs.frozen
class Thresholds:
    """Pass/fail limits checked per stage; any failure fails the run."""

    p95_ms: float | None = _doc("Max latency p95, ms.", default=None, validator=check.ms)
    p99_ms: float | None = _doc("Max latency p99, ms.", default=None, validator=check.ms)
    ttft_p95_ms: float | None = _doc("Max TTFT p95, ms.", default=None, validator=check.ms)
    itl_p99_ms: float | None = _doc(
        "Max inter-token latency p99, ms.", default=None, validator=check.ms
    )
    error_rate: float | None = _doc(
        "Max share of failed turns, 0..1.", default=None, validator=_at_least(0)
    )
    min_rps: float | None = _doc(
        "Min successful turns per second (ok_rps).",
        default=None,
        validator=check.between(0, limit.MAX_RPS),
    )
    goodput: float | None = _doc(
        "Min goodput: share of judged turns that met every SLO, 0..1 (needs `slo`).",
        default=None,
        validator=_at_least(0),
    )
    goodput_rps: float | None = _doc(
        "Min good turns per second (needs `slo`).",
        default=None,
        validator=check.between(0, limit.MAX_RPS),
    )

    def __attrs_post_init__(self) -> None:
        if self.error_rate is not None and self.error_rate > 1:
            raise FieldError("error_rate", f"is a fraction from 0 to 1, got {self.error_rate}")
        if self.goodput is not None and self.goodput > 1:
            raise FieldError("goodput", f"is a fraction from 0 to 1, got {self.goodput}")


@attrs.frozen
class Correlation:
    """How a server-side log row is joined to one JSONL line."""

    header: str = _doc(
        "Request header carrying `<conversation uuid>-t<turn>`; empty to send none.",
        default="x-request-id",
        validator=check.optional_header_name,
    )
    uuid_in_prompt: bool = _doc(
        "Also end each user message with `[loadtest <uuid>-t<turn>]`.", default=False
    )


@attrs.frozen
class Timeouts:
    """Per-turn time limits; a turn exceeding one fails with its timeout class."""

    connect: Duration = _doc(
        "TCP connect (and TLS handshake).",
        default=Duration(10_000_000),
        validator=_positive_duration,
    )
    read: Duration = _doc(
        "Longest gap between two reads of a response.",
        default=Duration(60_000_000),
        validator=_positive_duration,
    )
    total: Duration = _doc(
        "Whole turn, request start to last byte.",
        default=Duration(600_000_000),
        validator=_positive_duration,
    )


@attrs.frozen
class HttpOptions:
    """Connection behaviour."""

    keepalive: bool = _doc("Reuse connections between turns.", default=True)
    verify: bool = _doc("Verify TLS certificates.", default=True)
    ca_bundle: str | None = _doc(
        "PEM file of CA certificates to trust.", default=None, validator=check.path
    )
    max_connections: int | None = _doc(
        "Cap on open connections per target (default: no cap beyond in-flight turns).",
        default=None,
        validator=check.between(1, limit.MAX_CONNECTIONS),
    )
    max_response_bytes: int = _doc(
        "Largest response body, streamed or not (bytes); a larger one fails as response_too_large.",
        default=16 * 1024 * 1024,
        validator=_at_least(1024),
    )


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
