"""closed_stage / open_stage: stages built in code, checked as a profile's are."""

from __future__ import annotations

import pytest

from loadtest.config import (
    ClosedStage,
    Duration,
    OpenStage,
    closed_stage,
    format_stage,
    open_stage,
    parse_stage,
)


@pytest.mark.parametrize("duration", ["30s", 30, 30.0, Duration.from_seconds(30)])
def test_a_duration_is_a_string_seconds_or_a_duration(duration: object) -> None:
    assert closed_stage(20, duration) == parse_stage("20:30s")  # type: ignore[arg-type]
    assert open_stage(2.5, duration) == parse_stage("@2.5:30s")  # type: ignore[arg-type]


def test_an_open_stage_may_name_its_arrival_process() -> None:
    stage = open_stage(10, "1m", "poisson")
    assert stage == OpenStage(rate=10, duration=Duration.from_seconds(60), arrival="poisson")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: closed_stage(0, "1s"), "concurrency: must be at least 1"),
        (lambda: closed_stage(1, "1x"), "expected a duration"),
        (lambda: open_stage(-1, "1s"), "rate"),
    ],
)
def test_out_of_range_values_are_value_errors(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_the_constructors_give_the_model_classes() -> None:
    assert isinstance(closed_stage(1, 1), ClosedStage)
    assert isinstance(open_stage(1, 1), OpenStage)


@pytest.mark.parametrize(
    ("text", "arrival", "burstiness"),
    [
        ("@200:60s~constant", "constant", None),
        ("@200:60s~poisson", "poisson", None),
        ("@200:60s~gamma", "gamma", None),
        ("@200:60s~gamma(0.5)", "gamma", 0.5),
        (" @200:60s ~ gamma( 4 ) ", "gamma", 4.0),
    ],
)
def test_a_stage_string_may_name_its_arrival_process(
    text: str, arrival: str, burstiness: float | None
) -> None:
    """`~PROCESS` after an open stage sets its arrival (and gamma's
    burstiness); format_stage writes it back the same."""
    stage = parse_stage(text)
    assert stage == open_stage(200, "60s", arrival, burstiness)  # type: ignore[arg-type]
    assert parse_stage(format_stage(stage)) == stage


def test_format_stage_keeps_the_arrival_process() -> None:
    assert format_stage(open_stage(5, "1s", "gamma", 0.25)) == "@5:1s~gamma(0.25)"
    assert format_stage(open_stage(5, "1s", "poisson")) == "@5:1s~poisson"
    assert format_stage(open_stage(5, "1s")) == "@5:1s"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10:60s~poisson", 'applies to open-loop stages \\("@RATE"\\) only'),
        (
            "@10:60s~bursty",
            'arrival must be ~constant, ~poisson, ~gamma or ~gamma\\(BURSTINESS\\), got "~bursty"',
        ),
        ("@10:60s~gamma(0)", 'burstiness must be a positive number, got "0"'),
        ("@10:60s~gamma(x)", 'burstiness must be a positive number, got "x"'),
        ("@10:60s~gamma(5000)", "burstiness must be at most 1000, got 5000"),
    ],
)
def test_a_bad_arrival_process_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_stage(text)


def test_burstiness_on_a_stage_needs_gamma_arrivals() -> None:
    """A stage's burstiness without `arrival: gamma` on the same stage is a
    mistake (it would be silently ignored), not a default."""
    with pytest.raises(ValueError, match="burstiness: applies to gamma arrivals only"):
        open_stage(5, "1s", "poisson", 0.5)
    with pytest.raises(ValueError, match="burstiness: must be greater than 0"):
        open_stage(5, "1s", "gamma", 0)
