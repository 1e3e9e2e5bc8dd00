"""Profile conversion: strict types, unknown keys, every problem at once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from loadtest.config import (
    ClosedStage,
    Duration,
    DurationRange,
    IntRange,
    OpenStage,
    PoolContent,
    Profile,
    ScriptedContent,
    SizedContent,
    dump_profile,
    parse_profile,
    structure_profile,
    unstructure_profile,
)
from loadtest.errors import ConfigError

from .strategies import profiles


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValueError) as info:  # noqa: PT011  (the list is checked by callers)
        structure_profile(data)
    lines: list[str] = info.value.args[0]
    return lines


def one_problem(data: dict[str, Any]) -> str:
    lines = problems(data)
    assert len(lines) == 1, lines
    return lines[0]


BASE: dict[str, Any] = {"stages": ["1:1s"]}


def test_minimal_profile_gets_defaults() -> None:
    """A profile of only stages converts, with documented defaults."""
    profile = structure_profile(BASE)
    assert profile.stages == (ClosedStage(1, Duration(1_000_000)),)
    assert profile.cache_mode == "bust"
    assert profile.graceful_stop == Duration(10_000_000)
    assert profile.defaults.content == SizedContent(128)
    assert profile.scenarios is None


def test_stage_objects_and_strings_are_equivalent() -> None:
    """`{"concurrency", "duration"}` equals "N:DUR"; `{"rate", ...}` equals "@R:DUR"."""
    as_text = structure_profile({"stages": ["10:1m", "@2.5:30s"]})
    as_objects = structure_profile(
        {
            "stages": [
                {"concurrency": 10, "duration": "60s"},
                {"rate": 2.5, "duration": "30000ms"},
            ]
        }
    )
    assert as_text == as_objects
    assert as_text.stages[1] == OpenStage(2.5, Duration(30_000_000))


def test_open_stage_may_choose_its_arrival() -> None:
    """An open stage object can set `arrival` for itself."""
    profile = structure_profile({"stages": [{"rate": 5, "duration": "1s", "arrival": "poisson"}]})
    assert profile.stages[0] == OpenStage(5.0, Duration(1_000_000), "poisson")


def test_gamma_arrivals_in_a_profile_and_their_errors() -> None:
    """A stage object or string may choose gamma with a burstiness; a
    misplaced or out-of-range burstiness is one line naming its place."""
    profile = structure_profile(
        {
            "burstiness": 2,
            "stages": [
                {"rate": 5, "duration": "1s", "arrival": "gamma", "burstiness": 0.5},
                "@5:1s~gamma(0.5)",
            ],
        }
    )
    assert profile.burstiness == 2.0
    assert (
        profile.stages[0] == profile.stages[1] == OpenStage(5.0, Duration(1_000_000), "gamma", 0.5)
    )
    cases = {
        '$.stages[0].burstiness: applies to gamma arrivals only; set "arrival": "gamma"': {
            "stages": [{"rate": 5, "duration": "1s", "burstiness": 0.5}]
        },
        '$.stages[0]: burstiness must be a positive number, got "0"': {
            "stages": ["@5:1s~gamma(0)"]
        },
        "$.burstiness: must be greater than 0 and at most 1000, got 0.0": {
            "burstiness": 0,
            "stages": ["@5:1s"],
        },
    }
    for message, data in cases.items():
        with pytest.raises(ValueError, match="burstiness") as info:
            structure_profile(data)
        assert info.value.args[0] == [message]


def test_ranges_and_content_modes() -> None:
    """`turns` and `think_time` take a value or {min, max}; content is tagged by mode."""
    profile = structure_profile(
        {
            **BASE,
            "think_time": {"min": "1s", "max": "2s"},
            "defaults": {
                "turns": {"min": 2, "max": 4},
                "content": {"mode": "scripted", "script": ["a"]},
            },
            "scenarios": [
                {
                    "name": "a",
                    "turns": 3,
                    "think_time": "500ms",
                    "content": {"mode": "pool", "prompts": ["x"]},
                }
            ],
        }
    )
    assert profile.think_time == DurationRange(Duration(1_000_000), Duration(2_000_000))
    assert profile.defaults.turns == IntRange(2, 4)
    assert profile.defaults.content == ScriptedContent(("a",))
    assert profile.scenarios is not None
    assert profile.scenarios[0].content == PoolContent(("x",))
    assert profile.scenarios[0].think_time == Duration(500_000)


def test_comment_keys_and_schema_key_are_ignored() -> None:
    """Keys starting with `_` are dropped anywhere; `$schema` is allowed at the top."""
    profile = structure_profile(
        {
            **BASE,
            "$schema": "./schema.json",
            "_comment": "top",
            "defaults": {
                "_note": "x",
                "content": {"mode": "sized", "approx_input_tokens": 5, "_why": 1},
            },
        }
    )
    assert profile.defaults.content == SizedContent(5)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"stages": [{"concurrency": 12.9, "duration": "1s"}]},
            "$.stages[0].concurrency: expected an integer, got 12.9",
        ),
        (
            {"stages": [{"concurrency": "12", "duration": "1s"}]},
            '$.stages[0].concurrency: expected an integer, got "12"',
        ),
        (
            {"stages": [{"concurrency": True, "duration": "1s"}]},
            "$.stages[0].concurrency: expected an integer, got true",
        ),
        ({**BASE, "defaults": {"model": 42}}, "$.defaults.model: expected a string, got 42"),
        (
            {**BASE, "defaults": {"stream": "yes"}},
            '$.defaults.stream: expected true or false, got "yes"',
        ),
        (
            {**BASE, "defaults": {"temperature": "hot"}},
            '$.defaults.temperature: expected a number, got "hot"',
        ),
        (
            {**BASE, "cache_mode": "cold"},
            '$.cache_mode: expected one of bust, shared-prefix, natural; got "cold"',
        ),
        (
            {**BASE, "defaults": {"content": {"mode": "poo"}}},
            '$.defaults.content.mode: expected one of pool, scripted, sized, dataset; got "poo"',
        ),
        (
            {**BASE, "defaults": {"content": {"prompts": ["x"]}}},
            '$.defaults.content: missing "mode" (one of pool, scripted, sized, dataset)',
        ),
        (
            {**BASE, "warmup": "5 sec"},
            '$.warmup: expected a duration like "250ms", "1.5s", "2m" or "1h"; got "5 sec"',
        ),
        (
            {**BASE, "warmup": 5},
            '$.warmup: expected a duration string like "250ms", "1.5s", "2m" or "1h", got 5',
        ),
        ({"stages": ["@x:10s"]}, '$.stages[0]: rate must be a positive number, got "x"'),
        (
            {"stages": ["10"]},
            '$.stages[0]: expected LOAD:DURATION like "100:60s" or "@200:60s"; got "10"',
        ),
        (
            {"stages": [{"rate": 1}]},
            '$.stages[0].duration: a stage needs a "duration", a "requests" count, or both',
        ),
        (
            {"stages": [{"rate": 1, "concurrency": 1, "duration": "1s"}]},
            '$.stages[0]: a stage has "concurrency" (closed loop) or "rate" (open loop), not both',
        ),
        (
            {"stages": [{"duration": "1s"}]},
            '$.stages[0]: a stage needs "concurrency" (closed loop) or "rate" (open loop)',
        ),
        (
            {"stages": [{"concurrency": 0, "duration": "1s"}]},
            "$.stages[0].concurrency: must be at least 1 (0 only as one end of a ramp)",
        ),
        (
            {"stages": [{"rate": 0, "duration": "1s"}]},
            "$.stages[0].rate: must be above 0 (0 only as one end of a ramp)",
        ),
        (
            {"stages": [{"rate": -1, "duration": "1s"}]},
            "$.stages[0].rate: must be from 0 to 100000, got -1.0",
        ),
        (
            {"stages": [{"concurrency": 0, "ramp_to": 0, "duration": "1s"}]},
            "$.stages[0].ramp_to: a ramp from 0 to 0 VUs runs nothing",
        ),
        (
            {"stages": [{"rate": 0, "ramp_to": 0, "duration": "1s"}]},
            "$.stages[0].ramp_to: a ramp from 0 to 0 per second starts nothing",
        ),
        (
            {"stages": [{"rate": 1, "ramp_to": 100001, "duration": "1s"}]},
            "$.stages[0].ramp_to: must be from 0 to 100000, got 100001.0",
        ),
        (
            {"stages": [{"concurrency": 1, "requests": 0, "duration": "1s"}]},
            "$.stages[0].requests: must be from 1 to 1000000000000, got 0",
        ),
        (
            {"stages": [{"rate": 1, "duration": "0s"}]},
            "$.stages[0].duration: must be longer than 0, got 0s",
        ),
        (
            {**BASE, "defaults": {"turns": {"min": 3, "max": 1}}},
            "$.defaults.turns: min (3) is greater than max (1)",
        ),
        (
            {**BASE, "defaults": {"turns": {"min": 1, "maximum": 3}}},
            '$.defaults.turns: a range is {min, max}; unknown key "maximum"',
        ),
        (
            {**BASE, "defaults": {"turns": 0}},
            "$.defaults.turns: a conversation has at least 1 turn, got 0",
        ),
        (
            {**BASE, "defaults": {"turns": "3"}},
            '$.defaults.turns: expected an integer or {min, max}, got "3"',
        ),
        (
            {**BASE, "defaults": {"headers": {"x-api-key": 3}}},
            '$.defaults.headers["x-api-key"]: expected a string, got 3',
        ),
        (
            {**BASE, "defaults": {"headers": ["a"]}},
            "$.defaults.headers: expected an object of strings, got a list",
        ),
        (
            {**BASE, "defaults": {"content": {"mode": "pool", "prompts": "hi"}}},
            '$.defaults.content.prompts: expected a list of strings, got "hi"',
        ),
        (
            {**BASE, "defaults": {"content": {"mode": "pool", "prompts": ["a", 1]}}},
            "$.defaults.content.prompts[1]: expected a string, got 1",
        ),
        (
            {**BASE, "defaults": {"content": {"mode": "pool", "prompts": ["a", " "]}}},
            "$.defaults.content.prompts[1]: must not be empty",
        ),
        (
            {**BASE, "thresholds": {"error_rate": 5}},
            "$.thresholds.error_rate: is a fraction from 0 to 1, got 5.0",
        ),
        (
            {**BASE, "scenarios": []},
            "$.scenarios: list at least one scenario, or leave the key out",
        ),
        (
            {**BASE, "scenarios": [{"name": "a"}, {"name": "a"}]},
            "$.scenarios[1].name: 'a' is already the name of scenarios[0]",
        ),
        (
            {**BASE, "scenarios": [{"name": "a", "weight": 0}]},
            "$.scenarios: at least one scenario needs a weight above 0",
        ),
        ({**BASE, "scenarios": [{"weight": 1}]}, "$.scenarios[0].name: required key missing"),
        ({**BASE, "timeouts": "5s"}, '$.timeouts: expected an object (Timeouts), got "5s"'),
    ],
)
def test_each_bad_value_names_its_path(data: dict[str, Any], expected: str) -> None:
    """Every kind of bad value yields one line: the JSON path, then what was
    expected and what arrived."""
    assert one_problem(data) == expected


def test_unknown_key_suggests_the_closest_name() -> None:
    """A typo is an error that suggests the key it probably meant."""
    line = one_problem({**BASE, "scenarios": [{"name": "a", "wieght": 3}]})
    assert line.startswith(
        '$.scenarios[0].wieght: unknown key; did you mean "weight"? (allowed: name,'
    )


def test_unknown_key_in_quoted_form() -> None:
    """Keys that are not identifiers are quoted in the path."""
    line = one_problem({**BASE, "http": {"max-conns": 3}})
    assert line.startswith('$.http["max-conns"]: unknown key')


def test_every_problem_is_reported_at_once() -> None:
    """Problems in different places are all listed, in document order."""
    lines = problems(
        {
            "stages": ["@x:10s", {"concurrency": 1.5, "duration": "1s"}],
            "cache_mode": "cold",
            "defaults": {"model": 1},
            "warmup": "soon",
        }
    )
    assert [line.split(":")[0] for line in lines] == [
        "$.stages[0]",
        "$.stages[1].concurrency",
        "$.defaults.model",
        "$.warmup",
        "$.cache_mode",
    ]


@settings(max_examples=150, deadline=None)
@given(profiles)
def test_unstructure_structure_round_trip(profile: Profile) -> None:
    """Any valid profile survives unstructure -> structure unchanged."""
    assert structure_profile(unstructure_profile(profile)) == profile


@settings(max_examples=100, deadline=None)
@given(profiles)
def test_toml_dump_load_round_trip(profile: Profile) -> None:
    """Any valid profile written as TOML reads back equal."""
    assert parse_profile(dump_profile(profile), "toml") == profile


def test_dump_refuses_what_toml_cannot_hold() -> None:
    """A null inside extra_body cannot be TOML: a clear ConfigError, not a crash."""
    profile = structure_profile({**BASE, "defaults": {"extra_body": {"stop": None}}})
    with pytest.raises(ConfigError, match="cannot be written as TOML"):
        dump_profile(profile)


def test_total_is_a_reserved_scenario_name() -> None:
    """A scenario cannot be named "total": reports use it for stage totals."""
    assert one_problem({**BASE, "scenarios": [{"name": "total"}]}) == (
        '$.scenarios[0].name: "total" is reserved for the stage totals in reports'
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"stages": [{"concurrency": None, "duration": "1s"}]},
            "$.stages[0].concurrency: expected an integer, got null",
        ),
        (
            {"stages": [{"concurrency": False, "duration": "1s"}]},
            "$.stages[0].concurrency: expected an integer, got false",
        ),
        (
            {"stages": [{"concurrency": [1], "duration": "1s"}]},
            "$.stages[0].concurrency: expected an integer, got a list",
        ),
        (
            {"stages": [{"concurrency": {"n": 1}, "duration": "1s"}]},
            "$.stages[0].concurrency: expected an integer, got an object",
        ),
        (
            {**BASE, "think_time": {"min": "1s", "max": "soon"}},
            '$.think_time.max: expected a duration like "250ms", "1.5s", "2m" or "1h"; got "soon"',
        ),
        (
            {**BASE, "defaults": {"content": {"mode": "pool", "prompts": []}}},
            "$.defaults.content.prompts: must hold at least one text",
        ),
        ({**BASE, "scenarios": [{"name": "  "}]}, "$.scenarios[0].name: must not be empty"),
        (
            {"stages": ["0:10s"]},
            '$.stages[0]: concurrency must be a whole number of at least 1, got "0"',
        ),
        ({"stages": ["1:0s"]}, "$.stages[0]: duration must be longer than 0"),
        (
            {"stages": ["1:soon"]},
            '$.stages[0]: duration: expected a duration like "250ms", "1.5s", "2m" or "1h"; '
            'got "soon"',
        ),
    ],
)
def test_more_bad_values(data: dict[str, Any], expected: str) -> None:
    """Every JSON spelling of a wrong value, and the remaining invariants."""
    assert one_problem(data) == expected


def test_schema_builder_refuses_an_unknown_type() -> None:
    """A model field of a type the schema has no rule for fails loudly."""
    from loadtest.config._schema import _Builder

    with pytest.raises(TypeError, match="no schema rule"):
        _Builder().of(complex)
