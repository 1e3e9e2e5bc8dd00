"""The plan as text, for `loadtest validate`: what would run, with no load sent.

Shows the scenarios (protocol, target, model, turns, content, headers with
secrets masked), then each stage with its mode, load, duration, warm-up and
steady windows, its VU split (closed) or expected arrivals (open), and the
expected number of requests where it can be known without a server.

Pure: returns a string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest.config._model import (
    ClosedStage,
    Content,
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


def _content_text(content: Content) -> str:
    if isinstance(content, PoolContent):
        return f"pool of {len(content.prompts)} prompts"
    if isinstance(content, ScriptedContent):
        return f"script of {len(content.script)} messages"
    assert isinstance(content, SizedContent)
    return f"sized, ~{content.approx_input_tokens} tokens per turn"


def _answer_text(scenario: ScenarioPlan) -> str:
    if not get_adapter(scenario.protocol).streams:
        return "answers never streamed, no output tokens"
    return f"max_tokens {scenario.max_tokens}, {'stream' if scenario.stream else 'no stream'}"


def _scenario_lines(plan: RunPlan, scenario: ScenarioPlan) -> list[str]:
    total_weight = sum(s.weight for s in plan.scenarios) or 1.0
    share = 100 * scenario.weight / total_weight
    lines = [
        f"  {scenario.name}  (weight {scenario.weight:g}, {share:.0f}%)",
        f"    {scenario.protocol}  POST {mask_url(scenario.target.url)}",
        f"    model {scenario.model}, {_answer_text(scenario)}",
        f"    turns {_turns_text(scenario.turns)}, think time "
        f"{_think_text(scenario.think_time)}, {_content_text(scenario.content)}",
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
    duration_s = stage.duration.seconds
    warmup_s = min(plan.warmup_s, duration_s)
    window = (
        f"warm-up 0-{Duration.from_seconds(warmup_s)}, "
        f"steady {Duration.from_seconds(warmup_s)}-{stage.duration}"
    )
    head = f"  {index + 1}. {format_stage(stage)}  "
    if isinstance(stage, ClosedStage):
        split = ", ".join(
            f"{s.name} {n}" for s, n in zip(plan.scenarios, plan.vu_split(stage), strict=True)
        )
        return [
            head
            + f"closed loop, {counted(stage.concurrency, 'VU')} for {stage.duration} ({window})",
            f"     VUs: {split}",
            "     requests: set by response time (each VU runs one turn at a time)",
        ]
    process, burstiness = plan.arrival_process(stage)
    arrival = f"gamma, burstiness {burstiness:g}" if process == "gamma" else process
    conversations = stage.rate * duration_s
    weight_sum = sum(s.weight for s in plan.scenarios) or 1.0
    turns = sum(mean_turns(s.turns) * s.weight for s in plan.scenarios) / weight_sum
    return [
        head + f"open loop, {stage.rate:g} conversations/s ({arrival}) for "
        f"{stage.duration} ({window})",
        f"     expected: {conversations:,.0f} conversations, ~{conversations * turns:,.0f} "
        f"requests (mean {turns:g} turns each)",
    ]


def describe_plan(plan: RunPlan) -> str:
    """The whole plan as human-readable text."""
    total_s = sum(stage.duration.seconds for stage in plan.stages)
    lines = [
        f"profile {plan.name}: {counted(len(plan.stages), 'stage')}, "
        f"{Duration.from_seconds(total_s)} in all, seed {plan.seed}, "
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
    lines.extend(f"warning: {warning}" for warning in plan.warnings)
    lines.extend(
        f"warning: {problem} (`run` refuses to send it, except to its own --mock)"
        for problem in plan.placeholder_problems()
    )
    return "\n".join(lines) + "\n"
