"""Stage strings: `100:60s` (closed loop), `@200:60s` (open loop), comma-joined.

A stage string is `[@]LOAD:DURATION[~ARRIVAL]`: without `@`, LOAD is a number
of virtual users; with `@`, a rate of conversation starts per second. An open
stage may name its arrival process after `~`: `~constant`, `~poisson`,
`~gamma` (the profile's burstiness) or `~gamma(B)` (burstiness B). The same
grammar is accepted in a profile's `stages` list and by `--stages`, where a
bad piece is named by its position: `piece 2 "@x:10s": rate must be a
positive number`.

Pure; no I/O.
"""

from __future__ import annotations

from loadtest.config._limits import MAX_BURSTINESS as _MAX_BURSTINESS
from loadtest.config._limits import MAX_STAGE_CHARS as _MAX_CHARS
from loadtest.config._model import Arrival, ClosedStage, OpenStage, Stage
from loadtest.config._units import Duration, parse_duration

__all__ = ["closed_stage", "format_stage", "open_stage", "parse_stage", "parse_stages"]


def _duration(value: Duration | str | float) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    return Duration.from_seconds(value)


def closed_stage(concurrency: int, duration: Duration | str | float) -> ClosedStage:
    """A closed-loop stage: `concurrency` virtual users for `duration` (a
    `Duration`, a string such as `"30s"`, or seconds). ValueError when a
    value is out of range."""
    return ClosedStage(concurrency=concurrency, duration=_duration(duration))


def open_stage(
    rate: float,
    duration: Duration | str | float,
    arrival: Arrival | None = None,
    burstiness: float | None = None,
) -> OpenStage:
    """An open-loop stage: `rate` conversation starts per second for
    `duration` (as for `closed_stage`), `arrival` "constant", "poisson" or
    "gamma" (default: the profile's), `burstiness` the gamma shape (gamma
    only; default: the profile's). ValueError when a value is out of range."""
    return OpenStage(
        rate=rate, duration=_duration(duration), arrival=arrival, burstiness=burstiness
    )


def parse_stage(text: str) -> Stage:
    """Parse one stage string; raise ValueError saying what is wrong."""
    body, tilde, process = text.strip().partition("~")
    load, sep, duration_text = body.partition(":")
    if not sep or len(text) > _MAX_CHARS:
        shown = text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS] + "..."
        raise ValueError(f'expected LOAD:DURATION like "100:60s" or "@200:60s"; got "{shown}"')
    try:
        duration = parse_duration(duration_text)
    except ValueError as exc:
        raise ValueError(f"duration: {exc}") from None
    if duration.us <= 0:
        raise ValueError("duration must be longer than 0")
    if load.startswith("@"):
        rate = _positive_number(load[1:], "rate")
        if not tilde:
            return OpenStage(rate=rate, duration=duration)
        arrival, burstiness = _arrival(process.strip())
        return OpenStage(rate=rate, duration=duration, arrival=arrival, burstiness=burstiness)
    if tilde:
        raise ValueError('an arrival process ("~...") applies to open-loop stages ("@RATE") only')
    return ClosedStage(concurrency=_positive_int(load), duration=duration)


def _arrival(text: str) -> tuple[Arrival, float | None]:
    processes: dict[str, Arrival] = {"constant": "constant", "poisson": "poisson", "gamma": "gamma"}
    if text in processes:
        return processes[text], None
    if text.startswith("gamma(") and text.endswith(")"):
        burstiness = _positive_number(text[6:-1], "burstiness")
        if burstiness > _MAX_BURSTINESS:
            raise ValueError(f"burstiness must be at most {_MAX_BURSTINESS:g}, got {burstiness:g}")
        return "gamma", burstiness
    raise ValueError(
        f'arrival must be ~constant, ~poisson, ~gamma or ~gamma(BURSTINESS), got "~{text}"'
    )


def _positive_number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f'{what} must be a positive number, got "{text}"')
    return value


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f'concurrency must be a whole number of at least 1, got "{text}"')
    return int(text)


def parse_stages(text: str) -> tuple[Stage, ...]:
    """Parse a comma-joined list of stages (the `--stages` flag)."""
    pieces = text.split(",")
    stages: list[Stage] = []
    problems: list[str] = []
    for number, piece in enumerate(pieces, start=1):
        try:
            stages.append(parse_stage(piece))
        except ValueError as exc:
            shown = piece if len(piece) <= _MAX_CHARS else piece[:_MAX_CHARS] + "..."
            problems.append(f'piece {number} "{shown}": {exc}')
    if problems:
        raise ValueError(problems)
    return tuple(stages)


def format_stage(stage: Stage) -> str:
    """The string form of a stage (`100:60s`, `@200:60s`, `@200:60s~gamma(0.5)`)."""
    if isinstance(stage, ClosedStage):
        return f"{stage.concurrency}:{stage.duration}"
    text = f"@{stage.rate:g}:{stage.duration}"
    if stage.burstiness is not None:
        return f"{text}~gamma({stage.burstiness!r})"
    if stage.arrival is not None:
        return f"{text}~{stage.arrival}"
    return text
