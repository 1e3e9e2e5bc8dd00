"""`validate` refuses whatever `run` could not survive: out-of-range numbers,
header injection, oversized or broken text, deep nesting; and prints at most
50 problems."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.config import Overrides, parse_profile, profile_schema, resolve
from loadtest.errors import EXIT_USAGE, ConfigError

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()
BASE = '"stages": ["1:1s"], "defaults": {"target": "http://h", "model": "m"'
KEY = "sk-LIMITSECRET-42"


def validate(tmp_path: Path, text: str, *args: str, suffix: str = ".json") -> str:
    """Run `validate` on `text`; assert a clean exit 2 and return stderr."""
    path = tmp_path / f"p{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = runner.invoke(app, ["validate", str(path), *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert all(line.startswith("loadtest: error: ") for line in result.stderr.splitlines())
    return result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"seed": 18446744073709551616, ' + BASE + "}}", "$.seed: integers are at most 64 bits"),
        ('{"seed": 9223372036854775808, ' + BASE + "}}", "$.seed: integers are at most 64 bits"),
        ('{"seed": -1, ' + BASE + "}}", "$.seed: must be from 0 to 9223372036854775807"),
        ('{"max_in_flight": 18446744073709551615, ' + BASE + "}}", "integers are at most 64"),
        ('{"max_in_flight": 2000000, ' + BASE + "}}", "$.max_in_flight: must be from 1 to"),
        (
            "{" + BASE + ', "content": {"mode": "sized", "approx_input_tokens": 100000000}}}',
            "$.defaults.content.approx_input_tokens: must be from 1 to 1000000",
        ),
        (
            "{" + BASE + ', "content": {"mode": "sized", "approx_input_tokens": 1e8}}}',
            "expected an integer, got 100000000.0",
        ),
        ("{" + BASE + ', "max_tokens": 99999999999}}', "$.defaults.max_tokens: must be from 1"),
        ("{" + BASE + ', "turns": 5000}}', "at most 1,000 turns"),
        ("{" + BASE + ', "temperature": NaN}}', "is not a number JSON allows"),
        ('{"stages": "8:6s", "defaults": {"target": "http://h", "model": "m"}}', "expected a list"),
        ('{"stages": ["@1e9:1s"], "defaults": {"target": "http://h", "model": "m"}}', "to 100000"),
        ('{"stages": ["1:9999h"], "defaults": {"target": "http://h", "model": "m"}}', "744h"),
        ('{"scenarios": "abc", ' + BASE + "}}", "$.scenarios: expected a list"),
        ("{" + BASE + ', "headers": {"x api": "v"}}}', "is not an HTTP token"),
        ("{" + BASE + ', "headers": {"Host": "v"}}}', "written by loadtest itself"),
        ("{" + BASE + ', "headers": {"x-a": "1\\r\\nx-b: 2"}}}', "holds CR at position 2"),
        ("{" + BASE + ', "headers": {"x-a": "1\\nx-b: 2"}}}', "holds LF at position 2"),
        ("{" + BASE + ', "headers": {"x-a": "1\\u0000"}}}', "holds NUL at position 2"),
        ("{" + BASE + '}, "correlation": {"header": "x-id\\r\\nx-b: 1"}}', "not an HTTP token"),
        ("{" + BASE + '}, "redact_headers": ["a b"]}', "$.redact_headers[0]: header name"),
        ('{"defaults": {"model": "m\\u0007"}}', "must not hold line breaks or control"),
        ("{" + BASE + ', "system": "\\ud800"}}', "lone surrogate"),
        ('{"name": "\\udfff", ' + BASE + "}}", "lone surrogate"),
        ("{" + BASE + ', "extra_body": {"\\ud800": 1}}}', "a key holds a lone surrogate"),
        ("{" + BASE + ', "extra_body": {"n": 1e400}}}', "is not a number JSON allows"),
        ("{" + BASE + ', "extra_body": {"n": 99999999999999999999}}}', "at most 64 bits"),
        ("{" + BASE + ', "extra_body": {"a": ' + "[" * 100 + "]" * 100 + "}}}", "levels deep"),
        ("[" * 100_000 + "]" * 100_000, "nested more than 64 levels deep"),
        (
            '{"stages": ["1:1s"], "defaults": {"target": "http://h/a b", "model": "m"}}',
            "a URL is visible ASCII",
        ),
        ('{"defaults": {"model": "' + "m" * 300 + '"}}', "at most 256 characters"),
        (
            '{"stages": ["1:1s"], "defaults": {"target": "http://h:0/v1", "model": "m"}}',
            "port 0 cannot be connected to",
        ),
    ],
)
def test_validate_refuses_what_run_cannot_survive(tmp_path: Path, text: str, message: str) -> None:
    """Each value that used to crash `run` (after the load, or while printing)
    or to smuggle a header is refused by `validate` with exit 2 and one line."""
    assert message in validate(tmp_path, text)


def test_deep_toml_is_refused_cleanly(tmp_path: Path) -> None:
    """Deeply nested TOML (which overflows the parser's recursion) is one error."""
    text = 'stages = ["1:1s"]\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n"
    assert "nested more than 64 levels deep" in validate(tmp_path, text, suffix=".toml")


def test_a_megabyte_string_in_stages_is_one_quick_error(tmp_path: Path) -> None:
    """A 1 MB string where a list belongs is one short problem, in well under a second."""
    text = '{"stages": "' + "x" * 1_000_000 + '", "defaults": {"target": "http://h", "model": "m"}}'
    started = time.monotonic()
    stderr = validate(tmp_path, text)
    assert time.monotonic() - started < 5  # was 60 s and 2.5 GB
    assert len(stderr) < 500
    assert stderr.count("\n") == 1


def test_at_most_fifty_problems_are_printed(tmp_path: Path) -> None:
    """200 bad prompts give 50 lines and a count of the rest."""
    scenarios = [{"name": f"s{i}", "max_tokens": 0} for i in range(200)]
    text = json.dumps({"stages": ["1:1s"], "scenarios": scenarios})
    lines = validate(tmp_path, text).splitlines()
    assert len(lines) == 51
    assert lines[-1] == "loadtest: error: ... and 150 more"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "18446744073709551616"], "--seed: must be from 0 to 9223372036854775807"),
        (["--vk", f"{KEY}\r\nx-injected: 1"], "--vk / --header: the value of header Authorization"),
        (["--vk", f"{KEY}\x00"], "holds NUL"),
        (["-H", f"x-api-key: {KEY}\nx-injected: 1"], "--header: the value of header x-api-key"),
        (["-H", "x b: 1"], '--header: expected "Name: value"'),
        (["-H", "x\x01b: 1"], "--header: header name"),
        (["-H", "Content-Length: 1"], "--header: header Content-Length is written by loadtest"),
        (["--model", "a\nb"], "--model: must not hold line breaks"),
        (["--target", "http://h/\r\nx"], "--target: must not hold line breaks"),
        (["--target", "http://h/é"], "a URL is visible ASCII"),
        (["--stages", "x" * 100_000], "--stages: piece 1"),
    ],
)
def test_flags_are_checked_like_the_profile(tmp_path: Path, args: list[str], message: str) -> None:
    """Flags obey the profile's limits; a key in a bad value is never echoed."""
    stderr = validate(tmp_path, "{" + BASE + "}}", *args)
    assert message in stderr
    assert KEY not in stderr
    assert len(stderr) < 1000


def test_environment_values_are_checked_at_resolve() -> None:
    """A `${NAME}` that expands to CR/LF would inject a header: refused."""
    profile = parse_profile(
        "{" + BASE + ', "headers": {"x-api-key": "${THE_KEY}"}}}', "json", source="p.json"
    )
    with pytest.raises(ConfigError) as info:
        resolve(profile, Overrides(), env={"THE_KEY": f"{KEY}\r\nx-injected: 1"})
    assert 'headers["x-api-key"]: after ${NAME} expansion' in str(info.value)
    assert KEY not in str(info.value)


def test_the_schema_carries_the_limits() -> None:
    """Ranges and lengths appear in the JSON Schema as minimum/maximum/maxLength."""
    schema = profile_schema()
    props = schema["properties"]
    assert props["seed"]["maximum"] == 2**63 - 1
    assert props["seed"]["minimum"] == 0
    assert props["max_in_flight"]["anyOf"][0]["maximum"] == 1_000_000
    assert props["stages"]["maxItems"] == 10_000
    assert props["name"]["anyOf"][0]["maxLength"] == 256
    defaults = schema["$defs"]["Defaults"]["properties"]
    assert defaults["headers"]["propertyNames"]["pattern"].startswith("^[-!#$%&")
    assert defaults["headers"]["additionalProperties"]["maxLength"] == 16_384
    sized = schema["$defs"]["Defaults"]["properties"]["content"]["oneOf"][2]["properties"]
    assert sized["approx_input_tokens"]["anyOf"][0]["maximum"] == 1_000_000
    assert schema["$defs"]["Correlation"]["properties"]["header"]["maxLength"] == 256
