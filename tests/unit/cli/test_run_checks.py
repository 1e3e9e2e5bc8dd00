"""`loadtest run` checks everything before it starts anything: the profile,
the flags, the mock's flags and --out; and how it answers stop signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import trio
import trio.testing
from typer.testing import CliRunner

from loadtest.cli import _run as run_module
from loadtest.cli import _run_outputs as run_outputs
from loadtest.cli import app
from loadtest.cli._app import _state
from loadtest.cli._mock import parse_mock_args
from loadtest.cli._options import plan_from_options
from loadtest.cli._signals import StopSignals
from loadtest.config import load_profile
from loadtest.errors import EXIT_INTERRUPTED, EXIT_USAGE, ConfigError
from loadtest.mock import Fixed

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

runner = CliRunner()

PROFILE: dict[str, Any] = {
    "name": "checks",
    "stages": ["2:1s"],
    "defaults": {"model": "mock-model", "content": {"mode": "pool", "prompts": ["hi"]}},
}


@pytest.fixture
def no_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the run starts the mock."""

    def refuse(args: Any) -> Any:
        raise AssertionError(f"the mock was started with {args}")

    monkeypatch.setattr(run_module, "run_mock_process", refuse)


def run_cli(tmp_path: Path, *args: str, profile: dict[str, Any] | None = None) -> Any:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile or PROFILE))
    return runner.invoke(app, ["run", str(path), "--mock", "-q", *args])


@pytest.mark.parametrize(
    ("mock_args", "message"),
    [
        ("--ttfx 1s", "--mock-args: No such option: --ttfx"),
        ("--ttft soon", '--mock-args: --ttft: expected a duration like "250ms"'),
        ("--error-rate x", "--mock-args: Invalid value for '--error-rate': 'x' is not a valid"),
        ("--error-rate 2", "--mock-args: --error-rate: expected a probability between 0 and 1"),
        ("--ttft '1s", "--mock-args: No closing quotation"),
        ("--help", "--mock-args: No such option: --help"),
    ],
)
def test_bad_mock_args_exit_2_before_the_mock_starts(
    tmp_path: Path, no_mock: None, mock_args: str, message: str
) -> None:
    """Bad mock flags are one `loadtest: error:` line and exit 2; no mock starts."""
    result = run_cli(tmp_path, "--out", str(tmp_path / "o"), "--mock-args", mock_args)
    assert result.exit_code == EXIT_USAGE, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"loadtest: error: {message}")
    assert not (tmp_path / "o").exists()


def test_a_bad_profile_exits_2_before_the_mock_starts(tmp_path: Path, no_mock: None) -> None:
    """The profile is resolved (with a stand-in target) before the mock starts."""
    result = run_cli(tmp_path, profile={**PROFILE, "stages": ["2:soon"]})
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith("loadtest: error: p.json: $.stages[0]")


def test_an_unusable_out_exits_2_before_the_mock_starts(tmp_path: Path, no_mock: None) -> None:
    """--out that cannot be made: one line, exit 2, no mock, nothing sent."""
    (tmp_path / "file").write_text("")
    result = run_cli(tmp_path, "--out", str(tmp_path / "file" / "o"))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr == (
        f"loadtest: error: --out {tmp_path}/file/o: cannot create it: Not a directory\n"
    )


def test_mock_args_are_read_by_the_mock_parser() -> None:
    """The mock's own flags and defaults; --debug is none of them and parsing
    never touches this process's own --debug."""
    config = parse_mock_args(["--ttft", "100ms", "--model", "a", "--model", "b", "--seed", "3"])
    assert (config.ttft, config.itl, config.models, config.seed) == (
        Fixed(0.1),
        Fixed(0.0),
        ("a", "b"),
        3,
    )
    _state["debug"] = True
    try:
        parse_mock_args([])
        assert _state["debug"] is True
        with pytest.raises(ConfigError, match="No such option: --debug"):
            parse_mock_args(["--debug"])
    finally:
        _state["debug"] = False


def test_a_signal_before_the_engine_stops_at_once() -> None:
    """Before load may be sent, SIGTERM (like SIGINT) interrupts at once; a
    second one does not interrupt the way out."""
    signals = StopSignals()
    with pytest.raises(KeyboardInterrupt), signals.installed():
        os.kill(os.getpid(), signal.SIGTERM)
    with signals.installed():
        os.kill(os.getpid(), signal.SIGINT)
    assert signals.received == ["SIGTERM", "SIGINT"]


def test_signals_while_writing_only_say_so(capfd: pytest.CaptureFixture[str]) -> None:
    """While outputs are written, signals neither raise nor kill; afterwards
    the previous handlers are back."""
    before = signal.getsignal(signal.SIGTERM)
    signals = StopSignals()
    with signals.installed():
        signals.phase = "writing"
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
    assert signals.received == ["SIGTERM", "SIGINT"]
    assert capfd.readouterr().err.count("writing the outputs of what was measured") == 2
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_program_ignores_signals_once_run_returns() -> None:
    """`keep` (the `loadtest` program): after `run`, both signals are ignored,
    so one arriving while the process exits cannot kill it (exit -15) or
    raise (a KeyboardInterrupt traceback)."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with StopSignals().installed(keep=True):
            pass
        assert signal.getsignal(signal.SIGINT) == signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def plan_of(path: Path, **flags: Any) -> Any:
    options: dict[str, Any] = {
        "target": "http://127.0.0.1:4321",
        "model": None,
        "vk": None,
        "headers": None,
        "stages": None,
        "seed": None,
    }
    return plan_from_options(path, **{**options, **flags})


@pytest.mark.parametrize(
    "profile",
    [
        PROFILE,  # implicit scenario, no target anywhere
        {**PROFILE, "name": None, "defaults": {**PROFILE["defaults"], "target": "http://gw:1"}},
        {
            **PROFILE,
            "scenarios": [
                {"name": "x", "target": "http://gw:2/v1"},
                {"name": "y", "protocol": "anthropic", "headers": {"anthropic-version": "1"}},
            ],
        },
    ],
    ids=["implicit", "defaults-target", "scenario-targets"],
)
def test_the_written_profile_of_a_mock_run_resolves_to_the_same_plan(
    tmp_path: Path, profile: dict[str, Any]
) -> None:
    """Written after --mock: the profile's own targets and name stay (not the
    mock's port, not the written file's name); rerun as the header says, it
    resolves to the plan that ran."""
    source = tmp_path / "p.json"
    source.write_text(json.dumps({k: v for k, v in profile.items() if v is not None}))
    flags = {"stages": "3:1s", "seed": 4, "model": "m2", "warmup": "0s"}
    ran = plan_of(source, **flags)
    written = tmp_path / "profile-20261128T015830Z.toml"
    rerun = run_outputs.Rerun(load_profile(source), "--ttft 5ms")
    written.write_text(run_outputs.written_profile(ran, written.name, rerun))
    text = written.read_text()
    assert "127.0.0.1:4321" not in text
    assert (
        "#   loadtest run profile-20261128T015830Z.toml --mock --mock-args '--ttft 5ms'\n" in text
    )
    again = plan_of(written)
    assert again.name == ran.name
    assert attrs.evolve(again, profile=ran.profile) == ran


def test_the_written_profile_keeps_the_run_name(tmp_path: Path) -> None:
    """Any run: the written file (named profile-<ts>) keeps the name the run had."""
    source = tmp_path / "mine.json"
    source.write_text(json.dumps({k: v for k, v in PROFILE.items() if k != "name"}))
    ran = plan_of(source)
    written = tmp_path / "profile-20261128T015830Z.toml"
    written.write_text(run_outputs.written_profile(ran, written.name, None))
    assert plan_of(written).name == "mine"
    assert "# Run it again with: loadtest run <this file> --vk" in written.read_text()


def test_the_written_profile_of_a_spread_run_says_how_it_was_spread(tmp_path: Path) -> None:
    """--workers/--cluster runs: the command to run it again keeps those flags,
    with or without the mock."""
    source = tmp_path / "mine.json"
    source.write_text(json.dumps(PROFILE))
    ran = plan_of(source)
    how = ("--cluster", "tcp://127.0.0.1:8786", "--workers", "2")
    text = run_outputs.written_profile(ran, "p.toml", None, how=how)
    assert (
        "# Run it again with: loadtest run <this file> --vk ... "
        "--cluster tcp://127.0.0.1:8786 --workers 2 (" in text
    )
    rerun = run_outputs.Rerun(load_profile(source), "--ttft 5ms")
    text = run_outputs.written_profile(ran, "p.toml", rerun, how=("--workers", "auto"))
    assert "#   loadtest run p.toml --mock --mock-args '--ttft 5ms' --workers auto\n" in text


class FakeEngine:
    def __init__(self) -> None:
        self.stops = 0

    def request_stop(self) -> None:
        self.stops += 1


async def test_the_engine_watcher_stops_at_the_first_signal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A signal that came before the receiver opened stops the engine at once;
    a later one only says the outputs are coming (and never raises)."""
    signals = StopSignals()
    signals.received.append("SIGINT")
    engine = FakeEngine()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(signals.watch, engine)
        await trio.testing.wait_all_tasks_blocked()
        assert engine.stops == 1
        os.kill(os.getpid(), signal.SIGTERM)
        while len(signals.received) < 2:
            await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert signals.received == ["SIGINT", "SIGTERM"]
    err = capsys.readouterr().err
    assert "loadtest: SIGINT: ending the current stage and writing the outputs" in err
    assert "loadtest: SIGTERM again: already stopping" in err


def test_ctrl_c_while_the_mock_starts_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C before the engine runs (here: while the mock starts) stops at
    once: exit 130, one line, no output but the checked --out."""

    @contextlib.contextmanager
    def interrupted_start(args: Any) -> Iterator[str]:
        os.kill(os.getpid(), signal.SIGINT)
        yield "http://127.0.0.1:9"  # pragma: no cover

    monkeypatch.setattr(run_module, "run_mock_process", interrupted_start)
    result = run_cli(tmp_path, "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_INTERRUPTED
    assert result.stderr == "loadtest: SIGINT: stopped before any load was sent\n"
    assert list((tmp_path / "o").iterdir()) == []


@pytest.mark.parametrize(
    ("start_at", "message"),
    [
        ("1795960000000", "days ahead; expected Unix time in seconds (date +%s), at most a day"),
        ("4102444800", "days ahead; expected Unix time in seconds"),
        ("-5", "--start-at -5: expected Unix time in seconds (date +%s)"),
        ("nan", "--start-at nan: expected Unix time in seconds (date +%s)"),
    ],
)
def test_a_start_at_that_is_not_seconds_exits_2_before_the_mock_starts(
    tmp_path: Path, no_mock: None, start_at: str, message: str
) -> None:
    """--start-at in milliseconds (or years ahead) was a traceback, or a wait
    for ever: one line, exit 2, nothing started."""
    result = run_cli(tmp_path, "--out", str(tmp_path / "o"), "--start-at", start_at)
    assert result.exit_code == EXIT_USAGE, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("loadtest: error: --start-at"), line
    assert message in line, line
    assert not (tmp_path / "o").exists()
