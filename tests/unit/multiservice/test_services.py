"""The services file: its format, its strict checks and their messages, and the
environment check that runs before any load is sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadtest.errors import ConfigError
from loadtest.multiservice import Service, load_services, missing_env, parse_services

ROOT = Path(__file__).parents[3]

TOML = """
_comment = "two gateways"
[[services]]
name = "gw-a"
target = "http://localhost:4000/v1"
key_env = "GW_A_VK"

[[services]]
name = "gw-b"
target = "http://localhost:8080"
model = "gpt-4o-mini"
headers = { x-team = "bench", x-api-key = "${GW_B_KEY}" }
"""

JSON = """{"services": [
  {"name": "gw-a", "target": "http://localhost:4000/v1", "key_env": "GW_A_VK"},
  {"name": "gw-b", "target": "http://localhost:8080", "model": "gpt-4o-mini",
   "headers": {"x-team": "bench", "x-api-key": "${GW_B_KEY}"}, "_note": "ignored"}
]}"""


def problems(text: str, fmt: str = "toml") -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_services(text, fmt, source="svc." + fmt)
    return info.value.problems


def one(body: str) -> str:
    """A TOML services file with one service whose body is `body`."""
    return f'[[services]]\nname = "a"\ntarget = "http://localhost:1"\n{body}\n'


def test_toml_and_json_load_to_the_same_services() -> None:
    """Both formats give the same services, in file order; `_` keys are comments."""
    services = parse_services(TOML, "toml")
    assert services == parse_services(JSON, "json")
    assert services == (
        Service("gw-a", "http://localhost:4000/v1", key_env="GW_A_VK"),
        Service(
            "gw-b",
            "http://localhost:8080",
            model="gpt-4o-mini",
            headers={"x-team": "bench", "x-api-key": "${GW_B_KEY}"},
        ),
    )


def test_the_shipped_example_loads_with_localhost_targets_and_no_keys() -> None:
    """profiles/services.example.toml is valid, points at localhost only and holds no key."""
    path = ROOT / "profiles" / "services.example.toml"
    services = load_services(path)
    assert len(services) >= 2
    assert all(re.match(r"^http://localhost:\d+", s.target) for s in services)
    text = path.read_text()
    assert "sk-" not in text
    assert all(
        not v or v.startswith("${")
        for s in services
        for v in s.headers.values()
        if "key" in v.lower()
    )


def test_unknown_keys_are_errors_with_their_path_and_a_hint() -> None:
    """A typo names its path, the close key and every allowed key; all problems at once."""
    found = problems(one('tagret = "x"') + '[[services]]\nname = "b"\ntarget = 4\n')
    assert found == [
        'svc.toml: $.services[0].tagret: unknown key; did you mean "target"? '
        "(allowed: name, target, model, key_env, headers)",
        "svc.toml: $.services[1].target: expected a string, got 4",
    ]
    assert problems("servces = []") == [
        "svc.toml: $.services: required key missing",
        'svc.toml: $.servces: unknown key; did you mean "services"? (allowed: services)',
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("model = 12", "$.services[0].model: expected a string, got 12"),
        ("headers = { x = 1 }", "$.services[0].headers.x: expected a string, got 1"),
        ('key_env = "MY-KEY"', '$.services[0].key_env: "MY-KEY" is not an environment variable'),
        ('headers = { "x y" = "1" }', '$.services[0].headers["x y"]: a header name has no'),
    ],
)
def test_bad_fields_are_named(body: str, expected: str) -> None:
    """A wrong type or value names the field's path."""
    (found,) = problems(one(body))
    assert found.startswith(f"svc.toml: {expected}")


def test_names_are_unique_short_and_plain() -> None:
    """A name labels a row and names a folder: no duplicates, spaces or slashes."""
    twice = one("") + '[[services]]\nname = "a"\ntarget = "http://localhost:2"\n'
    assert problems(twice) == ['svc.toml: $.services[1].name: "a" is used twice']
    for bad in ("a b", "../x", "", "x" * 25):
        (found,) = problems(f'[[services]]\nname = "{bad}"\ntarget = "http://localhost:1"\n')
        assert found.startswith("svc.toml: $.services[0].name: ")


def test_targets_must_be_http_urls() -> None:
    """A target is an http(s) URL with a host; `${NAME}` in it is left to resolution."""
    (found,) = problems('[[services]]\nname = "a"\ntarget = "localhost:4000"\n')
    assert "expected an http:// or https:// URL with a host" in found
    assert parse_services('[[services]]\nname = "a"\ntarget = "http://${GW}/v1"\n', "toml")


def test_a_secret_header_must_come_from_the_environment() -> None:
    """A literal key in Authorization / x-api-key / api-key is refused; `${NAME}` is fine."""
    for header in ("Authorization", "x-api-key", "API-KEY"):
        (found,) = problems(one(f'headers = {{ {header} = "Bearer sk-123" }}'))
        assert "takes its value from the environment" in found
        assert "sk-123" not in found
    assert parse_services(one('headers = { Authorization = "Bearer ${VK}" }'), "toml")


def test_no_services_is_an_error() -> None:
    """An empty list has nothing to compare."""
    assert problems("services = []") == [
        "svc.toml: $.services: no services; list at least one gateway"
    ]


def test_file_errors_are_one_clear_line(tmp_path: Path) -> None:
    """Missing file, wrong extension, broken TOML and a JSON key given twice."""
    cases = {
        tmp_path / "none.toml": None,
        tmp_path / "svc.yaml": "services: []",
        tmp_path / "broken.toml": "[[services]\n",
        tmp_path / "twice.json": '{"services": [], "services": []}',
    }
    messages = []
    for path, text in cases.items():
        if text is not None:
            path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_services(path)
        (line,) = info.value.problems
        messages.append(line)
    assert messages[0] == f"{tmp_path / 'none.toml'}: no such services file"
    assert messages[1].endswith("a services file is a .toml or .json file")
    assert messages[2].startswith("broken.toml: invalid TOML: ")
    assert messages[3] == 'twice.json: invalid JSON: key "services" appears twice in one object'


def test_missing_env_lists_every_unset_or_empty_variable_in_file_order() -> None:
    """key_env, `${NAME}` in headers and in targets are all checked; empty counts as unset."""
    services = parse_services(
        TOML + '[[services]]\nname = "c"\ntarget = "http://${C_HOST}/v1"\nkey_env = "C_VK"\n',
        "toml",
    )
    env = {"GW_A_VK": "", "C_VK": "set"}
    assert missing_env(services, env) == [
        'GW_A_VK (service "gw-a": key_env)',
        'GW_B_KEY (service "gw-b": headers["x-api-key"])',
        'C_HOST (service "c": target)',
    ]
    assert (
        missing_env(services, {"GW_A_VK": "a", "GW_B_KEY": "b", "C_HOST": "h", "C_VK": "c"}) == []
    )
