"""extra_body: any JSON fields but the reserved ones, within a size limit."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.config import Defaults, FieldError, Scenario, structure_profile
from loadtest.config._checks import RESERVED_BODY_KEYS
from loadtest.config._limits import MAX_EXTRA_BODY_BYTES


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValueError) as info:  # noqa: PT011  (the list is checked below)
        structure_profile(data)
    lines: list[str] = info.value.args[0]
    return lines


@pytest.mark.parametrize("key", RESERVED_BODY_KEYS)
def test_a_reserved_key_is_refused_by_name(key: str) -> None:
    """model, messages/input, system, stream, tools... are the measured
    shape of the request: extra_body may not override them, in defaults or
    in a scenario, and the error names the key."""
    data = {
        "stages": ["1:1s"],
        "defaults": {"extra_body": {key: 1}},
        "scenarios": [{"name": "a", "extra_body": {"top_p": 0.5, key: 1}}],
    }
    assert problems(data) == [
        f"$.defaults.extra_body.{key}: is set by loadtest from the scenario (model, content, "
        "system, stream, tools); extra_body may not override it",
        f"$.scenarios[0].extra_body.{key}: is set by loadtest from the scenario (model, "
        "content, system, stream, tools); extra_body may not override it",
    ]


def test_sampling_and_routing_keys_are_accepted() -> None:
    body = {
        "temperature": 0.1,
        "response_format": {"type": "json_object"},
        "provider": {"order": ["a", "b"], "allow_fallbacks": False},
        "stream_options": {"include_usage": True, "continuous_usage_stats": True},
    }
    profile = structure_profile({"stages": ["1:1s"], "defaults": {"extra_body": body}})
    assert profile.defaults.extra_body == body


def test_size_limit() -> None:
    """The encoded JSON is at most MAX_EXTRA_BODY_BYTES."""
    fits = {"k": "x" * (MAX_EXTRA_BODY_BYTES - len('{"k":""}'))}
    assert Scenario(name="a", extra_body=fits).extra_body == fits
    with pytest.raises(FieldError, match=r"extra_body: at most 1,048,576 bytes of JSON, got 1,0"):
        Scenario(name="a", extra_body={"k": "x" * MAX_EXTRA_BODY_BYTES})


def test_a_library_value_that_is_not_json_is_a_field_error() -> None:
    with pytest.raises(FieldError, match=r"extra_body: must be JSON data \(Type is not JSON"):
        Defaults(extra_body={"k": {1, 2}})
