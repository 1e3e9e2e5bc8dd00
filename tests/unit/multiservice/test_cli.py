"""`multi-service.py`'s command line: its help, and bad input that stops it with
one clear line per problem before anything starts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.errors import ConfigError
from loadtest.multiservice import main, run_multi_service
from loadtest.multiservice._multi import _validate

ROOT = Path(__file__).parents[3]
PROFILE = {
    "stages": ["1:1s"],
    "defaults": {"protocol": "openai-chat", "model": "m", "stream": True},
}
SERVICES = """
[[services]]
name = "a"
target = "http://localhost:4000/v1"
key_env = "MS_TEST_A_VK"
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    services = tmp_path / "services.toml"
    services.write_text(SERVICES)
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(PROFILE))
    return services, profile


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_explains_the_services_file(capsys: pytest.CaptureFixture[str]) -> None:
    """--help shows a services-file example as written and points at the shipped one."""
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    assert "Usage: multi-service.py [OPTIONS]" in out
    lines = [line.strip() for line in out.splitlines()]
    example = lines.index("[[services]]")
    assert lines[example + 1].startswith('name = "gw-a"')
    assert lines[example + 2].startswith('target = "http://localhost:4000/v1"   # base URL')
    assert "profiles/services.example.toml" in out
    assert "key_env" in out
    for flag in ("--stages", "--rounds", "--out", "--start-delay", "--json"):
        assert flag in out


def test_the_wrapper_script_runs_from_the_checkout() -> None:
    """./multi-service.py --help works with the repository's interpreter."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "multi-service.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "services.example.toml" in done.stdout


def test_missing_keys_fail_before_anything_starts(
    files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unset key_env is one error line naming the variable; no output folder appears."""
    monkeypatch.delenv("MS_TEST_A_VK", raising=False)
    out_dir = tmp_path / "out"
    code, out, err = run_main(capsys, *map(str, files), "--out", str(out_dir))
    assert code == 2
    assert err == (
        "multi-service: error: environment variables not set (or empty): MS_TEST_A_VK "
        '(service "a": key_env); nothing was sent\n'
    )
    assert out == ""
    assert not out_dir.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start-delay", "2"], '--start-delay: expected a duration like "250ms", "1.5s", '),
        (["--stages", "4:2x"], '--stages: piece 1 "4:2x": '),
    ],
)
def test_bad_flags_are_one_line_errors(
    files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    """A bad flag value exits 2 with a line naming the flag, never a traceback."""
    monkeypatch.setenv("MS_TEST_A_VK", "k")
    code, _, err = run_main(capsys, *map(str, files), "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert err.startswith(f"multi-service: error: {message}")
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_rounds_must_be_positive(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--rounds 0 is a usage error (exit 2), and the library refuses it too."""
    code, _, err = run_main(capsys, *map(str, files), "--rounds", "0")
    assert code == 2
    assert "Invalid value for '--rounds'" in err
    with pytest.raises(ConfigError, match="--rounds: at least 1"):
        run_multi_service(*files, rounds=0)


def test_profile_problems_name_the_gateway(files: tuple[Path, Path], tmp_path: Path) -> None:
    """A plan that does not resolve for a gateway names the gateway and the path."""
    services, profile = files
    profile.write_text(json.dumps({**PROFILE, "defaults": {"protocol": "openai-chat"}}))
    with pytest.raises(ConfigError) as info:
        run_multi_service(services, profile, environ={"MS_TEST_A_VK": "k"}, out=tmp_path / "o")
    assert info.value.problems == [
        'service "a": $.defaults.model: no model; set one in the profile or pass --model'
    ]
    assert not (tmp_path / "o").exists()


def test_a_gateway_without_a_key_cannot_get_the_placeholder(tmp_path: Path) -> None:
    """A profile holding the placeholder key is refused for a gateway without
    key_env (before anything starts); key_env fills it."""
    services = tmp_path / "services.toml"
    services.write_text(
        '[[services]]\nname = "keyed"\ntarget = "http://localhost:4000/v1"\n'
        'key_env = "MS_TEST_A_VK"\n'
        '[[services]]\nname = "bare"\ntarget = "http://localhost:4001/v1"\n'
    )
    profile = tmp_path / "profile.json"
    headers = {"x-api-key": "REPLACE_WITH_VK"}
    profile.write_text(
        json.dumps({**PROFILE, "defaults": {**PROFILE["defaults"], "headers": headers}})
    )
    with pytest.raises(ConfigError) as info:
        run_multi_service(services, profile, environ={"MS_TEST_A_VK": "k"}, out=tmp_path / "o")
    assert info.value.problems == [
        "service \"bare\": scenario 'default': header x-api-key holds the placeholder "
        "REPLACE_WITH_VK; pass the key with --vk or LOADTEST_VK (here: set key_env)"
    ]
    assert not (tmp_path / "o").exists()


def test_the_docs_try_it_example_passes_the_checks(tmp_path: Path) -> None:
    """docs/multi-service.md's "Try it with no gateway": its services file,
    its profile and its environment pass every check made before anything
    is sent (as written, the placeholder key stopped it with exit 2)."""
    text = (ROOT / "docs" / "multi-service.md").read_text()
    block = text[text.index("Try it with no gateway") :]
    block = block[block.index("```sh") : block.index("```", block.index("```sh") + 5)]
    services = re.search(r"<<'EOF'\n(.*?)\nEOF", block, re.S)
    assert services is not None
    path = tmp_path / "services.toml"
    path.write_text(services[1])
    env = dict(re.findall(r"^export (\w+)=(\S+)$", block, re.M))
    command = re.search(r"multi-service\.py \S+ (\S+) --stages (\S+)", block)
    assert command is not None
    _validate(path, ROOT / command[1], command[2], env)
