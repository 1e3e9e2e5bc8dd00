"""The deployment recipes in deploy/ cannot drift from the code.

The Kubernetes Indexed Job's container command line is parsed by the
current `loadtest` CLI (with `$(VAR)` expanded as the kubelet expands it,
and the start-time placeholder filled in as docs/scale.md says): an option
renamed or removed in the CLI fails here. The Dockerfile installs extras
that exist and copies files that exist.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from loadtest.cli import app
from loadtest.config import Segment, parse_segment

ROOT = Path(__file__).parents[2]
K8S = ROOT / "deploy" / "k8s"
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
START_AT = "1900000000"


def documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def the_job() -> dict[str, Any]:
    (job,) = (doc for doc in documents("job.yaml") if doc["kind"] == "Job")
    return job


def expand(value: str, env: dict[str, str]) -> str:
    """`$(VAR)` as the kubelet expands it: a defined variable is replaced, an
    undefined one stays as written."""
    return _VAR.sub(lambda m: env.get(m[1], m[0]), value)


def pod_args(job: dict[str, Any], index: int) -> tuple[list[str], dict[str, str]]:
    """The container's command line in pod `index`, and its environment."""
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {"JOB_COMPLETION_INDEX": str(index)}  # set by Kubernetes in an Indexed Job
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = expand(var["value"].replace("REPLACE_WITH_START_AT", START_AT), env)
        else:
            env[var["name"]] = "secret-from-the-cluster"
    assert "command" not in container, "the image's ENTRYPOINT is `loadtest`"
    return [expand(arg, env) for arg in container["args"]], env


def parse(args: list[str], env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Parse `loadtest ARGS` with the real CLI, up to (not into) running the
    command: every option must exist and its value convert."""
    group: Any = typer.main.get_command(app)  # typer's own (vendored) click group
    command = group.get_command(group.context_class(group), args[0])
    assert command is not None, f"no command {args[0]!r}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        ctx = command.make_context(args[0], args[1:])
    return args[0], dict(ctx.params)


def test_the_job_runs_one_segment_per_completion_index() -> None:
    job = the_job()
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["parallelism"] == spec["completions"]
    assert spec["backoffLimit"] == 0
    _, env = pod_args(job, 0)
    assert int(env["SEGMENTS"]) == spec["completions"]


@pytest.mark.parametrize("index", [0, 3])
def test_the_jobs_command_line_parses_with_the_current_cli(index: int) -> None:
    args, env = pod_args(the_job(), index)
    name, params = parse(args, env)
    assert name == "run"
    assert parse_segment(params["segment"]) == Segment(index, int(env["SEGMENTS"]))
    assert params["start_at"] == float(START_AT)
    assert params["vk"] == "secret-from-the-cluster"  # from the Secret, not a flag
    assert "--vk" not in args
    assert str(params["out"]) == f"/out/run-{START_AT}/segment-{index}"


def test_the_merge_steps_command_line_parses_with_the_current_cli() -> None:
    """The merge Job runs `loadtest merge` (through a shell, for the glob)
    on the directories the shards' Job writes."""
    (job,) = documents("merge-job.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {
        var["name"]: var["value"].replace("REPLACE_WITH_START_AT", START_AT)
        for var in container["env"]
    }
    shell, flag, script = (expand(part, env) for part in container["command"])
    assert (shell, flag) == ("/bin/sh", "-c")
    exec_, *args = shlex.split(script)
    assert (exec_, args[0]) == ("exec", "loadtest")
    name, params = parse(args[1:], env)
    assert name == "merge"
    shard_args, _ = pod_args(the_job(), 0)
    out = shard_args[shard_args.index("--out") + 1]
    pattern = params["summaries"][0]
    assert fnmatch.fnmatch(f"{out}/summary-20300101T000000Z.json", pattern)
    assert str(params["output"]) == f"/out/run-{START_AT}/merged.json"


def test_a_renamed_option_would_fail_the_check() -> None:
    """The check above can fail: an option the CLI does not know is refused."""
    args, env = pod_args(the_job(), 0)
    args[args.index("--segment")] = "--segmnet"
    with pytest.raises(Exception, match="No such option: --segmnet"):
        parse(args, env)


def test_the_manifests_hold_placeholders_only() -> None:
    """No key in a manifest; the image is the local one the Dockerfile builds."""
    text = "".join(path.read_text() for path in K8S.glob("*.yaml"))
    assert "sk-" not in text
    (container,) = the_job()["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "loadtest:local"


def test_the_dockerfile_installs_what_exists() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra in re.findall(r"'\.\[([a-z,]+)\]'", dockerfile):
        assert set(extra.split(",")) <= set(extras)
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), line
    assert 'ENTRYPOINT ["loadtest"]' in dockerfile
    assert "\nUSER " in dockerfile
