"""The profile model's stages: a closed stage (virtual users) and an open
stage (arrivals per second), each with an optional ramp and request count.

Rules: those of the profile model (config/_model.py): the classes hold what
the user wrote; their checks are of one stage only.
"""

from __future__ import annotations

import math
from typing import Literal

import attrs

from loadtest.config import _checks as check
from loadtest.config import _limits as limit
from loadtest.config._checks import FieldError
from loadtest.config._model_fields import _doc, _positive_duration
from loadtest.config._units import Duration

__all__ = ["Arrival", "ClosedStage", "OpenStage", "Stage"]

Arrival = Literal["constant", "poisson", "gamma"]


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
