"""The profile model's blocks: a turn's content, a tool, and the blocks of
settings a profile holds once (thresholds, correlation, timeouts, HTTP).

Rules: those of the profile model (config/_model.py): the classes hold what
the user wrote; their checks are of one object only.
"""

from __future__ import annotations

from typing import Any

import attrs

from loadtest.config import _checks as check
from loadtest.config import _limits as limit
from loadtest.config._checks import FieldError
from loadtest.config._dataset import DatasetContent
from loadtest.config._lengths import TokenCount, token_count
from loadtest.config._model_fields import _at_least, _doc, _non_empty_texts, _positive_duration
from loadtest.config._units import Duration

__all__ = [
    "CONTENT_MODES",
    "Content",
    "Correlation",
    "HttpOptions",
    "PoolContent",
    "ScriptedContent",
    "SizedContent",
    "Thresholds",
    "Timeouts",
    "Tool",
]


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
