"""closed_stage / open_stage: stages built in code, checked as a profile's are."""

from __future__ import annotations

import pytest

from loadtest.config import ClosedStage, Duration, OpenStage, closed_stage, open_stage, parse_stage


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
        (lambda: closed_stage(0, "1s"), "concurrency: must be from 1"),
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
