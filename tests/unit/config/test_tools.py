"""Tools and embeddings in profiles: the tool block, its checks against the
scenario's protocol, and the stream rule of protocols that cannot stream."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.config import (
    FieldError,
    Tool,
    dump_profile,
    parse_profile,
    resolve,
    structure_profile,
)
from loadtest.config._limits import MAX_TOOLS
from loadtest.errors import ConfigError
from loadtest.protocol import FunctionTool

WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def profile(defaults: dict[str, Any] | None = None, **scenario: Any) -> dict[str, Any]:
    return {
        "stages": ["1:1s"],
        "defaults": {"target": "http://gw/v1", "model": "m", **(defaults or {})},
        "scenarios": [{"name": "s", **scenario}],
    }


def problems(data: dict[str, Any]) -> list[str]:
    try:
        resolve(structure_profile(data), env={})
    except ConfigError as exc:
        return exc.problems
    except ValueError as exc:
        lines: list[str] = exc.args[0]
        return lines
    raise AssertionError("no problem")


def test_tools_and_choice_reach_the_plan() -> None:
    """A scenario's tools replace the defaults'; [] removes them; a tool
    without parameters takes an empty object schema."""
    data = profile({"tools": [WEATHER], "tool_choice": "auto"})
    data["scenarios"] += [
        {"name": "own", "tools": [{"name": "noop"}], "tool_choice": "noop"},
        {"name": "none", "tools": []},
    ]
    inherited, own, none = resolve(structure_profile(data), env={}).scenarios
    assert inherited.tools == (
        FunctionTool("get_weather", "Weather in a city", WEATHER["parameters"]),
    )
    assert inherited.tool_choice == "auto"
    assert own.tools == (FunctionTool("noop", None, {"type": "object", "properties": {}}),)
    assert own.tool_choice == "noop"
    assert (none.tools, none.tool_choice) == ((), None)  # the inherited choice is dropped


def test_tools_survive_a_toml_round_trip() -> None:
    loaded = structure_profile(profile({"tools": [WEATHER]}, tool_choice="required"))
    assert parse_profile(dump_profile(loaded), "toml") == loaded


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            profile({"tools": [{"name": "get weather"}]}),
            "$.defaults.tools[0].name: a tool name is 1 to 64 letters, digits, _ or -, "
            "got 'get weather'",
        ),
        (
            profile(tools=[{"name": "a"}, {"name": "b"}, {"name": "a"}]),
            "$.scenarios[0].tools[2].name: 'a' is already the name of tools[0]",
        ),
        (
            profile(tools=[{"name": "a", "params": {}}]),
            "$.scenarios[0].tools[0].params: unknown key",
        ),
        (
            profile(protocol="openai-embeddings", tools=[WEATHER]),
            "$.scenarios[0].tools: protocol 'openai-embeddings' sends no tools "
            "(anthropic, openai-chat, openai-responses do)",
        ),
        (
            profile(tool_choice="auto"),
            "$.scenarios[0].tool_choice: there are no tools to choose from; set tools",
        ),
        (
            profile({"tool_choice": "auto"}),
            "$.scenarios[0].tool_choice: there are no tools to choose from; set tools",
        ),
        (
            profile({"tools": [WEATHER, {"name": "noop"}]}, tool_choice="get_time"),
            "$.scenarios[0].tool_choice: 'get_time' is none of auto, required, none or a "
            "tool's name (get_weather, noop)",
        ),
        (
            profile(protocol="openai-embeddings", stream=True),
            "$.scenarios[0].stream: protocol 'openai-embeddings' has no streamed answers; "
            "leave stream out or set it to false",
        ),
    ],
)
def test_tool_and_stream_problems_name_their_path(data: dict[str, Any], expected: str) -> None:
    assert any(line.startswith(expected) for line in problems(data)), problems(data)


def test_too_many_tools() -> None:
    with pytest.raises(FieldError, match=f"at most {MAX_TOOLS} tools, got {MAX_TOOLS + 1}"):
        structure_profile(profile()).defaults.__class__(
            tools=tuple(Tool(f"t{i}") for i in range(MAX_TOOLS + 1))
        )


def test_embeddings_ignore_the_defaults_stream() -> None:
    """defaults.stream (true by default) does not apply to a protocol
    without streams; stream false is accepted."""
    data = profile(protocol="openai-embeddings")
    data["scenarios"].append({"name": "off", "protocol": "openai-embeddings", "stream": False})
    plans = resolve(structure_profile(data), env={}).scenarios
    assert [p.stream for p in plans] == [False, False]
