"""The examples run: the library API works as docs/library.md shows it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import trio.testing

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


def _run_example(*args: str) -> list[str]:
    """Run an example in a fresh process; the lines it printed."""
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_custom_stage_example_runs() -> None:
    """The example runs one stage beside its own task and prints the snapshot."""
    lines = _run_example("examples/custom_stage.py", "--stages", "3:2s")
    assert any(line.strip().startswith("t=") for line in lines)
    assert lines[-2].startswith("stage 1: closed, ")
    assert " ok, " in lines[-2]
    assert lines[-1].startswith("latency p50 ")


def _example(name: str) -> Any:
    """Import examples/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", ROOT / "examples" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_ramp_recipe_stops_where_ttft_crosses_the_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Recipe (a), on the mock clock: 1, 2, 4, 8 VUs stay under 200 ms
    (TTFT is 20 ms per open connection); 16 VUs cross it and the live
    watcher stops that step early; one connection per VU over the whole ramp."""
    steps, connects = await _example("ramp_until_ttft").ramp_in_memory(200.0)
    assert [step.concurrency for step in steps] == [1, 2, 4, 8, 16]
    assert [step.stopped_early for step in steps] == [False] * 4 + [True]
    assert steps[-1].duration_s == 10.0
    assert steps[-1].steady_s < 2.0
    assert connects == 16


async def test_ramp_report_shows_the_stopped_step_over_its_limit(
    autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stopped step's p99 is shown to 0.1 ms beside the limit it
    crossed; one VU is "1 VU"."""
    steps, _ = await _example("ramp_until_ttft").ramp_in_memory(60.0)
    _example("ramp_until_ttft").report(steps, 60.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].strip().startswith("1 VU: ")
    shown, stopped = lines[-1].split("TTFT p99 ")[1].split(" ms (")
    assert float(shown) > 60.0
    assert shown == f"{float(shown):.1f}"
    assert stopped == "stopped: over the 60 ms limit)"


def test_every_ramp_option_has_help() -> None:
    lines = _run_example("examples/ramp_until_ttft.py", "--help")
    text = " ".join(" ".join(lines).split())
    assert "--limit-ms LIMIT_MS the TTFT p99 limit in ms" in text


async def test_chaos_recipe_measures_through_a_restart() -> None:
    """Recipe (b), real sockets on 127.0.0.1: the stage runs through the
    upstream's stop and restart; the outage shows as errors, and turns
    succeed around it."""
    snapshot = await _example("chaos_restart").run("3:3s", 1.0, 0.5)
    assert snapshot.total.ok > 0
    assert snapshot.total.failed > 0
    assert not snapshot.stopped_early


def test_plugin_recipe_runs_a_protocol_found_by_entry_point() -> None:
    """Recipe (c), in a fresh process (the registry reads entry points once)."""
    lines = _run_example("examples/protocol_plugin.py", "--stage", "2:1s")
    assert "tagged-chat" in lines[0]
    assert lines[1].startswith("tagged-chat: loadtest_tagged.TaggedChatAdapter on /v1/tagged/")
    turns, ok = lines[-1].split(" turns of tagged-chat: ")
    assert int(turns) > 0
    assert ok == f"{turns} ok"
