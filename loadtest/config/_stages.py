"""Stage strings: `100:60s` (closed loop), `@200:60s` (open loop), comma-joined.

A stage string is `[Nx]LOAD[->LOAD][:DURATION][~ARRIVAL]` (the duration
may be left out only after `Nx`, and not from a ramp): without `@`, LOAD
is a number of virtual users; with `@`, a rate of conversation starts per
second. `A->B` ramps linearly from A to B over the stage (`10->100:60s`
VUs, `@10->@200:60s` rates; both ends of one kind, and 0 allowed at one
end). `Nx` ends the stage once N turns have started, or at its duration if
that comes first (`100x@50:30s`, `500x10->50:2m`; `100x@50` has no other
end). An open stage may name its
arrival process after `~`: `~constant`, `~poisson`, `~gamma` (the profile's
burstiness) or `~gamma(B)` (burstiness B). The same grammar is accepted in
a profile's `stages` list and by `--stages`, where a bad piece is named by
its position: `piece 2 "@x:10s": rate must be a positive number`.

Pure; no I/O.
"""

from __future__ import annotations

from loadtest.config._limits import MAX_BURSTINESS as _MAX_BURSTINESS
from loadtest.config._limits import MAX_RATE as _MAX_RATE
from loadtest.config._limits import MAX_REQUESTS as _MAX_REQUESTS
from loadtest.config._limits import MAX_STAGE_CHARS as _MAX_CHARS
from loadtest.config._limits import MAX_VUS as _MAX_VUS
from loadtest.config._model import Arrival, ClosedStage, OpenStage, Stage
from loadtest.config._units import Duration, parse_duration

__all__ = [
    "closed_stage",
    "format_load",
    "format_stage",
    "open_stage",
    "parse_stage",
    "parse_stages",
]


def _duration(value: Duration | str | float | None) -> Duration | None:
    if value is None or isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    return Duration.from_seconds(value)


def closed_stage(
    concurrency: int,
    duration: Duration | str | float | None,
    *,
    ramp_to: int | None = None,
    requests: int | None = None,
) -> ClosedStage:
    """A closed-loop stage: `concurrency` virtual users for `duration` (a
    `Duration`, a string such as `"30s"`, or seconds), ramping linearly to
    `ramp_to` VUs if given, ending after `requests` started turns if given.
    ValueError when a value is out of range."""
    return ClosedStage(
        concurrency=concurrency, duration=_duration(duration), ramp_to=ramp_to, requests=requests
    )


def open_stage(
    rate: float,
    duration: Duration | str | float | None,
    arrival: Arrival | None = None,
    burstiness: float | None = None,
    *,
    ramp_to: float | None = None,
    requests: int | None = None,
) -> OpenStage:
    """An open-loop stage: `rate` conversation starts per second for
    `duration` (as for `closed_stage`), `arrival` "constant", "poisson" or
    "gamma" (default: the profile's), `burstiness` the gamma shape (gamma
    only; default: the profile's), ramping linearly to `ramp_to` per second
    and ending after `requests` started turns if given. ValueError when a
    value is out of range."""
    return OpenStage(
        rate=rate,
        duration=_duration(duration),
        arrival=arrival,
        burstiness=burstiness,
        ramp_to=ramp_to,
        requests=requests,
    )


def parse_stage(text: str) -> Stage:
    """Parse one stage string; raise ValueError saying what is wrong."""
    body, tilde, process = text.strip().partition("~")
    load, sep, duration_text = body.partition(":")
    requests, load = _requests(load.strip()) if len(text) <= _MAX_CHARS else (None, load)
    if not (sep or requests) or len(text) > _MAX_CHARS:
        shown = text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS] + "..."
        raise ValueError(f'expected LOAD:DURATION like "100:60s" or "@200:60s"; got "{shown}"')
    duration = _stage_duration(duration_text) if sep else None
    if duration is None and "->" in load:
        raise ValueError('a ramp needs a duration to ramp over ("10->100:60s")')
    first, arrow, second = load.partition("->")
    if first.startswith("@"):
        rate, ramp_to = _rates(first, arrow, second)
        if not tilde:
            return OpenStage(rate=rate, duration=duration, ramp_to=ramp_to, requests=requests)
        arrival, burstiness = _arrival(process.strip())
        return OpenStage(
            rate=rate,
            duration=duration,
            arrival=arrival,
            burstiness=burstiness,
            ramp_to=ramp_to,
            requests=requests,
        )
    if tilde:
        raise ValueError('an arrival process ("~...") applies to open-loop stages ("@RATE") only')
    if not arrow:
        return ClosedStage(concurrency=_positive_int(first), duration=duration, requests=requests)
    if second.strip().startswith("@"):
        raise ValueError('a ramp has both ends of one kind: "10->100" (VUs) or "@10->@200" (rates)')
    concurrency, ramp_to = _whole(first, "ramp start"), _whole(second, "ramp end")
    if concurrency == ramp_to == 0:
        raise ValueError("a ramp from 0 to 0 VUs runs nothing")
    return ClosedStage(
        concurrency=concurrency, duration=duration, ramp_to=ramp_to, requests=requests
    )


def _stage_duration(text: str) -> Duration:
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"duration: {exc}") from None
    if duration.us <= 0:
        raise ValueError("duration must be longer than 0")
    return duration


def _requests(load: str) -> tuple[int | None, str]:
    """The `Nx` request count in front of a load, and the load after it."""
    count, x, rest = load.partition("x")
    if not x or count.lstrip().startswith("@") or "->" in count:
        return None, load
    text = count.strip()
    if not text.isdigit() or not 1 <= int(text) <= _MAX_REQUESTS:
        raise ValueError(
            f'a request count ("Nx") must be a whole number from 1 to {_MAX_REQUESTS:,}, '
            f'got "{count}"'
        )
    return int(text), rest.strip()


def _rates(first: str, arrow: str, second: str) -> tuple[float, float | None]:
    """An open stage's rate and ramp end (`@R` or `@A->@B`)."""
    if not arrow:
        return _positive_number(first[1:], "rate"), None
    if not second.strip().startswith("@"):
        raise ValueError('a ramp has both ends of one kind: "10->100" (VUs) or "@10->@200" (rates)')
    rate = _ramp_rate(first.strip()[1:], "ramp start")
    ramp_to = _ramp_rate(second.strip()[1:], "ramp end")
    if rate == ramp_to == 0:
        raise ValueError("a ramp from 0 to 0 per second starts nothing")
    return rate, ramp_to


def _ramp_rate(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= _MAX_RATE:
        raise ValueError(f'{what} must be a rate from 0 to {_MAX_RATE:,.0f}, got "@{text}"')
    return value


def _whole(text: str, what: str) -> int:
    if not text.strip().isdigit() or int(text) > _MAX_VUS:
        raise ValueError(
            f'{what} must be a whole number of VUs from 0 to {_MAX_VUS:,}, got "{text}"'
        )
    return int(text)


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
    """The string form of a stage (`100:60s`, `@200:60s`, `@200:60s~gamma(0.5)`,
    `10->100:60s`, `@10->@200:60s`, `100x@50:30s`)."""
    count = f"{stage.requests}x" if stage.requests is not None else ""
    duration = f":{stage.duration}" if stage.duration is not None else ""
    if isinstance(stage, ClosedStage):
        ramp = f"->{stage.ramp_to}" if stage.ramp_to is not None else ""
        return f"{count}{stage.concurrency}{ramp}{duration}"
    ramp = f"->@{stage.ramp_to:g}" if stage.ramp_to is not None else ""
    text = f"{count}@{stage.rate:g}{ramp}{duration}"
    if stage.burstiness is not None:
        return f"{text}~gamma({stage.burstiness!r})"
    if stage.arrival is not None:
        return f"{text}~{stage.arrival}"
    return text


def format_load(stage: Stage) -> str:
    """A stage's load for people: `100 VUs`, `10->100 VUs`, `@200/s`, `@10->@200/s`."""
    if isinstance(stage, ClosedStage):
        ramp = f"->{stage.ramp_to}" if stage.ramp_to is not None else ""
        return f"{stage.concurrency}{ramp} VUs"
    ramp = f"->@{stage.ramp_to:g}" if stage.ramp_to is not None else ""
    return f"@{stage.rate:g}{ramp}/s"
