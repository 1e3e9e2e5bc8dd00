"""How a round's children are started (argv and environment: keys only in the
environment) and how each one's outcome becomes a row (FAILED when it gave no
summary, with what its stderr said)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import pytest

from loadtest.multiservice import Service
from loadtest.multiservice._rounds import LAUNCH, collect, launch_for
from tests.unit.multiservice.helpers import START, stage, summary

if TYPE_CHECKING:
    from pathlib import Path

KEY = "test-key-not-real"
SUMMARY = "summary-20261128T000000Z.json"


def test_the_key_goes_only_into_the_childs_environment(tmp_path: Path) -> None:
    """key_env's value becomes LOADTEST_VK in the child's env and appears in no argument."""
    service = Service("gw", "http://localhost:4000/v1", model="m1", key_env="GW_VK")
    launch = launch_for(
        tmp_path / "p.json",
        service,
        stages="4:2s",
        directory=tmp_path / "round-1" / "gw",
        environ={"GW_VK": KEY, "LOADTEST_VK": "parent-key", "PATH": "/bin"},
    )
    assert launch.env["LOADTEST_VK"] == KEY
    assert launch.env["PATH"] == "/bin"
    assert not any(KEY in arg or "parent-key" in arg for arg in launch.argv)
    assert KEY not in repr(launch)
    assert launch.argv[:3] == (sys.executable, "-c", LAUNCH)
    assert launch.argv[3:] == (
        "run",
        str(tmp_path / "p.json"),
        "--watch-stdin",
        "--no-preflight",
        "--target=http://localhost:4000/v1",
        "--quiet",
        f"--out={tmp_path / 'round-1' / 'gw'}",
        "--model=m1",
        "--stages=4:2s",
    )


def test_a_gateway_without_key_env_gets_no_inherited_key(tmp_path: Path) -> None:
    """This process's own LOADTEST_VK never leaks to a gateway that has no key_env."""
    service = Service("gw", "http://localhost:1", headers={"x-api-key": "${GW_KEY}", "x-t": "b"})
    launch = launch_for(
        tmp_path / "p.json",
        service,
        stages=None,
        directory=tmp_path,
        environ={"LOADTEST_VK": "parent-key", "GW_KEY": KEY},
    )
    assert "LOADTEST_VK" not in launch.env
    assert launch.argv[-2:] == ("--header=x-api-key: ${GW_KEY}", "--header=x-t: b")
    assert not any(KEY in arg for arg in launch.argv)


def write_run(directory: Path, *, stderr: str = "", doc: object = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "stderr.log").write_text(stderr)
    if doc is not None:
        (directory / "summary-20261128T000000Z.json").write_text(json.dumps(doc))


def test_a_run_with_a_summary_gives_figures_and_its_start_skew(tmp_path: Path) -> None:
    """Exit 0 (or 3, thresholds; or 130, stopped early) with a summary is data."""
    write_run(tmp_path, doc=summary(stage([100_000] * 4), started=START + 0.004))
    for code in (0, 3, 130):
        row = collect("gw", tmp_path, code, START)
        assert row.failure is None
        assert row.figures is not None
        assert row.figures.ttft_p50_ms == pytest.approx(100.0, abs=0.1)
        assert row.start_skew_ms == pytest.approx(4.0, abs=0.01)
        assert row.summary_path == tmp_path / "summary-20261128T000000Z.json"


def test_a_failed_run_is_a_failed_row_with_its_last_error_line(tmp_path: Path) -> None:
    """Another exit code is FAILED with what loadtest said last (an error line first)."""
    stderr = "loadtest: warning: w\nloadtest: error: cannot write x\noutputs:\n  /tmp/a.jsonl\n"
    write_run(tmp_path, stderr=stderr)
    row = collect("gw", tmp_path, 1, START)
    assert row.failure == "exit 1: loadtest: error: cannot write x"
    assert row.figures is None
    write_run(tmp_path / "quiet")
    assert collect("gw", tmp_path / "quiet", -9, START).failure == (
        f"killed by SIGKILL: no message (see {tmp_path / 'quiet' / 'stderr.log'})"
    )
    write_run(tmp_path / "none", stderr="cannot start: [Errno 2] no such file\n")
    assert collect("gw", tmp_path / "none", None, START).failure == (
        "did not start: cannot start: [Errno 2] no such file"
    )


def test_a_run_without_a_readable_summary_is_failed(tmp_path: Path) -> None:
    """Exit 0 with no summary, or one that is not a summary, is FAILED, not hidden."""
    write_run(tmp_path / "missing")
    assert collect("gw", tmp_path / "missing", 0, START).failure == (
        f"exit 0 but no summary in {tmp_path / 'missing'}"
    )
    write_run(tmp_path / "other", doc={"schema": "x/1"})
    failure = collect("gw", tmp_path / "other", 0, START).failure
    assert failure == f"{SUMMARY}: not a loadtest.summary/1 document (schema: 'x/1')"


def test_a_run_where_nothing_succeeded_is_failed_but_keeps_its_figures(tmp_path: Path) -> None:
    """Exit 5 (or 0 from an older run) with a summary of refused turns: FAILED, figures kept."""
    write_run(tmp_path, doc=summary(stage([], latency_us=[], failed=40)))
    for code in (5, 0):
        row = collect("gw", tmp_path, code, START)
        assert row.failure == "no successful turn: 40 failed (conn_refused 40)"
        assert row.figures is not None
        assert (row.figures.ok_rps, row.figures.rps) == (0.0, 4.0)
    write_run(tmp_path / "idle", doc=summary(stage([], latency_us=[])))
    assert collect("gw", tmp_path / "idle", 5, START).failure == (
        "no successful turn: no steady turn completed"
    )
