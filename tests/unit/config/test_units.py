"""Durations: parsing, canonical text, and exact round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.config import Duration, DurationRange, IntRange, parse_duration
from loadtest.config._limits import MAX_DURATION_US


@pytest.mark.parametrize(
    ("text", "us"),
    [
        ("250ms", 250_000),
        ("1.5s", 1_500_000),
        ("2m", 120_000_000),
        ("1h", 3_600_000_000),
        ("10us", 10),
        ("0", 0),
        (" 3 s ", 3_000_000),
        (".5s", 500_000),
        ("0.25ms", 250),
    ],
)
def test_parse_duration_accepts_units(text: str, us: int) -> None:
    """Each unit (us, ms, s, m, h) scales to whole microseconds."""
    assert parse_duration(text).us == us


@pytest.mark.parametrize("text", ["60", "5 sec", "-1s", "1.5", "s", "", "1d", "1e3s"])
def test_parse_duration_rejects_unitless_or_unknown(text: str) -> None:
    """A bare number or an unknown unit is refused with the accepted forms named."""
    with pytest.raises(ValueError, match=r'like "250ms", "1.5s", "2m" or "1h"'):
        parse_duration(text)


@pytest.mark.parametrize(
    ("us", "text"),
    [(0, "0s"), (250_000, "250ms"), (1_500_000, "1.5s"), (120_000_000, "2m"), (7, "7us")],
)
def test_duration_text_is_canonical(us: int, text: str) -> None:
    """A duration prints in its largest exact unit."""
    assert str(Duration(us)) == text


@given(st.integers(min_value=0, max_value=MAX_DURATION_US))
def test_duration_text_round_trips(us: int) -> None:
    """Parsing the printed form of any duration gives it back exactly."""
    assert parse_duration(str(Duration(us))) == Duration(us)


def test_negative_duration_and_reversed_ranges_are_invalid() -> None:
    """Invariants: durations are non-negative, ranges are ordered."""
    with pytest.raises(ValueError, match="negative"):
        Duration(-1)
    with pytest.raises(ValueError, match="greater than max"):
        IntRange(3, 2)
    with pytest.raises(ValueError, match="greater than max"):
        DurationRange(Duration(2), Duration(1))


def test_from_seconds_rounds_to_microseconds() -> None:
    """`Duration.from_seconds` keeps microsecond precision."""
    assert Duration.from_seconds(1.2345678).us == 1_234_568
    assert Duration(1_500_000).seconds == 1.5
