"""The plan as text, for `loadtest validate`: what would run, with no load sent.

Shows the scenarios (protocol, target, model, turns, content, headers with
secrets masked), then each stage with its mode, load, duration, warm-up and
steady windows, its VU split (closed) or expected arrivals (open), and the
expected number of requests where it can be known without a server.

Pure: returns a string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest.config._dataset import DatasetContent
from loadtest.config._lengths import (
    EmpiricalDist,
    LognormalDist,
    NormalDist,
    TokenCount,
    UniformDist,
    mean_tokens,
)
from loadtest.config._model import (
    ClosedStage,
    OpenStage,
    PoolContent,
    ScriptedContent,
    SizedContent,
    ThinkTime,
    Turns,
)
from loadtest.config._redact import mask_header, mask_url
from loadtest.config._stages import format_stage
from loadtest.config._units import Duration, DurationRange, IntRange
from loadtest.config._words import counted
from loadtest.protocol import get_adapter

if TYPE_CHECKING:
    from loadtest.config._resolve import RunPlan, ScenarioPlan

__all__ = ["describe_plan", "mean_turns"]


def mean_turns(turns: Turns) -> float:
    """The expected number of turns of a conversation."""
    return (turns.min + turns.max) / 2 if isinstance(turns, IntRange) else float(turns)


def _turns_text(turns: Turns) -> str:
    return f"{turns.min}-{turns.max}" if isinstance(turns, IntRange) else str(turns)


def _think_text(think: ThinkTime) -> str:
    if isinstance(think, DurationRange):
        return f"{think.min}-{think.max}"
    return str(think)


def count_text(count: TokenCount, lengths: tuple[int, ...] = ()) -> str:
    """A token count as the plan shows it: `256`, `normal mean 500 stddev 100 (50-2000)`."""
    if isinstance(count, int):
        return str(count)
    bounds = f"({count.min}-{count.max})"
    if isinstance(count, UniformDist):
        return f"uniform {bounds}"
    if isinstance(count, NormalDist):
        return f"normal mean {count.mean:g} stddev {count.stddev:g} {bounds}"
    if isinstance(count, LognormalDist):
        return f"lognormal mean {count.mean:g} sigma {count.sigma:g} {bounds}"
    assert isinstance(count, EmpiricalDist)
    found = f" of {counted(len(lengths), 'length')}, mean {mean_tokens(count, lengths):.0f}"
    return f"empirical{found if lengths else ''} {bounds}"


def _content_text(scenario: ScenarioPlan) -> str:
    content = scenario.content
    if isinstance(content, PoolContent):
        return f"pool of {len(content.prompts)} prompts"
    if isinstance(content, ScriptedContent):
        return f"script of {len(content.script)} messages"
    if isinstance(content, DatasetContent):
        draw = "with" if content.replacement else "without"
        dataset = scenario.dataset
        found = f", {counted(len(dataset.records), 'record')}" if dataset else ""
        return f"dataset {content.path}{found}, drawn {draw} replacement"
    assert isinstance(content, SizedContent)
    tokens = count_text(content.approx_input_tokens, scenario.input_lengths)
    return f"sized, ~{tokens} tokens per turn"


def _scenario_turns(scenario: ScenarioPlan) -> float:
    """The expected number of turns of one of the scenario's conversations."""
    dataset = scenario.dataset
    if dataset is not None:
        return sum(len(r.turns) for r in dataset.records) / len(dataset.records)
    return mean_turns(scenario.turns)


def _turns_line(scenario: ScenarioPlan) -> str:
    if isinstance(scenario.content, DatasetContent):
        turns = f"{_scenario_turns(scenario):.3g} on average" if scenario.dataset else "per record"
        return f"turns from the dataset ({turns})"
    return f"turns {_turns_text(scenario.turns)}"


def _answer_text(scenario: ScenarioPlan) -> str:
    if not get_adapter(scenario.protocol).streams:
        return "answers never streamed, no output tokens"
    max_tokens = count_text(scenario.max_tokens, scenario.output_lengths)
    return f"max_tokens {max_tokens}, {'stream' if scenario.stream else 'no stream'}"


def _scenario_lines(plan: RunPlan, scenario: ScenarioPlan) -> list[str]:
    total_weight = sum(s.weight for s in plan.scenarios) or 1.0
    share = 100 * scenario.weight / total_weight
    lines = [
        f"  {scenario.name}  (weight {scenario.weight:g}, {share:.0f}%)",
        f"    {scenario.protocol}  POST {mask_url(scenario.target.url)}",
        f"    model {scenario.model}, {_answer_text(scenario)}",
        f"    {_turns_line(scenario)}, think time "
        f"{_think_text(scenario.think_time)}, {_content_text(scenario)}",
    ]
    if scenario.system:
        lines.append(f"    system prompt: {len(scenario.system)} characters")
    if scenario.tools:
        choice = f" (tool choice {scenario.tool_choice})" if scenario.tool_choice else ""
        lines.append(f"    tools: {', '.join(t.name for t in scenario.tools)}{choice}")
    for name, value in scenario.headers:
        lines.append(f"    header {name}: {mask_header(name, value, plan.secret_headers)}")
    return lines


def _stage_lines(plan: RunPlan, index: int, stage: ClosedStage | OpenStage) -> list[str]:
    warmup = Duration.from_seconds(min(plan.warmup_s, stage.duration_s))
    if stage.duration is None:
        window = f"warm-up 0-{warmup}, then steady"
        length = f"until {stage.requests:,} turns have started"
        cap = []
    else:
        window = f"warm-up 0-{warmup}, steady {warmup}-{stage.duration}"
        length = f"for {stage.duration}"
        cap = (
            []
            if stage.requests is None
            else [
                f"     ends once {stage.requests:,} turns have started, if before {stage.duration}"
            ]
        )
    head = f"  {index + 1}. {format_stage(stage)}  "
    if isinstance(stage, ClosedStage):
        split = ", ".join(
            f"{s.name} {n}" for s, n in zip(plan.scenarios, plan.vu_split(stage), strict=True)
        )
        if stage.ramp_to is None:
            load = counted(stage.concurrency, "VU")
        else:
            load = f"{stage.concurrency} -> {counted(stage.ramp_to, 'VU')} (linear ramp)"
        return [
            head + f"closed loop, {load} {length} ({window})",
            f"     VUs{' at the start' if stage.ramp_to is not None else ''}: {split}",
            "     requests: set by response time (each VU runs one turn at a time)",
            *cap,
        ]
    process, burstiness = plan.arrival_process(stage)
    arrival = f"gamma, burstiness {burstiness:g}" if process == "gamma" else process
    weight_sum = sum(s.weight for s in plan.scenarios) or 1.0
    turns = sum(_scenario_turns(s) * s.weight for s in plan.scenarios) / weight_sum
    if stage.ramp_to is None:
        load = f"{stage.rate:g} conversations/s"
    else:
        load = f"{stage.rate:g} -> {stage.ramp_to:g} conversations/s (linear ramp)"
    if stage.requests is not None and stage.duration is None:
        expected = f"~{stage.requests / turns:,.0f} conversations, {stage.requests:,} requests"
    else:
        conversations = stage.expected_arrivals
        expected = f"{conversations:,.0f} conversations, ~{conversations * turns:,.0f} requests"
    return [
        head + f"open loop, {load} ({arrival}) {length} ({window})",
        f"     expected: {expected} (mean {turns:g} turns each)",
        *cap,
    ]


def describe_plan(plan: RunPlan) -> str:
    """The whole plan as human-readable text."""
    total_s = sum(stage.duration.seconds for stage in plan.stages if stage.duration)
    open_ended = sum(1 for stage in plan.stages if stage.duration is None)
    length = f"{Duration.from_seconds(total_s)} in all" + (
        f" and {counted(open_ended, 'stage')} ended by request count only" if open_ended else ""
    )
    lines = [
        f"profile {plan.name}: {counted(len(plan.stages), 'stage')}, {length}, seed {plan.seed}, "
        f"cache mode {plan.cache_mode}",
        "scenarios:",
    ]
    for scenario in plan.scenarios:
        lines.extend(_scenario_lines(plan, scenario))
    lines.append(
        f"stages (warm-up {Duration.from_seconds(plan.warmup_s)} each, graceful stop "
        f"{Duration.from_seconds(plan.graceful_stop_s)}):"
    )
    for index, stage in enumerate(plan.stages):
        lines.extend(_stage_lines(plan, index, stage))
    if plan.max_requests is not None:
        lines.append(f"the run ends once {plan.max_requests:,} turns have started in all")
    if plan.slo:
        lines.append(f"SLOs (goodput per stage): {', '.join(str(slo) for slo in plan.slo)}")
    lines.extend(f"warning: {warning}" for warning in plan.warnings)
    lines.extend(
        f"warning: {problem} (`run` refuses to send it, except to its own --mock)"
        for problem in plan.placeholder_problems()
    )
    return "\n".join(lines) + "\n"
