"""Ramps and request counts in stage strings, stage objects, overrides and
the described plan."""

from __future__ import annotations

import re
from typing import Any

import pytest

from loadtest.config import (
    ClosedStage,
    Overrides,
    closed_stage,
    describe_plan,
    dump_profile,
    format_load,
    format_stage,
    open_stage,
    parse_profile,
    parse_stage,
    parse_stages,
    profile_schema,
    resolve,
    structure_profile,
)
from loadtest.errors import ConfigError

BASE: dict[str, Any] = {
    "stages": ["1:1s"],
    "defaults": {"target": "http://h/v1", "model": "m"},
}


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        (
            "10->100:60s",
            ClosedStage(concurrency=10, duration=parse_stage("1:60s").duration, ramp_to=100),
        ),
        ("0->5:1m", closed_stage(0, "1m", ramp_to=5)),
        ("5->0:1m", closed_stage(5, "1m", ramp_to=0)),
        ("@10->@200:60s", open_stage(10, "60s", ramp_to=200)),
        ("@0->@5:1m~poisson", open_stage(0, "1m", "poisson", ramp_to=5)),
        ("@10->@200:60s~gamma(0.5)", open_stage(10, "60s", "gamma", 0.5, ramp_to=200)),
        ("100x@50:30s", open_stage(50, "30s", requests=100)),
        ("100x10:30s", closed_stage(10, "30s", requests=100)),
        (" 500 x 10->50 :2m", closed_stage(10, "2m", ramp_to=50, requests=500)),
        ("7x@1->@3:4s~constant", open_stage(1, "4s", "constant", ramp_to=3, requests=7)),
        ("100x@50", open_stage(50, None, requests=100)),
        ("100x4", closed_stage(4, None, requests=100)),
        ("9x@2~gamma(2)", open_stage(2, None, "gamma", 2.0, requests=9)),
    ],
)
def test_ramp_and_count_strings_parse_and_round_trip(text: str, stage: Any) -> None:
    assert parse_stage(text) == stage
    assert parse_stage(format_stage(stage)) == stage


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10->:60s", 'ramp end must be a whole number of VUs from 0 to 100,000, got ""'),
        ("->10:60s", 'ramp start must be a whole number of VUs from 0 to 100,000, got ""'),
        ("@10->50:60s", 'a ramp has both ends of one kind: "10->100" (VUs) or "@10->@200"'),
        ("10->@50:60s", 'a ramp has both ends of one kind: "10->100" (VUs) or "@10->@200"'),
        ("-5->10:60s", 'ramp start must be a whole number of VUs from 0 to 100,000, got "-5"'),
        ("@-1->@3:5s", 'ramp start must be a rate from 0 to 100,000, got "@-1"'),
        ("@a->@3:5s", 'ramp start must be a rate from 0 to 100,000, got "@a"'),
        ("@1->@nan:5s", 'ramp end must be a rate from 0 to 100,000, got "@nan"'),
        ("@1->@1e9:5s", 'ramp end must be a rate from 0 to 100,000, got "@1e9"'),
        ("10->200000:5s", "ramp end must be a whole number of VUs from 0 to 100,000"),
        ("0->0:5s", "a ramp from 0 to 0 VUs runs nothing"),
        ("@0->@0:5s", "a ramp from 0 to 0 per second starts nothing"),
        ("10->100:0s", "duration must be longer than 0"),
        ("10->100:-1s", "duration: "),
        ("10->100:60s~poisson", 'an arrival process ("~...") applies to open-loop stages'),
        ("0x10:5s", 'a request count ("Nx") must be a whole number from 1 to 1,000,000,000,000'),
        ("ax@10:5s", 'a request count ("Nx") must be a whole number from 1 to'),
        ("-3x10:5s", 'a request count ("Nx") must be a whole number from 1 to'),
        ("10x@x:5s", 'rate must be a positive number, got "x"'),
        ("@5", 'expected LOAD:DURATION like "100:60s" or "@200:60s"; got "@5"'),
        ("10x2->8", 'a ramp needs a duration to ramp over ("10->100:60s")'),
        ("10x@1->@3~poisson", "a ramp needs a duration to ramp over"),
    ],
)
def test_malformed_ramps_and_counts_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        parse_stage(text)
    assert "\n" not in str(caught.value)


def test_a_bad_piece_of_stages_is_named_by_position() -> None:
    with pytest.raises(ValueError, match="piece 2") as caught:
        parse_stages("1:10s,@10->50:60s")
    assert caught.value.args[0] == [
        'piece 2 "@10->50:60s": a ramp has both ends of one kind: "10->100" (VUs) or '
        '"@10->@200" (rates)'
    ]


RAMP_NEEDS = 'ramp_to: a ramp needs a "duration" to ramp over'


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"concurrency": 2}, 'duration: a stage needs a "duration", a "requests" count, or both'),
        (
            {"rate": 2, "ramp_to": 4, "requests": 9},
            'ramp_to: a ramp needs a "duration" to ramp over',
        ),
        (
            {"concurrency": 2, "ramp_to": 4, "requests": 9},
            'ramp_to: a ramp needs a "duration" to ramp over',
        ),
    ],
)
def test_a_stage_object_needs_an_end(stage: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="stages") as caught:
        structure_profile({**BASE, "stages": [stage]})
    assert caught.value.args[0] == [f"$.stages[0].{message}"]


def test_stage_objects_take_ramp_to_and_requests() -> None:
    profile = structure_profile(
        {
            **BASE,
            "stages": [
                {"concurrency": 0, "ramp_to": 20, "duration": "30s", "requests": 50},
                {"rate": 5, "ramp_to": 0, "duration": "10s", "arrival": "poisson"},
            ],
            "max_requests": 1000,
        }
    )
    assert profile.stages == (
        closed_stage(0, "30s", ramp_to=20, requests=50),
        open_stage(5, "10s", "poisson", ramp_to=0),
    )
    assert profile.max_requests == 1000
    assert profile.stages[0].peak == 20
    assert profile.stages[1].expected_arrivals == 25


def test_a_written_profile_keeps_ramps_and_counts() -> None:
    """`profile-<ts>.toml` (dump_profile) reads back to the same stages and cap."""
    plan = resolve(
        structure_profile(BASE),
        Overrides(stages="10->20:5s,3x@1->@4:2s~poisson", max_requests=9),
        env={},
    )
    again = parse_profile(dump_profile(plan.profile), "toml")
    assert again.stages == plan.stages
    assert again.max_requests == 9


def test_max_requests_override_is_checked_and_named() -> None:
    with pytest.raises(ConfigError, match="--max-requests: must be from 1 to"):
        resolve(structure_profile(BASE), Overrides(max_requests=0), env={})
    plan = resolve(structure_profile(BASE), Overrides(max_requests=5), env={})
    assert plan.max_requests == 5


def test_loads_read_for_people() -> None:
    assert format_load(parse_stage("10->100:1m")) == "10->100 VUs"
    assert format_load(parse_stage("4:1m")) == "4 VUs"
    assert format_load(parse_stage("@10->@200:1m")) == "@10->@200/s"
    assert format_load(parse_stage("@2.5:1m")) == "@2.5/s"


def test_validate_describes_ramps_counts_and_expected_requests() -> None:
    """The plan names both ends of a ramp, Λ(D) = (a + b)·D/2 conversations
    for a rate ramp, each request count and the run's cap."""
    data = {**BASE, "scenarios": [{"name": "a", "weight": 3}, {"name": "b", "weight": 1}]}
    plan = resolve(
        structure_profile(data),
        Overrides(stages="4->40:1m,@10->@200:60s~poisson,100x@50:30s", max_requests=5000),
        env={},
    )
    text = describe_plan(plan)
    assert "1. 4->40:1m  closed loop, 4 -> 40 VUs (linear ramp) for 1m" in text
    assert "VUs at the start: a 3, b 1" in text
    assert "open loop, 10 -> 200 conversations/s (linear ramp) (poisson) for 1m" in text
    assert "expected: 6,300 conversations, ~6,300 requests" in text
    assert "ends once 100 turns have started, if before 30s" in text
    assert "the run ends once 5,000 turns have started in all" in text


def test_the_schema_pattern_takes_every_stage_string_the_parser_takes() -> None:
    """Editors check stage strings against the profile schema's pattern: the
    ramps, counts and arrival processes the parser takes pass it; strings
    that are not of its shape do not."""
    pattern = profile_schema()["properties"]["stages"]["items"]["anyOf"]
    strings = next(p["pattern"] for p in pattern if p.get("type") == "string")
    good = ["1:10s", "@200:60s~gamma(0.5)", "@2.5:1m~poisson", "10->100:60s", "0->5:1m"]
    good += ["@10->@200:60s~poisson", "100x@50:30s", " 500 x 10->50 :2m", "7x@1->@3:4s~constant"]
    good += ["100x@50", "100x4", "9x@2~poisson"]
    for text in good:
        parse_stage(text)
        assert re.search(strings, text), text
    for text in ["10->:5s", "x10:5s", "1:10s~foo", "1:10", "@10->50:60s", "10", "@5"]:
        assert not re.search(strings, text), text


def test_validate_describes_stages_that_end_by_their_count_only() -> None:
    data = {**BASE, "defaults": {**BASE["defaults"], "turns": 2}}
    plan = resolve(structure_profile(data), Overrides(stages="1:30s,50x3,100x@5"), env={})
    text = describe_plan(plan)
    assert "3 stages, 30s in all and 2 stages ended by request count only" in text
    assert "2. 50x3  closed loop, 3 VUs until 50 turns have started (warm-up 0s-0s" not in text
    assert "closed loop, 3 VUs until 50 turns have started (warm-up 0-0s, then steady)" in text
    assert "open loop, 5 conversations/s (constant) until 100 turns have started" in text
    assert "expected: ~50 conversations, 100 requests (mean 2 turns each)" in text
