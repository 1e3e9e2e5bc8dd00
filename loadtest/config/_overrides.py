"""Command-line overrides, applied to a profile before it is resolved.

Precedence is CLI > scenario > defaults: an override is written into every
scenario (a profile without `scenarios` first gets its implicit scenario,
named "default"), so what ran can be written back out as a profile.
`--warmup` replaces the profile's warm-up, `--max-requests` its
`max_requests`. `--vk` fills the placeholder `REPLACE_WITH_VK` in every
secret header of a scenario (`Authorization: Bearer REPLACE_WITH_VK`
becomes `Bearer <vk>`, `x-api-key: REPLACE_WITH_VK` becomes `<vk>`); a
scenario without a placeholder gets `Authorization: Bearer <vk>`.
`--header` values are applied after it, so `--header "Authorization:
..."` wins. Header names match without regard to case.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from loadtest.config._headers import header_name_problem, header_value_problem
from loadtest.config._model import FieldError, Profile, Scenario, Stage
from loadtest.config._redact import is_secret, secret_names
from loadtest.config._slo import parse_slos
from loadtest.config._stages import parse_stage, parse_stages
from loadtest.config._units import Duration, parse_duration
from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "IMPLICIT_SCENARIO",
    "PLACEHOLDER",
    "Overrides",
    "apply_overrides",
    "merge_headers",
    "parse_header_flag",
]

IMPLICIT_SCENARIO = "default"
#: The stand-in for a key in shipped profiles; `--vk` replaces it, and `run`
#: refuses to send it to a gateway.
PLACEHOLDER = "REPLACE_WITH_VK"


def _to_stages(value: str | Iterable[str | Stage] | None) -> tuple[Stage, ...] | None:
    """`stages` as given: the `--stages` string ("1:10s,@200:30s"), or stage
    objects and stage strings; raise ConfigError naming the override."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return parse_stages(value)
        return tuple(parse_stage(s) if isinstance(s, str) else s for s in value)
    except ValueError as exc:
        lines = exc.args[0] if isinstance(exc.args[0], list) else [str(exc)]
        raise ConfigError([f"stages (override): {line}" for line in lines]) from None


def _to_duration(value: str | Duration | None) -> Duration | None:
    """`warmup` as given: a `Duration` or the `--warmup` string ("5s", "0")."""
    if not isinstance(value, str):
        return value
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"warmup (override): {exc}") from None


def _to_slo(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """`slo` as given: `--slo` strings (each one or more comma-separated
    SLOs), or one such string; raise ConfigError naming the bad SLO."""
    if value is None:
        return None
    texts = (value,) if isinstance(value, str) else tuple(value)
    try:
        return tuple(str(slo) for slo in parse_slos(texts))
    except ValueError as exc:
        raise ConfigError(f"--slo: {exc}") from None


@attrs.frozen
class Overrides:
    """Values from the command line or a script; None means "not given".

    `stages` and `warmup` take the same strings as `--stages` and `--warmup`
    (or stage objects and a `Duration`); a bad one is a `ConfigError` here.
    """

    target: str | None = None
    model: str | None = None
    vk: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    stages: tuple[Stage, ...] | None = attrs.field(default=None, converter=_to_stages)
    seed: int | None = None
    warmup: Duration | None = attrs.field(default=None, converter=_to_duration)
    max_requests: int | None = None
    #: Per-turn SLOs (`--slo`), in canonical form; they replace the profile's.
    slo: tuple[str, ...] | None = attrs.field(default=None, converter=_to_slo)


def parse_header_flag(text: str) -> tuple[str, str]:
    """Split a `--header "Name: value"` flag; raise ConfigError if malformed,
    if the name is not a token or the value holds CR, LF, NUL or another
    control character. The value is never echoed."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(ch in name for ch in " \t\r\n"):
        # Never echo the flag: a mistyped header may hold a key.
        raise ConfigError(
            f'--header: expected "Name: value" (a header name, a colon, its value); '
            f"got {len(text)} characters without that shape"
        )
    value = value.strip(" \t")
    problem = header_name_problem(name) or header_value_problem(name, value)
    if problem is not None:
        raise ConfigError(f"--header: {problem}")
    return name, value


def set_header(headers: dict[str, str] | None, name: str, value: str) -> dict[str, str]:
    """A copy of `headers` with `name` set to `value`, replacing any header of
    the same name in another case."""
    out = {k: v for k, v in (headers or {}).items() if k.lower() != name.lower()}
    out[name] = value
    return out


#: The flag that sets each field an override can change, for error messages.
_FLAGS = {
    "target": "--target",
    "model": "--model",
    "headers": "--vk / --header",
    "seed": "--seed",
    "stages": "--stages",
    "warmup": "--warmup",
    "max_requests": "--max-requests",
    "slo": "--slo",
}


def apply_overrides(profile: Profile, overrides: Overrides) -> Profile:
    """The profile with every given override written in; raise `ConfigError`
    naming the flag when an override breaks a limit of the profile."""
    try:
        return _apply(profile, overrides)
    except FieldError as exc:
        flag = _FLAGS.get(exc.field, exc.field)
        raise ConfigError(f"{flag}: {exc.message}") from None


def merge_headers(base: dict[str, str], over: dict[str, str] | None) -> dict[str, str]:
    """`base` with every header of `over` set on it (a scenario's headers over
    the defaults'; the same name in any case is replaced)."""
    merged = dict(base)
    for name, value in (over or {}).items():
        merged = set_header(merged, name, value)
    return merged


def _vk_pairs(profile: Profile, scenario: Scenario, vk: str) -> list[tuple[str, str]]:
    """The headers `--vk` sets on `scenario`: each secret header holding the
    placeholder, filled; or, if none does, `Authorization: Bearer <vk>`."""
    headers = merge_headers(profile.defaults.headers, scenario.headers)
    filled = [
        (name, value.replace(PLACEHOLDER, vk))
        for name, value in headers.items()
        if PLACEHOLDER in value and is_secret(name, secret_names(profile.redact_headers))
    ]
    return filled or [("Authorization", f"Bearer {vk}")]


def _apply(profile: Profile, overrides: Overrides) -> Profile:
    scenarios = profile.scenarios or (Scenario(name=IMPLICIT_SCENARIO),)
    scenarios = tuple(
        _override_scenario(
            s,
            overrides,
            [
                *(_vk_pairs(profile, s, overrides.vk) if overrides.vk is not None else []),
                *overrides.headers,
            ],
        )
        for s in scenarios
    )
    changes: dict[str, Any] = {"scenarios": scenarios}
    if overrides.stages is not None:
        changes["stages"] = overrides.stages
    if overrides.seed is not None:
        changes["seed"] = overrides.seed
    if overrides.warmup is not None:
        changes["warmup"] = overrides.warmup
    if overrides.max_requests is not None:
        changes["max_requests"] = overrides.max_requests
    if overrides.slo is not None:
        changes["slo"] = overrides.slo
    return attrs.evolve(profile, **changes)


def _override_scenario(
    scenario: Scenario, overrides: Overrides, header_pairs: list[tuple[str, str]]
) -> Scenario:
    changes: dict[str, Any] = {}
    if overrides.target is not None:
        changes["target"] = overrides.target
    if overrides.model is not None:
        changes["model"] = overrides.model
    if header_pairs:
        headers = scenario.headers
        for name, value in header_pairs:
            headers = set_header(headers, name, value)
        changes["headers"] = headers
    return attrs.evolve(scenario, **changes) if changes else scenario
