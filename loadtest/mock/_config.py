"""The mock upstream's knobs: the frozen `MockConfig`, and the timing grammar.

Timing grammar (for `--ttft`, `--itl`, `--stall` and `--done-delay`):

    DURATION  := NUMBER UNIT | "0"             UNIT := "ms" | "s"
    TIMING    := DURATION                      a fixed duration
               | "normal:" MEAN "," STDDEV     MEAN, STDDEV: DURATION
               | "lognormal:" MEDIAN "," SIGMA MEDIAN: DURATION > 0; SIGMA: unitless
               | "uniform:" LOW "," HIGH       LOW <= HIGH: DURATION
               | "exp:" MEAN                   MEAN: DURATION (exponential)

Rules:
- Durations are never negative; a sampled value below 0 (only `normal` can
  produce one) is clamped to 0.
- Every invalid value raises `ConfigError` whose message names what holds
  it: the field for `MockConfig` (`ttft: ...`), the flag for the parsers the
  CLI calls with one (`parse_timing(text, "--ttft")`); `loadtest mock` words
  a field's problem with its flag (`--ttft: ...`), so it prints one clean line.
- `MockConfig` is frozen and validated on construction; timing fields also
  accept their grammar text (`MockConfig(ttft="200ms")`).
- Pure: no I/O, no trio. `to_json`/`from_json` carry a config to worker
  processes.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import attrs
import orjson

from loadtest.config import parse_duration as parse_profile_duration
from loadtest.errors import ConfigError

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Iterable

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "Exponential",
    "Fixed",
    "LogNormal",
    "MockConfig",
    "Normal",
    "Timing",
    "Uniform",
    "parse_seconds",
    "parse_timing",
]

#: Answer length when neither the request (max_tokens) nor `--output-tokens` sets one.
DEFAULT_OUTPUT_TOKENS = 128


def _ms(value_s: float) -> str:
    """A duration in the grammar: seconds from 1 s up, else milliseconds."""
    value, unit = (value_s, "s") if value_s >= 1 else (value_s * 1000, "ms")
    return f"{value:.9f}".rstrip("0").rstrip(".") + unit


@attrs.frozen
class Fixed:
    """Always the same duration."""

    value_s: float

    def sample(self, rng: random.Random) -> float:
        return self.value_s

    def __str__(self) -> str:
        return _ms(self.value_s) if self.value_s else "0"


@attrs.frozen
class Normal:
    """Gaussian; samples below 0 are clamped to 0."""

    mean_s: float
    stddev_s: float

    def sample(self, rng: random.Random) -> float:
        return max(0.0, rng.gauss(self.mean_s, self.stddev_s))

    def __str__(self) -> str:
        return f"normal:{_ms(self.mean_s)},{_ms(self.stddev_s)}"


@attrs.frozen
class LogNormal:
    """Log-normal with the given median; `sigma` is that of the underlying normal."""

    median_s: float
    sigma: float

    def sample(self, rng: random.Random) -> float:
        return self.median_s * math.exp(self.sigma * rng.gauss(0.0, 1.0))

    def __str__(self) -> str:
        return f"lognormal:{_ms(self.median_s)},{self.sigma:g}"


@attrs.frozen
class Uniform:
    """Uniform between `low_s` and `high_s`."""

    low_s: float
    high_s: float

    def sample(self, rng: random.Random) -> float:
        return self.low_s + (self.high_s - self.low_s) * rng.random()

    def __str__(self) -> str:
        return f"uniform:{_ms(self.low_s)},{_ms(self.high_s)}"


@attrs.frozen
class Exponential:
    """Exponential with the given mean (a memoryless gap)."""

    mean_s: float

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean_s) if self.mean_s > 0 else 0.0

    def __str__(self) -> str:
        return f"exp:{_ms(self.mean_s)}"


Timing = Fixed | Normal | LogNormal | Uniform | Exponential


def parse_seconds(text: str, flag: str) -> float:
    """Seconds in a DURATION (`200ms`, `0.2s`, `0`; the profile grammar of
    `loadtest.config.parse_duration`); `ConfigError` naming `flag` when it is
    not one."""
    try:
        return parse_profile_duration(text).seconds
    except ValueError as exc:
        hint = " (add a unit: ms or s)" if re.fullmatch(r"[\d.]+", text.strip()) else ""
        raise ConfigError(f"{flag}: {exc}{hint}") from None


def _two(flag: str, kind: str, args: str) -> tuple[str, str]:
    parts = args.split(",")
    if len(parts) != 2:
        raise ConfigError(f"{flag}: {kind} takes two values separated by a comma, got {args!r}")
    return parts[0], parts[1]


def _parse_normal(flag: str, args: str) -> Timing:
    mean, stddev = _two(flag, "normal:MEAN,STDDEV", args)
    return Normal(parse_seconds(mean, flag), parse_seconds(stddev, flag))


def _parse_lognormal(flag: str, args: str) -> Timing:
    median, sigma_text = _two(flag, "lognormal:MEDIAN,SIGMA", args)
    median_s = parse_seconds(median, flag)
    try:
        sigma = float(sigma_text)
    except ValueError:
        sigma = math.nan
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ConfigError(f"{flag}: lognormal SIGMA must be a number >= 0, got {sigma_text!r}")
    if median_s <= 0:
        raise ConfigError(f"{flag}: lognormal MEDIAN must be above 0, got {median!r}")
    return LogNormal(median_s, sigma)


def _parse_uniform(flag: str, args: str) -> Timing:
    low, high = _two(flag, "uniform:LOW,HIGH", args)
    low_s, high_s = parse_seconds(low, flag), parse_seconds(high, flag)
    if low_s > high_s:
        raise ConfigError(f"{flag}: uniform LOW must not exceed HIGH, got {args!r}")
    return Uniform(low_s, high_s)


def _parse_exp(flag: str, args: str) -> Timing:
    return Exponential(parse_seconds(args, flag))


_KINDS: dict[str, Callable[[str, str], Timing]] = {
    "normal": _parse_normal,
    "lognormal": _parse_lognormal,
    "uniform": _parse_uniform,
    "exp": _parse_exp,
}


def parse_timing(text: str, flag: str) -> Timing:
    """A TIMING (see the module docstring); `ConfigError` naming `flag` when
    `text` is not one."""
    kind, sep, args = text.strip().partition(":")
    if not sep:
        return Fixed(parse_seconds(text, flag))
    parse = _KINDS.get(kind.strip().lower())
    if parse is None:
        raise ConfigError(
            f"{flag}: unknown distribution {kind!r}; expected a duration or one of "
            "normal:MEAN,STDDEV, lognormal:MEDIAN,SIGMA, uniform:LOW,HIGH, exp:MEAN"
        )
    return parse(flag, args)


def _ttft(value: str | Timing) -> Timing:
    return parse_timing(value, "ttft") if isinstance(value, str) else value


def _itl(value: str | Timing) -> Timing:
    return parse_timing(value, "itl") if isinstance(value, str) else value


def _stall(value: str | Timing) -> Timing:
    return parse_timing(value, "stall") if isinstance(value, str) else value


def _done_delay(value: str | Timing) -> Timing:
    return parse_timing(value, "done_delay") if isinstance(value, str) else value


def _models(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _check(flag: str, ok: bool, expected: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"{flag}: expected {expected}, got {value!r}")


def _rate(flag: str, default: float = 0.0) -> Any:
    def validate(_inst: object, _attr: object, value: float) -> None:
        _check(flag, 0.0 <= value <= 1.0, "a probability between 0 and 1", value)

    return attrs.field(default=default, validator=validate)


def _at_least(flag: str, low: int, default: int | None) -> Any:
    def validate(_inst: object, _attr: object, value: int | None) -> None:
        if value is not None:
            _check(flag, value >= low, f"an integer >= {low}", value)

    return attrs.field(default=default, validator=validate)


def _validate_port(_inst: object, _attr: object, value: int) -> None:
    _check("port", 0 <= value <= 65535, "a port between 0 and 65535 (0: pick a free one)", value)


def _validate_status(_inst: object, _attr: object, value: int) -> None:
    _check("error_status", 400 <= value <= 599, "an HTTP error status (400-599)", value)


def _validate_header(_inst: object, _attr: object, value: str) -> None:
    ok = value == "" or re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", value) is not None
    _check("echo_header", ok, "an HTTP header name (or empty to echo none)", value)


def _validate_models(_inst: object, _attr: object, value: tuple[str, ...]) -> None:
    _check("models", bool(value) and all(value), "at least one non-empty model name", value)


@attrs.frozen
class MockConfig:
    """Every knob of the mock upstream; see docs/mock.md for what each does."""

    host: str = "127.0.0.1"
    port: int = attrs.field(default=8000, validator=_validate_port)
    workers: int = _at_least("workers", 1, 1)
    ttft: Timing = attrs.field(default=Fixed(0.0), converter=_ttft)
    itl: Timing = attrs.field(default=Fixed(0.0), converter=_itl)
    output_tokens: int | None = _at_least("output_tokens", 0, None)
    tokens_per_chunk: int = _at_least("tokens_per_chunk", 1, 1)
    usage: bool = True
    error_rate: float = _rate("error_rate")
    error_status: int = attrs.field(default=500, validator=_validate_status)
    disconnect_rate: float = _rate("disconnect_rate")
    stream_error_rate: float = _rate("stream_error_rate")
    stall_rate: float = _rate("stall_rate")
    stall: Timing = attrs.field(default=Fixed(2.0), converter=_stall)
    done_delay: Timing = attrs.field(default=Fixed(0.0), converter=_done_delay)
    seed: int | None = None
    echo_header: str = attrs.field(default="x-request-id", validator=_validate_header)
    cache: bool = True
    cache_block_chars: int = _at_least("cache_block_chars", 1, 64)
    cache_entries: int = _at_least("cache_entries", 1, 100_000)
    cache_skip_chars: int = _at_least("cache_skip_chars", 0, 0)
    models: tuple[str, ...] = attrs.field(
        default=("mock-model",), converter=_models, validator=_validate_models
    )
    slots: int | None = _at_least("slots", 1, None)
    queue: int | None = _at_least("queue", 0, None)
    tool_call_rate: float = _rate("tool_call_rate", default=1.0)
    embedding_dim: int = _at_least("embedding_dim", 1, 384)

    def __attrs_post_init__(self) -> None:
        if self.queue is not None and self.slots is None:
            raise ConfigError("queue: a queue needs slots (set slots too)")

    def to_json(self) -> bytes:
        """The config as JSON (timings in their grammar), for `from_json`."""
        doc = attrs.asdict(self, recurse=False)
        for name in ("ttft", "itl", "stall", "done_delay"):
            doc[name] = str(doc[name])
        return orjson.dumps(doc)

    @classmethod
    def from_json(cls, data: bytes | str) -> MockConfig:
        """The config `to_json` wrote."""
        return cls(**orjson.loads(data))

    def summary(self) -> list[str]:
        """Human-readable lines describing the knobs, for the startup banner."""
        length = "max_tokens" if self.output_tokens is None else f"<= {self.output_tokens}"
        faults = (
            f"error {self.error_rate:g} (status {self.error_status}), "
            f"disconnect {self.disconnect_rate:g}, stream-error {self.stream_error_rate:g}, "
            f"stall {self.stall_rate:g} ({self.stall})"
        )
        cache = (
            f"{self.cache_block_chars}-char blocks, {self.cache_entries} entries"
            if self.cache
            else "off"
        )
        if self.cache and self.cache_skip_chars:
            cache += f", first {self.cache_skip_chars} chars ignored"
        return [
            f"workers {self.workers}; ttft {self.ttft}; itl {self.itl}; "
            f"done delay {self.done_delay}",
            f"output tokens {length}; {self.tokens_per_chunk} per chunk; "
            f"usage {'on' if self.usage else 'off'}",
            f"faults: {faults}; seed {'random' if self.seed is None else self.seed}",
            f"prefix cache {cache}; echo header {self.echo_header or '(none)'}",
            f"tool calls {self.tool_call_rate:g} of requests with tools; "
            f"embeddings of {self.embedding_dim} numbers",
            f"capacity: {self._capacity()}",
        ]

    def _capacity(self) -> str:
        if self.slots is None:
            return "unlimited"
        queue = "unbounded" if self.queue is None else f"at most {self.queue}, then 429"
        return f"{self.slots} slots per worker; FIFO queue {queue}"
