"""Durations and ranges as they are written in profiles and on the command line.

A duration is written with a unit — `250ms`, `1.5s`, `2m`, `1h` (also `us`)
— and held as whole microseconds, so that writing a parsed duration back out
gives the same text and parsing it again gives the same value. A bare number
is refused (except `0`): `"duration": 60` could mean seconds or milliseconds,
and a benchmark must not guess. A duration is at most 31 days (`744h`).

Pure; no I/O.
"""

from __future__ import annotations

import re

import attrs

from loadtest.config._limits import MAX_DURATION_CHARS as _MAX_CHARS
from loadtest.config._limits import MAX_DURATION_US

__all__ = ["Duration", "DurationRange", "IntRange", "parse_duration"]

_UNIT_US = {"us": 1, "µs": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s|m|h)\s*$")
_EXAMPLES = '"250ms", "1.5s", "2m" or "1h"'


@attrs.frozen(order=True)
class Duration:
    """A non-negative span of time, in whole microseconds."""

    us: int = attrs.field()

    @us.validator
    def _check(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value} µs")

    @property
    def seconds(self) -> float:
        return self.us / 1_000_000

    @classmethod
    def from_seconds(cls, seconds: float) -> Duration:
        return cls(round(seconds * 1_000_000))

    def __str__(self) -> str:
        us = self.us
        if us == 0:
            return "0s"
        for unit, size in (("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000)):
            if us and us % size == 0:
                return f"{us // size}{unit}"
        if us >= 1_000_000:
            return _decimal(us, 1_000_000) + "s"
        if us % 1_000 == 0:
            return f"{us // 1_000}ms"
        if us >= 1_000:
            return _decimal(us, 1_000) + "ms"
        return f"{us}us"


def _decimal(value: int, unit: int) -> str:
    """`value / unit` written exactly, without trailing zeros."""
    whole, frac = divmod(value, unit)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0").rstrip(".")


def parse_duration(text: str) -> Duration:
    """Parse `250ms`, `1.5s`, `2m`, `1h`, `10us` or `0`; raise ValueError
    naming the accepted forms otherwise."""
    if text.strip() == "0":
        return Duration(0)
    match = _DURATION.match(text) if len(text) <= _MAX_CHARS else None
    if match is None:
        shown = text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS] + "..."
        raise ValueError(f'expected a duration like {_EXAMPLES}; got "{shown}"')
    number, unit = match.groups()
    whole, _, frac = number.partition(".")
    scale = _UNIT_US[unit]
    us = int(whole or "0") * scale
    if frac:
        us += int(frac) * scale // 10 ** len(frac)
    if us > MAX_DURATION_US:
        raise ValueError(f'a duration is at most {Duration(MAX_DURATION_US)}; got "{text}"')
    return Duration(us)


@attrs.frozen
class IntRange:
    """An inclusive integer range `{min, max}`, drawn uniformly."""

    min: int
    max: int

    def __attrs_post_init__(self) -> None:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")


@attrs.frozen
class DurationRange:
    """An inclusive duration range `{min, max}`, drawn uniformly."""

    min: Duration
    max: Duration

    def __attrs_post_init__(self) -> None:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
