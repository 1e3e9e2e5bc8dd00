"""Profile files: formats, syntax errors with positions, shipped profiles."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from loadtest.config import format_stage, load_profile, profile_schema, resolve
from loadtest.errors import ConfigError

PROFILES = Path(__file__).parents[3] / "profiles"
SHIPPED = sorted(
    p
    for p in PROFILES.iterdir()
    if p.suffix in (".json", ".toml")
    and p.name != "schema.json"
    and not p.name.startswith("services.")
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_and_toml_twins_load_equal() -> None:
    """ai-gateway.json and ai-gateway.toml are the same profile."""
    assert load_profile(PROFILES / "ai-gateway.json") == load_profile(PROFILES / "ai-gateway.toml")


def test_broken_json_names_line_and_column(tmp_path: Path) -> None:
    """Invalid JSON reports the file, line and column."""
    path = write(tmp_path, "bad.json", '{\n  "stages": ["1:1s"],\n  "seed": 1,,\n}')
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert str(info.value).startswith("bad.json: line 3, column 13: invalid JSON:")


def test_broken_toml_names_line_and_column(tmp_path: Path) -> None:
    """Invalid TOML reports the file and the parser's position."""
    path = write(tmp_path, "bad.toml", 'stages = ["1:1s"]\nseed = = 3\n')
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML: .*line 2, column 8"):
        load_profile(path)


def test_duplicate_json_key_is_an_error(tmp_path: Path) -> None:
    """The same key twice in one JSON object is refused, not silently overwritten."""
    path = write(tmp_path, "dup.json", '{"stages": ["1:1s"], "seed": 1, "seed": 2}')
    with pytest.raises(ConfigError, match=r'dup\.json: invalid JSON: key "seed" appears twice'):
        load_profile(path)


def test_conversion_problems_are_prefixed_with_the_file(tmp_path: Path) -> None:
    """Each problem line starts with the file name."""
    path = write(tmp_path, "p.json", '{"stages": ["1:1s"], "cache_mode": "x", "seed": 1.5}')
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert info.value.problems == [
        'p.json: $.cache_mode: expected one of bust, shared-prefix, natural; got "x"',
        "p.json: $.seed: expected an integer, got 1.5",
    ]


def test_missing_file_and_unknown_extension(tmp_path: Path) -> None:
    """A missing file or a non-.json/.toml name is a clear error."""
    with pytest.raises(ConfigError, match="no such profile file"):
        load_profile(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match=r"a profile is a \.json or \.toml file"):
        load_profile(write(tmp_path, "p.yaml", "stages: []"))


def test_invalid_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """A profile that is not UTF-8 is refused with the file named."""
    path = tmp_path / "p.json"
    path.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(ConfigError, match=r"p\.json: not UTF-8"):
        load_profile(path)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_profiles_validate(path: Path) -> None:
    """Every shipped profile loads, resolves and matches the JSON Schema."""
    profile = load_profile(path)
    plan = resolve(profile, env={})
    assert plan.scenarios
    for scenario in plan.scenarios:
        assert scenario.target.host == "localhost"
        assert any("REPLACE_WITH_VK" in value for _, value in scenario.headers)
    if path.suffix == ".json":
        jsonschema.validate(json.loads(path.read_text()), profile_schema())


def test_realistic_profile_has_the_flagship_mix() -> None:
    """realistic.json: simple 55% / medium 30% / complex 15%."""
    plan = resolve(load_profile(PROFILES / "realistic.json"), env={})
    shape = [(s.name, s.weight, s.turns, s.stream) for s in plan.scenarios]
    assert shape == [("simple", 55, 1, False), ("medium", 30, 4, True), ("complex", 15, 3, True)]
    assert plan.cache_mode == "bust"
    assert plan.thresholds.error_rate is not None
    assert [format_stage(s) for s in plan.stages] == ["1:30s", "10:1m", "50:1m", "100:2m"]


def test_schema_file_is_the_generated_schema() -> None:
    """profiles/schema.json is exactly `loadtest schema`'s output."""
    shipped = json.loads((PROFILES / "schema.json").read_text())
    assert shipped == profile_schema()


def test_schema_rejects_what_the_loader_rejects() -> None:
    """The schema also catches unknown keys and bad enums (editors show them)."""
    schema = profile_schema()
    jsonschema.validate({"stages": ["1:1s"], "_c": 1}, schema)
    for bad in ({"stages": ["1:1s"], "wat": 1}, {"cache_mode": "cold"}, {"stages": ["1"]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_unreadable_profile(tmp_path: Path) -> None:
    """A path that cannot be read (here a directory) is a clear error."""
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(ConfigError, match=r"dir\.json: cannot read"):
        load_profile(tmp_path / "dir.json")
