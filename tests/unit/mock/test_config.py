"""The timing grammar and `MockConfig` validation."""

from __future__ import annotations

import random
import statistics
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.cli._mock import parse_mock_args
from loadtest.errors import ConfigError
from loadtest.mock import (
    Exponential,
    Fixed,
    LogNormal,
    MockConfig,
    Normal,
    Uniform,
    parse_seconds,
    parse_timing,
)

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("200ms", 0.2), ("0.2s", 0.2), ("0", 0.0), ("1s", 1.0), (".5s", 0.5), (" 15ms ", 0.015)],
)
def test_durations_in_ms_and_s(text: str, seconds: float) -> None:
    """A duration is a number with ms or s, or a bare 0."""
    assert parse_seconds(text, "--ttft") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["200", "fast", "-5ms", "5 sec", "5d", "", "1e3ms"])
def test_bad_durations_name_the_flag(text: str) -> None:
    """Anything else is a ConfigError whose message starts with the flag."""
    with pytest.raises(ConfigError, match=r"^--itl: expected a duration"):
        parse_seconds(text, "--itl")


def test_unitless_number_hints_at_units() -> None:
    """A bare non-zero number asks for a unit rather than guessing one."""
    with pytest.raises(ConfigError, match=r"add a unit"):
        parse_timing("200", "--ttft")


@pytest.mark.parametrize(
    ("text", "timing"),
    [
        ("200ms", Fixed(0.2)),
        ("normal:20ms,5ms", Normal(0.02, 0.005)),
        ("lognormal:200ms,0.5", LogNormal(0.2, 0.5)),
        ("uniform:10ms,30ms", Uniform(0.01, 0.03)),
        ("exp:50ms", Exponential(0.05)),
        ("NORMAL:1s,0", Normal(1.0, 0.0)),
    ],
)
def test_timing_kinds(text: str, timing: object) -> None:
    """Each distribution of the grammar parses to its class, in seconds."""
    assert parse_timing(text, "--itl") == timing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gamma:1s", "unknown distribution 'gamma'"),
        ("normal:20ms", "takes two values"),
        ("uniform:30ms,10ms", "LOW must not exceed HIGH"),
        ("lognormal:0,0.5", "MEDIAN must be above 0"),
        ("lognormal:200ms,abc", "SIGMA must be a number"),
        ("lognormal:200ms,-1", "SIGMA must be a number"),
        ("exp:fast", "expected a duration"),
    ],
)
def test_bad_timings_name_the_flag(text: str, message: str) -> None:
    """A wrong distribution is one clean line naming the flag and the problem."""
    with pytest.raises(ConfigError, match=rf"^--stall: .*{message}") as info:
        parse_timing(text, "--stall")
    assert "\n" not in str(info.value)


@given(
    st.sampled_from(["normal", "lognormal", "uniform", "exp", "fixed"]),
    st.integers(1, 10_000),
    st.integers(0, 10_000),
)
def test_str_round_trips(kind: str, a_ms: int, b_ms: int) -> None:
    """`str(timing)` is grammar text that parses back to the same timing."""
    timing = {
        "normal": Normal(a_ms / 1000, b_ms / 1000),
        "lognormal": LogNormal(a_ms / 1000, b_ms / 1000),
        "uniform": Uniform(min(a_ms, b_ms) / 1000, max(a_ms, b_ms) / 1000),
        "exp": Exponential(a_ms / 1000),
        "fixed": Fixed(b_ms / 1000),
    }[kind]
    parsed = parse_timing(str(timing), "--itl")
    assert type(parsed) is type(timing)
    assert str(parsed) == str(timing)


def _samples(text: str, count: int = 20_000) -> list[float]:
    timing = parse_timing(text, "--itl")
    rng = random.Random(7)
    return [timing.sample(rng) for _ in range(count)]


def test_normal_clamps_negative_samples_to_zero() -> None:
    """A normal whose spread reaches below 0 never yields a negative duration."""
    samples = _samples("normal:5ms,10ms")
    assert min(samples) == 0.0
    assert samples.count(0.0) > 0.2 * len(samples)


@pytest.mark.parametrize(
    ("text", "stat", "expected"),
    [
        ("normal:20ms,2ms", statistics.fmean, 0.020),
        ("lognormal:200ms,0.5", statistics.median, 0.200),
        ("uniform:10ms,30ms", statistics.fmean, 0.020),
        ("exp:50ms", statistics.fmean, 0.050),
    ],
)
def test_distributions_have_their_stated_centre(
    text: str, stat: Callable[[list[float]], float], expected: float
) -> None:
    """Sampled means / medians match the parameters (within 3%)."""
    assert stat(_samples(text)) == pytest.approx(expected, rel=0.03)


def test_uniform_stays_in_bounds() -> None:
    """uniform:LOW,HIGH never leaves [LOW, HIGH]."""
    samples = _samples("uniform:10ms,30ms")
    assert min(samples) >= 0.010
    assert max(samples) <= 0.030


def test_config_defaults_and_string_timings() -> None:
    """Defaults are the documented ones; timing fields take grammar text."""
    config = MockConfig(ttft="200ms", itl="normal:20ms,5ms")  # type: ignore[arg-type]
    assert config.ttft == Fixed(0.2)
    assert config.itl == Normal(0.02, 0.005)
    assert (config.host, config.port, config.workers) == ("127.0.0.1", 8000, 1)
    assert config.stall == Fixed(2.0)
    assert (config.cache_block_chars, config.cache_entries) == (64, 100_000)


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [
        ("error_rate", 1.5, "--error-rate"),
        ("disconnect_rate", -0.1, "--disconnect-rate"),
        ("stream_error_rate", 2.0, "--stream-error-rate"),
        ("stall_rate", 1.01, "--stall-rate"),
        ("error_status", 200, "--error-status"),
        ("port", 70000, "--port"),
        ("workers", 0, "--workers"),
        ("tokens_per_chunk", 0, "--tokens-per-chunk"),
        ("output_tokens", -1, "--output-tokens"),
        ("cache_block_chars", 0, "--cache-block-chars"),
        ("cache_entries", 0, "--cache-entries"),
        ("echo_header", "bad header", "--echo-header"),
        ("models", (), "--model"),
        ("ttft", "soon", "--ttft"),
        ("itl", "normal:1ms", "--itl"),
        ("stall", "-1s", "--stall"),
        ("done_delay", "soon", "--done-delay"),
        ("cache_skip_chars", -1, "--cache-skip-chars"),
    ],
)
def test_invalid_knobs_name_their_field_and_flag(field: str, value: object, flag: str) -> None:
    """Every invalid knob raises ConfigError naming the field that holds it;
    `loadtest mock` names the flag that sets it instead."""
    with pytest.raises(ConfigError, match=rf"^{field}: "):
        MockConfig(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=rf"^{flag}: "):
        parse_mock_args([flag, "" if field == "models" else str(value)])


def test_json_round_trip() -> None:
    """`to_json`/`from_json` carry every knob to worker processes unchanged."""
    config = MockConfig(
        port=0,
        workers=3,
        ttft=parse_timing("lognormal:150ms,0.4", "--ttft"),
        itl=parse_timing("uniform:1ms,3ms", "--itl"),
        output_tokens=12,
        usage=False,
        error_rate=0.25,
        error_status=429,
        stall=parse_timing("exp:1s", "--stall"),
        done_delay=parse_timing("uniform:50ms,1s", "--done-delay"),
        seed=5,
        echo_header="",
        cache=False,
        models=("a", "b"),
    )
    assert MockConfig.from_json(config.to_json()) == config


def test_summary_mentions_the_knobs() -> None:
    """The startup summary shows the timing, faults and cache settings."""
    text = "\n".join(MockConfig(ttft="200ms", error_rate=0.1).summary())  # type: ignore[arg-type]
    assert "ttft 200ms" in text
    assert "error 0.1 (status 500)" in text
    assert "64-char blocks" in text
    assert "done delay 0" in text
    held = "\n".join(MockConfig(done_delay="300ms", cache_skip_chars=37).summary())  # type: ignore[arg-type]
    assert "done delay 300ms" in held
    assert "first 37 chars ignored" in held
