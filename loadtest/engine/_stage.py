"""Stages: one nursery each; closed loops of VUs, or an open-loop scheduler.

Rules:
- A stage runs inside its own nursery. Closed stages start one task per VU;
  open stages start one scheduler task that launches a conversation task per
  arrival. Nothing outlives the stage.
- When the stage's time is up, no new turn starts (think-time sleeps end
  early); turns in flight get `graceful_stop` to finish, then the nursery is
  cancelled and they are recorded `interrupted`.
- A turn belongs to the stage, and the warm-up or steady window, in which it
  started: its spec carries the stage index and warm-up flag, and it records
  into its stage's recorder.
- A conversation ends at its first failed turn (its history would be
  wrong). After an answer that called tools, the history holds the
  assistant's message with its calls and one result per call
  (`TOOL_RESULT`), then the next user message. A VU that cannot even
  connect waits `_CONNECT_BACKOFF_S` before its next conversation instead
  of spinning on the CPU.
- Open loop: the schedule never waits for the server. An arrival that finds
  `max_in_flight` conversations running is dropped and counted, never
  delayed. The first turn's schedule lag is its actual start minus its
  intended start; later turns are scheduled from the previous turn's end
  plus think time. The arrivals the schedule planned before the scheduler
  stopped (reached or not) are counted: the health rule's target.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import attrs
import trio

from loadtest import taxonomy
from loadtest.config import ClosedStage, OpenStage, RunPlan, ScenarioPlan
from loadtest.engine._content import (
    TextPool,
    conversation_rng,
    draw_think_s,
    draw_turns,
    first_system,
    place_uuid,
    random_uuid,
    user_text,
)
from loadtest.engine._health import CpuMeter, LoopMonitor
from loadtest.engine._scenario import ScenarioRuntime
from loadtest.engine._schedule import ScenarioPicker, arrival_offsets
from loadtest.engine._transport import ConnectionPool
from loadtest.engine._turn import TurnResult, TurnSpec, run_turn
from loadtest.metrics import StageRecorder, TurnRecord
from loadtest.protocol import Conversation, Message

__all__ = [
    "RunContext",
    "StageContext",
    "StageStats",
    "new_conversation",
    "run_closed_stage",
    "run_open_stage",
    "user_message",
]

#: Classes where no request reached the server: retrying at once only spins.
_NO_REQUEST_SENT = frozenset(
    {
        taxonomy.CONN_REFUSED,
        taxonomy.DNS,
        taxonomy.TLS,
        taxonomy.TIMEOUT_CONNECT,
        taxonomy.GEN_PORT_EXHAUSTION,
        taxonomy.GEN_TLS_SETUP,
        taxonomy.GEN_FD_EXHAUSTION,
    }
)
_CONNECT_BACKOFF_S = 0.125


@attrs.define
class RunContext:
    """What every stage of a run shares."""

    plan: RunPlan
    pool: ConnectionPool
    scenarios: list[ScenarioRuntime]
    text_pool: TextPool
    write_record: Callable[[TurnRecord], None]
    #: Add to trio's clock to get Unix time.
    wall_offset_s: float


@attrs.frozen
class StageStats:
    """A running stage, for progress displays and health checks."""

    index: int
    elapsed_s: float
    duration_s: float
    in_flight: int
    peak_in_flight: int
    conversations_in_flight: int
    arrivals: int
    dropped: int


@attrs.define
class StageContext:
    """One running stage and everything scoped to it: its clock windows,
    recorder, in-flight counts, its own loop monitor and CPU meter, and the
    cancel scope that stops it. Nothing of one stage leaks into the next."""

    run: RunContext
    index: int
    stage: ClosedStage | OpenStage
    recorder: StageRecorder
    started: float
    warmup_end: float
    stop_at: float
    #: The event-loop ticker of this stage (None until the stage's nursery runs).
    monitor: LoopMonitor | None = None
    cpu: CpuMeter = attrs.Factory(CpuMeter)
    #: Cancelled to stop this stage now (turns in flight are interrupted).
    scope: trio.CancelScope = attrs.Factory(trio.CancelScope)
    in_flight: int = 0
    peak_in_flight: int = 0
    conversations: int = 0
    arrivals: int = 0
    started_conversations: int = 0
    dropped: int = 0
    #: Open loop: arrivals the seeded schedule planned before the scheduler
    #: stopped (handled or not); the health rule's target.
    planned_arrivals: int = 0
    #: Conversation ids: seeded from os.urandom, different in every run.
    ids: random.Random = attrs.Factory(random.Random)

    def record(self, record: TurnRecord) -> None:
        self.recorder.record(record)
        self.run.write_record(record)

    def statistics(self) -> StageStats:
        return StageStats(
            index=self.index,
            elapsed_s=max(trio.current_time() - self.started, 0.0),
            duration_s=self.stage.duration.seconds,
            in_flight=self.in_flight,
            peak_in_flight=self.peak_in_flight,
            conversations_in_flight=self.conversations,
            arrivals=self.arrivals,
            dropped=self.dropped,
        )


#: The result the history gives every tool call an answer made (the engine
#: runs no tools), before the next user message (docs/metrics.md).
TOOL_RESULT = '{"ok": true}'


async def run_conversation(
    ctx: StageContext,
    scenario: ScenarioRuntime,
    rng: random.Random,
    conversation_id: str,
    intended: float | None = None,
) -> str | None:
    """Run one conversation; return the error class of the turn that ended
    it early, or None. `rng` draws its plan; `intended` (open loop) is the
    first turn's planned start."""
    plan = scenario.plan
    run_plan = ctx.run.plan
    system = first_system(plan.system, run_plan.cache_mode, conversation_id)
    messages: list[Message] = []
    for turn_index in range(draw_turns(plan.turns, rng)):
        if trio.current_time() >= ctx.stop_at:
            return None
        text = user_message(run_plan, plan, turn_index, rng, ctx.run.text_pool, conversation_id)
        messages.append(Message("user", text))
        result = await _turn(ctx, scenario, system, messages, conversation_id, turn_index, intended)
        if not result.ok:
            return result.record.error_class
        messages.append(Message("assistant", result.reply, result.tool_calls))
        messages.extend(Message("tool", TOOL_RESULT, tool_call_id=c.id) for c in result.tool_calls)
        wake = trio.current_time() + draw_think_s(plan.think_time, rng)
        if intended is not None:
            intended = wake  # open loop: the next turn is planned for now + think time
        if wake > trio.current_time():
            await trio.sleep_until(min(wake, ctx.stop_at))
    return None


def user_message(
    run_plan: RunPlan,
    plan: ScenarioPlan,
    turn_index: int,
    rng: random.Random,
    text_pool: TextPool,
    conversation_id: str,
) -> str:
    """The user message of turn `turn_index` (0-based) as sent: content,
    cache-mode UUID, and the correlation tag when asked for."""
    text = user_text(plan.content, turn_index, rng, text_pool)
    text = place_uuid(
        text, turn_index == 0, bool(plan.system), run_plan.cache_mode, conversation_id
    )
    if run_plan.correlation.uuid_in_prompt:
        text = f"{text}\n[loadtest {conversation_id}-t{turn_index + 1}]"
    return text


def new_conversation(
    plan: ScenarioPlan, system: str | None, messages: list[Message]
) -> Conversation:
    """The conversation a turn sends: the scenario's settings and the history."""
    return Conversation(
        model=plan.model,
        messages=tuple(messages),
        system=system,
        max_tokens=plan.max_tokens,
        stream=plan.stream,
        temperature=plan.temperature,
        extra_body=plan.extra_body,
        tools=plan.tools,
        tool_choice=plan.tool_choice,
    )


async def _turn(
    ctx: StageContext,
    scenario: ScenarioRuntime,
    system: str | None,
    messages: list[Message],
    conversation_id: str,
    turn_index: int,
    intended: float | None,
) -> TurnResult:
    conversation = new_conversation(scenario.plan, system, messages)
    now = trio.current_time()
    spec = TurnSpec(
        stage=ctx.index,
        scenario_index=scenario.index,
        conversation_id=conversation_id,
        turn=turn_index + 1,
        warmup=now < ctx.warmup_end,
        start_unix_s=now + ctx.run.wall_offset_s,
        lag_us=round((now - intended) * 1e6) if intended is not None else None,
    )
    ctx.in_flight += 1
    ctx.peak_in_flight = max(ctx.peak_in_flight, ctx.in_flight)
    try:
        result = await run_turn(ctx.run.pool, scenario, conversation, spec, ctx.record)
    finally:
        ctx.in_flight -= 1
    ctx.record(result.record)
    return result


# --- closed loop ----------------------------------------------------------------


async def run_closed_stage(ctx: StageContext, vus_per_scenario: tuple[int, ...]) -> None:
    """Run a closed stage: VUs per scenario as given, until its time is up
    plus the graceful stop. A checkpoint."""
    # With `start_spread`, VU i of N starts i/N of it after the stage: VUs
    # that all start together read their streams in synchronised bursts.
    step_s = ctx.run.plan.start_spread_s / max(sum(vus_per_scenario), 1)
    async with trio.open_nursery() as nursery:
        nursery.cancel_scope.deadline = ctx.stop_at + ctx.run.plan.graceful_stop_s
        vu = 0
        for scenario, count in zip(ctx.run.scenarios, vus_per_scenario, strict=True):
            for _ in range(count):
                nursery.start_soon(_virtual_user, ctx, scenario, vu, ctx.started + vu * step_s)
                vu += 1


async def _virtual_user(
    ctx: StageContext, scenario: ScenarioRuntime, vu: int, start_at: float
) -> None:
    # One seeded RNG per VU: its conversations follow one another, so the
    # plan is the same sequence in every run. Ids come from a fresh RNG.
    rng = conversation_rng(ctx.run.plan.seed, ctx.index, "vu", vu)
    ids = random.Random()
    if start_at > ctx.started:
        await trio.sleep_until(min(start_at, ctx.stop_at))
    while trio.current_time() < ctx.stop_at:
        failed = await run_conversation(ctx, scenario, rng, random_uuid(ids))
        if failed in _NO_REQUEST_SENT:
            await trio.sleep_until(min(trio.current_time() + _CONNECT_BACKOFF_S, ctx.stop_at))


# --- open loop -------------------------------------------------------------------


async def run_open_stage(ctx: StageContext, max_in_flight: int) -> None:
    """Run an open stage: the scheduler launches each arrival at its planned
    time, or drops it when `max_in_flight` conversations are running. A
    checkpoint."""
    stage = ctx.stage
    assert isinstance(stage, OpenStage)
    plan = ctx.run.plan
    rng = conversation_rng(plan.seed, ctx.index, "arrivals")
    picker = ScenarioPicker([s.plan.weight for s in ctx.run.scenarios])
    process, burstiness = plan.arrival_process(stage)
    offsets = arrival_offsets(stage.rate, stage.duration.seconds, process, rng, burstiness)
    pending: float | None = None  # drawn from the schedule, not handled yet
    try:
        async with trio.open_nursery() as nursery:
            nursery.cancel_scope.deadline = ctx.stop_at + plan.graceful_stop_s
            for number, offset in enumerate(offsets):
                pending = offset
                intended = ctx.started + offset
                await trio.sleep_until(intended)
                pending = None
                scenario = ctx.run.scenarios[picker.pick(rng)]
                ctx.arrivals += 1
                if ctx.conversations >= max_in_flight:
                    ctx.dropped += 1
                    ctx.recorder.record_dropped(scenario.index)
                    continue
                ctx.conversations += 1
                nursery.start_soon(_arrival, ctx, scenario, number, intended)
    finally:
        until_s = min(trio.current_time() - ctx.started, stage.duration.seconds)
        missed = _count_missed(offsets, pending, until_s, lambda: picker.pick(rng))
        ctx.planned_arrivals = ctx.arrivals + missed


def _count_missed(
    offsets: Iterator[float], pending: float | None, until_s: float, pick: Callable[[], object]
) -> int:
    """Arrivals the schedule planned before `until_s` that the scheduler did
    not reach (it was late, or the stage was stopped): `pending` and the rest
    of `offsets`, drawing a scenario pick between them as the scheduler does
    so the schedule is the one it would have run. Costs no more than the
    arrivals that were due."""
    missed = 0
    offset = pending
    while offset is not None and offset < until_s:
        missed += 1
        pick()
        offset = next(offsets, None)
    return missed


async def _arrival(
    ctx: StageContext, scenario: ScenarioRuntime, number: int, intended: float
) -> None:
    try:
        if trio.current_time() < ctx.stop_at:
            ctx.started_conversations += 1
        rng = conversation_rng(ctx.run.plan.seed, ctx.index, "conv", number)
        await run_conversation(ctx, scenario, rng, random_uuid(ctx.ids), intended)
    finally:
        ctx.conversations -= 1
