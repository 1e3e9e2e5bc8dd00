"""Resolution: a profile plus overrides plus the environment -> a `RunPlan`.

The plan (config/_plan.py) is what the engine runs: every scenario with its settings merged
(CLI > scenario > defaults), `${NAME}` expanded from the environment in
targets and header values, its target parsed into scheme, host, port and
request path. Every problem is collected and reported at once, with the path
in the profile it comes from.

A target is either a full URL, used as is, or a base URL — no path, or a path
ending in `/v1` — to which the protocol's own path is added, so one base URL
serves a mix of OpenAI- and Anthropic-ingress scenarios.

Pure: the environment is passed in; nothing is read or written.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from loadtest.config._converter import key_path
from loadtest.config._dataset import DatasetContent
from loadtest.config._headers import header_value_problem
from loadtest.config._model import ClosedStage, OpenStage, Profile, Scenario, Stage
from loadtest.config._overrides import Overrides, apply_overrides, merge_headers
from loadtest.config._plan import RunPlan, ScenarioPlan, Target
from loadtest.config._redact import (
    MASK,
    holds_mask,
    is_secret,
    mask_url,
    secret_names,
    secret_values,
)
from loadtest.config._slo import parse_slos
from loadtest.config._units import Duration
from loadtest.errors import ConfigError, RegistryError
from loadtest.protocol import Adapter, FunctionTool, available, get_adapter

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ENV_REF", "RunPlan", "ScenarioPlan", "Target", "resolve"]

#: A `${NAME}` reference to an environment variable (expanded by `resolve`).
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def _goodput_without_slo(profile: Profile) -> list[str]:
    """Goodput thresholds with no SLO to judge turns by: they can only fail."""
    if profile.slo:
        return []
    gated = [("$.thresholds", profile.thresholds)] + [
        (f"$.scenarios[{index}].thresholds", scenario.thresholds)
        for index, scenario in enumerate(profile.scenarios or ())
        if scenario.thresholds is not None
    ]
    warnings = []
    for where, limits in gated:
        names = [n for n in ("goodput", "goodput_rps") if getattr(limits, n) is not None]
        if names:
            warnings.append(
                f"{where}: {' and '.join(names)} {'judge' if len(names) > 1 else 'judges'} "
                "turns by the SLOs, and there are none "
                "(set slo or pass --slo): they will fail as no data"
            )
    return warnings


def _counted_in_warmup(stage: Stage, warmup: Duration) -> str | None:
    """Whether an open stage at a constant rate starts its whole request
    count within the warm-up (by `requests / rate` at the latest: a
    conversation starts at least one turn) and before its duration ends."""
    if not isinstance(stage, OpenStage) or stage.requests is None or stage.ramp_to is not None:
        return None
    counted_s = stage.requests / stage.rate
    if counted_s > warmup.seconds or counted_s >= stage.duration_s:
        return None
    return (
        f"its {stage.requests:,} turns start within about {Duration.from_seconds(counted_s)} "
        f"at {stage.rate:g}/s, inside the warm-up ({warmup}): it will have no steady "
        "statistics (see --warmup)"
    )


def resolve(
    profile: Profile,
    overrides: Overrides | None = None,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
) -> RunPlan:
    """Resolve `profile` with `overrides` against `env` (default: empty).
    Raise `ConfigError` listing every problem."""
    implicit = profile.scenarios is None
    overrides = overrides or Overrides()
    effective = apply_overrides(profile, overrides)
    # A target given as an override is named as one, not by a profile path.
    target_where = None if overrides.target is None else "target (override)"
    problems: list[str] = []
    warnings: list[str] = []
    scenarios = []
    for index, scenario in enumerate(effective.scenarios or ()):
        where = "$.defaults" if implicit else f"$.scenarios[{index}]"
        plan = _resolve_scenario(
            effective, scenario, where, env or {}, problems, warnings, target_where
        )
        if plan is not None:
            scenarios.append(plan)
    if not effective.stages:
        problems.append("$.stages: no stages; list them in the profile or pass --stages")
    for number, stage in enumerate(effective.stages, start=1):
        counted = _counted_in_warmup(stage, effective.warmup)
        if counted is not None:
            warnings.append(f"stage {number}: {counted}")
        if stage.duration is None:
            continue
        if isinstance(stage, ClosedStage) and effective.start_spread >= stage.duration:
            warnings.append(
                f"stage {number}: the start spread ({effective.start_spread}) is as long as "
                f"the stage ({stage.duration}): its last VUs will not start"
            )
        if effective.warmup >= stage.duration:
            warnings.append(
                f"stage {number}: the warm-up ({effective.warmup}) covers the whole stage "
                f"({stage.duration}): it will have no steady statistics (see --warmup)"
            )
    warnings += _goodput_without_slo(effective)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))  # an override's problem once
    secret = secret_names(effective.redact_headers)
    secrets = secret_values((h for s in scenarios for h in s.headers), secret)
    scenarios = [attrs.evolve(s, secret_values=secrets) for s in scenarios]
    return RunPlan(
        profile=effective,
        name=effective.name or name or "profile",
        scenarios=tuple(scenarios),
        stages=effective.stages,
        warmup_s=effective.warmup.seconds,
        graceful_stop_s=effective.graceful_stop.seconds,
        cache_mode=effective.cache_mode,
        correlation=effective.correlation,
        thresholds=effective.thresholds,
        seed=effective.seed,
        timeouts=effective.timeouts,
        http=effective.http,
        max_in_flight=effective.max_in_flight,
        arrival=effective.arrival,
        secret_headers=secret_names(effective.redact_headers),
        warnings=tuple(warnings),
        start_spread_s=effective.start_spread.seconds,
        burstiness=effective.burstiness,
        max_requests=effective.max_requests,
        slo=parse_slos(effective.slo),
    )


def _pick(scenario_value: Any, default_value: Any) -> Any:
    return default_value if scenario_value is None else scenario_value


def _resolve_scenario(
    profile: Profile,
    scenario: Scenario,
    where: str,
    env: Mapping[str, str],
    problems: list[str],
    warnings: list[str],
    target_where: str | None = None,
) -> ScenarioPlan | None:
    defaults = profile.defaults
    count = len(problems)
    protocol = _pick(scenario.protocol, defaults.protocol)
    adapter: type[Adapter] | None = None
    try:
        adapter = get_adapter(protocol)
    except RegistryError as exc:
        problems.append(f"{where}.protocol: {exc}")
    protocol_path = adapter.path if adapter is not None else ""
    raw_target = _pick(scenario.target, defaults.target)
    target = None
    if raw_target is None:
        problems.append(f"{where}.target: no target; set one in the profile or pass --target")
    else:
        target_where = target_where or f"{where}.target"
        expanded = _expand(raw_target, env, target_where, problems)
        target = _parse_target(expanded, protocol_path, target_where, problems)
    headers = merge_headers(defaults.headers, scenario.headers)
    expanded_headers = tuple(
        (key, _expand(value, env, f"{where}.headers{key_path(key)}", problems))
        for key, value in headers.items()
    )
    for key, value in expanded_headers:
        problem = header_value_problem(key, value)
        if problem is not None:
            problems.append(f"{where}.headers{key_path(key)}: after ${{NAME}} expansion, {problem}")
    model = _pick(scenario.model, defaults.model)
    if model is None:
        problems.append(f"{where}.model: no model; set one in the profile or pass --model")
    if len(problems) > count or target is None or model is None:
        return None
    secret = secret_names(profile.redact_headers)
    for name, value in expanded_headers:
        if holds_mask(value) and is_secret(name, secret):
            warnings.append(
                f"scenario {scenario.name!r}: header {name} holds a masked secret ({MASK}), "
                "as in a written-out profile; supply the key again (--vk, LOADTEST_VK, --header)"
            )
    assert adapter is not None  # an unknown protocol is a problem, returned above
    names = {name.lower() for name in headers}
    warnings += [f"scenario {scenario.name!r}: {w}" for w in adapter.header_warnings(names)]
    tools, tool_choice = _tools(scenario, defaults, adapter, where, problems)
    stream = _pick(scenario.stream, defaults.stream)
    if not adapter.streams:
        if scenario.stream:
            problems.append(
                f"{where}.stream: protocol {protocol!r} has no streamed answers; "
                "leave stream out or set it to false"
            )
        stream = False
    if len(problems) > count:
        return None
    system = _pick(scenario.system, defaults.system)
    content = _pick(scenario.content, defaults.content)
    turns = _pick(scenario.turns, defaults.turns)
    if isinstance(content, DatasetContent) and turns != 1:
        warnings.append(
            f"scenario {scenario.name!r}: turns is not used with dataset content: a "
            "conversation sends its record's user turns (cap them with content.max_turns)"
        )
    return ScenarioPlan(
        name=scenario.name,
        weight=scenario.weight,
        protocol=protocol,
        target=target,
        headers=expanded_headers,
        model=model,
        max_tokens=_pick(scenario.max_tokens, defaults.max_tokens),
        stream=stream,
        system=system or None,
        temperature=_pick(scenario.temperature, defaults.temperature),
        extra_body={**defaults.extra_body, **(scenario.extra_body or {})},
        content=content,
        turns=turns,
        think_time=_pick(scenario.think_time, profile.think_time),
        thresholds=scenario.thresholds,
        tools=tools,
        tool_choice=tool_choice,
    )


_CHOICES = ("auto", "required", "none")


def _tools(
    scenario: Scenario, defaults: Any, adapter: type[Adapter], where: str, problems: list[str]
) -> tuple[tuple[FunctionTool, ...], str | None]:
    """The scenario's tools and tool choice, checked against its protocol."""
    tools = defaults.tools if scenario.tools is None else scenario.tools
    choice = _pick(scenario.tool_choice, defaults.tool_choice)
    if tools and not adapter.supports_tools:
        able = ", ".join(n for n in available() if get_adapter(n).supports_tools)
        problems.append(f"{where}.tools: protocol {adapter.name!r} sends no tools ({able} do)")
    names = [tool.name for tool in tools]
    orphan = scenario.tool_choice is not None or (defaults.tool_choice and not defaults.tools)
    if choice is not None and not tools:
        if orphan:  # a choice set where there are no tools; one inherited is dropped
            problems.append(f"{where}.tool_choice: there are no tools to choose from; set tools")
        choice = None
    elif choice is not None and choice not in _CHOICES and choice not in names:
        problems.append(
            f"{where}.tool_choice: {choice!r} is none of auto, required, none "
            f"or a tool's name ({', '.join(names)})"
        )
    wire = tuple(FunctionTool(t.name, t.description, t.parameters) for t in tools)
    return wire, choice


def _expand(text: str, env: Mapping[str, str], where: str, problems: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            problems.append(f"{where}: environment variable {name} is not set")
            return ""
        return env[name]

    return ENV_REF.sub(replace, text)


def _parse_target(url: str, protocol_path: str, where: str, problems: list[str]) -> Target | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        problems.append(f'{where}: "{mask_url_safely(url)}" is not a valid URL ({exc})')
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = mask_url_safely(url)
        problems.append(f'{where}: expected an http:// or https:// URL with a host, got "{shown}"')
        return None
    if port == 0:
        problems.append(f"{where}: port 0 cannot be connected to (use 1-65535)")
        return None
    if _VISIBLE_ASCII.fullmatch(url) is None:
        problems.append(
            f"{where}: a URL is visible ASCII without spaces (percent-encode anything else)"
        )
        return None
    path = _request_path(parts.path, protocol_path)
    request_target = f"{path}?{parts.query}" if parts.query else path
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname
    full = f"{parts.scheme}://{parts.netloc}{request_target}"
    return Target(parts.scheme, host, port or default_port, request_target, full)


def mask_url_safely(url: str) -> str:
    """`url` for an error message: masked, or elided if it cannot even be parsed."""
    try:
        return mask_url(url)
    except ValueError:
        return "<unparseable URL>"


def _request_path(path: str, protocol_path: str) -> str:
    """The base-URL rule: no path, or a path ending in /v1, gets the
    protocol's path; anything else is a full URL, kept as is."""
    trimmed = path.rstrip("/")
    if not trimmed:
        return protocol_path or "/"
    if trimmed.endswith("/v1") and protocol_path.startswith("/v1/"):
        return trimmed + protocol_path[len("/v1") :]
    return path
