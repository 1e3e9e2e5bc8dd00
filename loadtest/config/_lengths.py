"""Token counts in a profile: a fixed integer or a distribution to draw from.

`approx_input_tokens` and `max_tokens` take an integer or a table tagged by
`dist`: `uniform`, `normal`, `lognormal` or `empirical` (the lengths found
in a dataset file). `draw_tokens` draws one count from the RNG it is handed
(the conversation's, so the same seed draws the same counts).

Rules:
- Every draw is rounded to an integer and clamped to the table's `[min,
  max]` (default 1 to the field's limit): the bounds are hard, and a
  fixed integer never touches the RNG (a profile without distributions
  draws the same plan as before they existed).
- `lognormal` is given by its `mean` and `sigma` (the standard deviation of
  the underlying normal): its median is `mean * exp(-sigma**2 / 2)`.
- `empirical` draws one of the lengths of its dataset uniformly; the
  lengths are read with the dataset (`loadtest.config._files`), never here.
- Validators check one table's invariants (bounds ordered and within the
  limit, `mean` inside them, spreads not negative) and raise `FieldError`.

Pure; no I/O.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs

from loadtest.config import _checks as check
from loadtest.config import _limits as limit
from loadtest.config._checks import FieldError

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

__all__ = [
    "DISTS",
    "EmpiricalDist",
    "LognormalDist",
    "NormalDist",
    "TokenCount",
    "TokenDist",
    "UniformDist",
    "draw_tokens",
    "mean_tokens",
    "token_count",
]

_MAX = limit.MAX_INPUT_TOKENS  # == MAX_OUTPUT_TOKENS: one bound for both fields
#: Largest `sigma` of a lognormal (e**10 is a factor of 22,000 for one sigma).
MAX_SIGMA = 10.0


def _doc(doc: str, **kwargs: Any) -> Any:
    return attrs.field(metadata={"doc": doc}, **kwargs)


_bound = check.between(1, _MAX)


def _ordered(low: int, high: int) -> None:
    if low > high:
        raise FieldError("min", f"must not exceed max ({high}), got {low}")


def _mean_inside(mean: float, low: int, high: int) -> None:
    if not low <= mean <= high:
        raise FieldError("mean", f"must lie within min..max ({low}..{high}), got {mean:g}")


@attrs.frozen
class UniformDist:
    """Token counts drawn uniformly from `min` to `max` (inclusive)."""

    min: int = _doc("Lowest count.", validator=_bound)
    max: int = _doc("Highest count.", validator=_bound)

    def __attrs_post_init__(self) -> None:
        _ordered(self.min, self.max)


@attrs.frozen
class NormalDist:
    """Token counts drawn from a normal distribution, clamped to `min..max`."""

    mean: float = _doc("Mean count.", validator=check.between(1, _MAX))
    stddev: float = _doc("Standard deviation.", validator=check.between(0, _MAX))
    min: int = _doc("Lowest count (draws below are clamped).", default=1, validator=_bound)
    max: int = _doc("Highest count (draws above are clamped).", default=_MAX, validator=_bound)

    def __attrs_post_init__(self) -> None:
        _ordered(self.min, self.max)
        _mean_inside(self.mean, self.min, self.max)


@attrs.frozen
class LognormalDist:
    """Token counts drawn from a log-normal distribution of the given mean,
    clamped to `min..max`."""

    mean: float = _doc("Mean count (before clamping).", validator=check.between(1, _MAX))
    sigma: float = _doc(
        "Standard deviation of the underlying normal (the shape: 0.5 is a moderate tail).",
        validator=check.between(0, MAX_SIGMA),
    )
    min: int = _doc("Lowest count (draws below are clamped).", default=1, validator=_bound)
    max: int = _doc("Highest count (draws above are clamped).", default=_MAX, validator=_bound)

    def __attrs_post_init__(self) -> None:
        _ordered(self.min, self.max)
        _mean_inside(self.mean, self.min, self.max)


@attrs.frozen
class EmpiricalDist:
    """Token counts drawn from the lengths found in a dataset file."""

    dataset: str | None = _doc(
        "Dataset file whose lengths are drawn (relative to the profile's directory); "
        "for max_tokens, default: the scenario's own dataset content.",
        default=None,
        validator=check.path,
    )
    min: int = _doc("Lowest count (lengths below are clamped).", default=1, validator=_bound)
    max: int = _doc("Highest count (lengths above are clamped).", default=_MAX, validator=_bound)

    def __attrs_post_init__(self) -> None:
        _ordered(self.min, self.max)


TokenDist = UniformDist | NormalDist | LognormalDist | EmpiricalDist
TokenCount = int | TokenDist
DISTS: dict[str, type[UniformDist | NormalDist | LognormalDist | EmpiricalDist]] = {
    "uniform": UniformDist,
    "normal": NormalDist,
    "lognormal": LognormalDist,
    "empirical": EmpiricalDist,
}


def token_count(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A fixed count must be within 1..limit; a distribution checks itself."""
    if isinstance(value, int):
        _bound(_instance, attribute, value)


token_count.schema = {"minimum": 1, "maximum": _MAX}  # type: ignore[attr-defined]  # read by _schema


def draw_tokens(count: TokenCount, rng: random.Random, lengths: Sequence[int] = ()) -> int:
    """One token count: `count` itself when fixed, else a draw from `rng`
    (`lengths`: the dataset lengths of an `empirical` table)."""
    if isinstance(count, int):
        return count
    if isinstance(count, UniformDist):
        value: float = rng.randint(count.min, count.max)
    elif isinstance(count, NormalDist):
        value = rng.gauss(count.mean, count.stddev)
    elif isinstance(count, LognormalDist):
        value = rng.lognormvariate(math.log(count.mean) - count.sigma**2 / 2, count.sigma)
    else:
        assert lengths, "empirical lengths are loaded with the plan"
        value = lengths[int(rng.random() * len(lengths))]
    return min(max(round(value), count.min), count.max)


def mean_tokens(count: TokenCount, lengths: Sequence[int] = ()) -> float:
    """The mean a distribution asks for, before clamping (for the plan's
    description and the tests)."""
    if isinstance(count, int):
        return float(count)
    if isinstance(count, UniformDist):
        return (count.min + count.max) / 2
    if isinstance(count, NormalDist | LognormalDist):
        return count.mean
    return sum(lengths) / len(lengths) if lengths else 0.0
