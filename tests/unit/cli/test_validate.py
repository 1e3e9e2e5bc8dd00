"""`loadtest validate` and `loadtest schema` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.errors import EXIT_USAGE

PROFILES = Path(__file__).parents[3] / "profiles"
SHIPPED = sorted(
    p
    for p in PROFILES.iterdir()
    if p.suffix in (".json", ".toml")
    and p.name != "schema.json"
    and not p.name.startswith("services.")
)
runner = CliRunner()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_validate_prints_a_plan_for_every_shipped_profile(path: Path) -> None:
    """Each shipped profile validates (exit 0) and its plan lists stages and scenarios."""
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "stages (warm-up" in result.stdout
    assert "scenarios:" in result.stdout
    headers = [line for line in result.stdout.splitlines() if line.strip().startswith("header ")]
    assert not any("REPLACE_WITH_VK" in line for line in headers)  # masked like any key


def test_validate_realistic_shows_the_vu_split() -> None:
    """The closed-stage VU split follows the weights (100 VUs at 55/30/15)."""
    result = runner.invoke(app, ["validate", str(PROFILES / "realistic.json")])
    assert "VUs: simple 55, medium 30, complex 15" in result.stdout
    assert "VUs: simple 1, medium 0, complex 0" in result.stdout


def test_validate_shows_each_scenarios_tools() -> None:
    result = runner.invoke(app, ["validate", str(PROFILES / "tools-and-embeddings.json")])
    assert "    tools: get_weather (tool choice required)" in result.stdout
    assert "    tools: get_weather (tool choice get_weather)" in result.stdout
    assert "openai-embeddings  POST http://localhost:4000/v1/embeddings" in result.stdout
    assert "model text-embedding-3-small, answers never streamed, no output tokens" in result.stdout
    assert "model gpt-4o-mini, max_tokens 64, stream" in result.stdout


def test_overrides_apply_and_secrets_stay_hidden() -> None:
    """--stages/--target/--model/--vk/--header change the plan; the key is never printed."""
    result = runner.invoke(
        app,
        [
            "validate",
            str(PROFILES / "cross-ingress.json"),
            "--stages",
            "1000:1m",
            "--target",
            "http://gw.internal:8080",
            "--model",
            "m1",
            "--vk",
            "sk-test-SECRET",
            "-H",
            "x-trace: on",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "sk-test-SECRET" not in out
    assert "POST http://gw.internal:8080/v1/chat/completions" in out
    assert "POST http://gw.internal:8080/v1/messages" in out
    assert "model m1" in out
    assert "header x-trace: on" in out
    assert "VUs: openai-ingress 500, anthropic-ingress 500" in out


def test_vk_is_read_from_the_environment() -> None:
    """LOADTEST_VK works like --vk (and is masked too)."""
    result = runner.invoke(
        app, ["validate", str(PROFILES / "ai-gateway.json")], env={"LOADTEST_VK": "sk-env-SECRET"}
    )
    assert result.exit_code == 0
    assert "sk-env-SECRET" not in result.stdout
    assert "header Authorization: Bearer ***" in result.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ('{"stages": ["1:1s"], "wieght": 1}', [], "$.wieght: unknown key"),
        (
            '{"stages": [{"concurrency": 1.5, "duration": "1s"}]}',
            [],
            "expected an integer, got 1.5",
        ),
        (
            '{"stages": ["1:1s"], "cache_mode": "hot"}',
            [],
            "expected one of bust, shared-prefix, natural",
        ),
        ('{"stages": ["1:1s"], "warmup": "1 minute"}', [], 'expected a duration like "250ms"'),
        (
            '{"stages": ["1:1s"]}',
            ["--stages", "1:1s,@x:10s"],
            '--stages: piece 2 "@x:10s": rate must be a positive number',
        ),
        (
            '{"stages": ["1:1s"], "defaults": {"target": "http://h", "model": "m", '
            '"headers": {"k": "${NOT_SET_XYZ}"}}}',
            [],
            "environment variable NOT_SET_XYZ is not set",
        ),
        ('{"stages": ["1:1s"],\n "seed": }', [], "line 2, column 10: invalid JSON"),
        (
            '{"stages": ["1:1s"], "defaults": {"target": "http://h", "model": "m"}}',
            ["-H", "bad"],
            '--header: expected "Name: value"',
        ),
    ],
)
def test_bad_input_exits_2_with_a_one_line_error(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    """Each kind of bad input: exit code 2, the message on stderr, no traceback."""
    path = tmp_path / "p.json"
    path.write_text(content)
    result = runner.invoke(app, ["validate", str(path), *args])
    assert result.exit_code == EXIT_USAGE
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert all(line.startswith("loadtest: error: ") for line in result.stderr.splitlines())


def test_schema_command_prints_the_shipped_schema() -> None:
    """`loadtest schema` output equals profiles/schema.json."""
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads((PROFILES / "schema.json").read_text())


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    """The installed entry point reports a bad profile cleanly (and --debug shows the traceback)."""
    path = tmp_path / "p.toml"
    path.write_text('stages = ["1:1s"]\nseed = "x"\n')
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "validate", str(path)]
    plain = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert plain.returncode == EXIT_USAGE
    assert plain.stderr == 'loadtest: error: p.toml: $.seed: expected an integer, got "x"\n'
    debug = subprocess.run([*cmd, "--debug"], capture_output=True, text=True, check=False)
    assert "Traceback" in debug.stderr


def test_header_flag_reads_a_key_from_the_environment(tmp_path: Path) -> None:
    """`-H 'x-api-key: ${NAME}'` keeps the key out of ps: the value comes from
    the environment (masked in the plan); an unset NAME is an error naming it."""
    args = ["validate", str(PROFILES / "ai-gateway.json"), "-H", "x-api-key: ${GW_KEY_T}"]
    result = runner.invoke(app, args, env={"GW_KEY_T": "sk-FROM-ENV-1"})
    assert result.exit_code == 0, result.output
    assert "header x-api-key: ***" in result.stdout
    assert "sk-FROM-ENV-1" not in result.output
    result = runner.invoke(app, args, env={"GW_KEY_T": None})
    assert result.exit_code == EXIT_USAGE
    assert "environment variable GW_KEY_T is not set" in result.stderr


def test_validate_takes_ramps_counts_and_max_requests() -> None:
    """--stages takes ramps and request counts, --max-requests the run's cap;
    the plan states them, and a bad one is one line with exit 2."""
    args = ["validate", str(PROFILES / "ai-gateway.json"), "--stages", "2->8:1m,40x@1->@3:20s"]
    result = runner.invoke(app, [*args, "--max-requests", "500"])
    assert result.exit_code == 0, result.output
    assert "closed loop, 2 -> 8 VUs (linear ramp) for 1m" in result.stdout
    assert "expected: 40 conversations" in result.stdout
    assert "ends once 40 turns have started, if before 20s" in result.stdout
    assert "the run ends once 500 turns have started in all" in result.stdout
    bad = runner.invoke(app, [*args, "--max-requests", "0"])
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [
        "loadtest: error: --max-requests: must be from 1 to 1000000000000, got 0"
    ]
