"""Keys never appear in any output, and a written-out profile reruns the same plan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.config import Overrides, load_profile, parse_header_flag, parse_stages, resolve

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
VK = "sk-live-VKSECRET-1234567890"
API_KEY = "ak-HEADERSECRET-0987654321"
ENV_KEY = "env-ENVSECRET-5555"


def test_no_key_in_any_output_or_message(tmp_path: Path) -> None:
    """--vk, an x-api-key --header and a ${VAR} header never show in the JSONL,
    summary, report, profile, stdout or stderr."""
    profile = tmp_path / "p.json"
    profile.write_text(
        '{"stages": ["2:1s"], "warmup": "0s", "defaults": {"model": "m", "max_tokens": 4,'
        ' "headers": {"x-team-token": "${TEAM_TOKEN}"}}, "redact_headers": ["x-team-token"]}'
    )
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run", str(profile)]
    args = [
        "--mock",
        "--vk",
        VK,
        "--header",
        f"x-api-key: {API_KEY}",
        "--out",
        str(tmp_path / "out"),
    ]
    env = {"PATH": "/usr/bin:/bin", "TEAM_TOKEN": ENV_KEY}
    done = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    files = list((tmp_path / "out").iterdir())
    assert {f.name.split("-")[0] for f in files} >= {"results", "summary", "report", "profile"}
    texts = [done.stdout, done.stderr, *(f.read_text() for f in files)]
    for secret in (VK, API_KEY, ENV_KEY):
        assert not any(secret in text for text in texts), secret
    profile_text = next(f for f in files if f.name.startswith("profile-")).read_text()
    assert 'Authorization = "Bearer ***"' in profile_text
    assert 'x-team-token = "${TEAM_TOKEN}"' in profile_text  # a reference, not the key


def test_bad_header_flag_does_not_echo_its_value(tmp_path: Path) -> None:
    """A malformed --header (e.g. '=' for ':') is refused without printing it."""
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "validate"]
    done = subprocess.run(
        [*cmd, str(ROOT / "profiles" / "ai-gateway.json"), "--header", f"x-api-key={API_KEY}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert API_KEY not in done.stderr + done.stdout
    assert "--header" in done.stderr


def test_written_profile_reruns_the_same_plan(tmp_path: Path) -> None:
    """`loadtest run profile-<ts>.toml` with the keys supplied again resolves
    to exactly the plan that ran (scenarios, stages, seed, everything)."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from loadtest.cli import main; main()", "run"]
    flags = ["--vk", VK, "--header", f"x-api-key: {API_KEY}", "--model", "other-model"]
    args = [str(ROOT / "profiles" / "realistic.json"), "--mock", "--stages", "2:1s", "--seed", "9"]
    done = subprocess.run(
        [*cmd, *args, *flags, "--warmup", "0", "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (written,) = out.glob("profile-*.toml")
    again = resolve(
        load_profile(written),
        Overrides(vk=VK, headers=(parse_header_flag(f"x-api-key: {API_KEY}"),)),
        env={},
    )
    original = resolve(
        load_profile(ROOT / "profiles" / "realistic.json"),
        Overrides(
            vk=VK,
            headers=(parse_header_flag(f"x-api-key: {API_KEY}"),),
            model="other-model",
            stages=parse_stages("2:1s"),
            seed=9,
            target=again.scenarios[0].target.url.removesuffix("/v1/chat/completions"),
        ),
        env={},
    )
    assert again.scenarios == original.scenarios
    assert (again.stages, again.seed, again.warmup_s) == (original.stages, 9, 0.0)
    assert again.warnings == ()
