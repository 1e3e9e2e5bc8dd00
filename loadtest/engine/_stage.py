"""Stages: one nursery each; closed loops of VUs, or an open-loop scheduler.

Rules:
- A stage runs inside its own nursery. Closed stages start one task per VU;
  open stages start one scheduler task that launches a conversation task per
  arrival. Nothing outlives the stage.
- When the stage's time is up, no new turn starts (think-time sleeps end
  early); turns in flight get `graceful_stop` to finish, then the nursery is
  cancelled and they are recorded `interrupted`.
- A request cap (the stage's `requests`, or what is left of the run's
  `max_requests`) counts turns as they start, warm-up included: the turn
  that reaches it ends the stage's time at that instant (`end_time`), so
  exactly that many turns start, and the graceful stop runs from then.
  `ended_by` says what ended the stage's time.
- Closed stages run the VUs of `vu_plan` (engine/_schedule.py): each starts
  at its planned time; a VU that a ramp down removes starts no turn after
  its stop time, but its turn in flight finishes (as k6's graceful ramp
  down), bounded by the stage's end plus `graceful_stop` like any other.
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

import math
import random
from collections.abc import Callable, Iterator, Sequence

import attrs
import trio

from loadtest import taxonomy
from loadtest.config import ClosedStage, DatasetRecord, OpenStage, RunPlan, ScenarioPlan
from loadtest.engine._content import (
    TextPool,
    conversation_rng,
    draw_max_tokens,
    draw_think_s,
    draw_turns,
    first_system,
    place_uuid,
    random_uuid,
    user_text,
)
from loadtest.engine._health import CpuMeter, LoopMonitor
from loadtest.engine._scenario import ScenarioRuntime
from loadtest.engine._schedule import ScenarioPicker, VuSlot, arrival_offsets, ramp_offsets
from loadtest.engine._transport import ConnectionPool
from loadtest.engine._turn import TurnResult, TurnSpec, run_turn
from loadtest.metrics import EndedBy, StageRecorder, TurnRecord
from loadtest.protocol import Conversation, Message

__all__ = [
    "RunContext",
    "StageContext",
    "StageStats",
    "conversation_system",
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
    #: Turns started in this stage, warm-up included.
    turns_started: int = 0
    #: End the stage's time once this many turns have started (None: no cap),
    #: and the `ended_by` of that end ("requests" or "run-requests").
    turn_cap: int | None = None
    cap_reason: EndedBy = "requests"
    #: What ended the stage's time: "duration", "requests" or "run-requests".
    ended_by: EndedBy = "duration"
    #: Set when the stage's time is cut short: every stage sleep wakes.
    cut: trio.Event = attrs.Factory(trio.Event)
    #: The stage nursery's scope: its deadline is the end of the graceful stop.
    grace: trio.CancelScope | None = None

    def end_time(self, reason: EndedBy) -> None:
        """End the stage's time now: no new turn starts, sleeps wake, turns
        in flight get the graceful stop from now."""
        now = trio.current_time()
        if now < self.stop_at:
            self.stop_at = now
            self.ended_by = reason
            if self.grace is not None:
                self.grace.deadline = now + self.run.plan.graceful_stop_s
        self.cut.set()

    def time_s(self) -> float:
        """The stage's time: to its end (its duration, or the turn that
        reached its request count); for a stage with no duration that was
        stopped before its count, to now."""
        end = self.stop_at if math.isfinite(self.stop_at) else trio.current_time()
        return end - self.started

    async def sleep_until(self, when: float, until: float = math.inf) -> None:
        """Sleep until `when`, or the stage's time is up, or `until`,
        whichever comes first. A checkpoint."""
        with trio.move_on_at(min(when, self.stop_at, until)):
            await self.cut.wait()

    def record(self, record: TurnRecord) -> None:
        self.recorder.record(record)
        self.run.write_record(record)

    def statistics(self) -> StageStats:
        return StageStats(
            index=self.index,
            elapsed_s=max(trio.current_time() - self.started, 0.0),
            duration_s=self.stage.duration_s,
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
    until: float = math.inf,
) -> str | None:
    """Run one conversation; return the error class of the turn that ended
    it early, or None. `rng` draws its plan; `intended` (open loop) is the
    first turn's planned start; no turn starts at or after `until` (a VU
    that a ramp down removes) or the stage's end."""
    plan = scenario.plan
    run_plan = ctx.run.plan
    record = scenario.draw_record(rng)
    system = first_system(conversation_system(plan, record), run_plan.cache_mode, conversation_id)
    turns = len(record.turns) if record is not None else draw_turns(plan.turns, rng)
    messages: list[Message] = []
    for turn_index in range(turns):
        if trio.current_time() >= min(ctx.stop_at, until):
            return None
        text = user_message(
            run_plan, plan, turn_index, rng, ctx.run.text_pool, conversation_id, record
        )
        messages.append(Message("user", text))
        conversation = new_conversation(plan, system, messages, draw_max_tokens(plan, rng))
        result = await _turn(ctx, scenario, conversation, conversation_id, turn_index, intended)
        if not result.ok:
            return result.record.error_class
        messages.append(Message("assistant", result.reply, result.tool_calls))
        messages.extend(Message("tool", TOOL_RESULT, tool_call_id=c.id) for c in result.tool_calls)
        wake = trio.current_time() + draw_think_s(plan.think_time, rng)
        if intended is not None:
            intended = wake  # open loop: the next turn is planned for now + think time
        if wake > trio.current_time():
            await ctx.sleep_until(wake, until)
    return None


def user_message(
    run_plan: RunPlan,
    plan: ScenarioPlan,
    turn_index: int,
    rng: random.Random,
    text_pool: TextPool,
    conversation_id: str,
    record: DatasetRecord | None = None,
) -> str:
    """The user message of turn `turn_index` (0-based) as sent: content,
    cache-mode UUID, and the correlation tag when asked for. `record`: the
    conversation's dataset record."""
    text = user_text(plan.content, turn_index, rng, text_pool, record, plan.input_lengths)
    has_system = bool(conversation_system(plan, record))
    text = place_uuid(text, turn_index == 0, has_system, run_plan.cache_mode, conversation_id)
    if run_plan.correlation.uuid_in_prompt:
        text = f"{text}\n[loadtest {conversation_id}-t{turn_index + 1}]"
    return text


def conversation_system(plan: ScenarioPlan, record: DatasetRecord | None) -> str | None:
    """The system prompt of a conversation: its dataset record's, else the scenario's."""
    return record.system if record is not None and record.system else plan.system


def new_conversation(
    plan: ScenarioPlan, system: str | None, messages: list[Message], max_tokens: int
) -> Conversation:
    """The conversation a turn sends: the scenario's settings, the history
    and the turn's `max_tokens`."""
    return Conversation(
        model=plan.model,
        messages=tuple(messages),
        system=system,
        max_tokens=max_tokens,
        stream=plan.stream,
        temperature=plan.temperature,
        extra_body=plan.extra_body,
        tools=plan.tools,
        tool_choice=plan.tool_choice,
    )


async def _turn(
    ctx: StageContext,
    scenario: ScenarioRuntime,
    conversation: Conversation,
    conversation_id: str,
    turn_index: int,
    intended: float | None,
) -> TurnResult:
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
    ctx.turns_started += 1
    if ctx.turn_cap is not None and ctx.turns_started >= ctx.turn_cap:
        ctx.end_time(ctx.cap_reason)
    try:
        result = await run_turn(ctx.run.pool, scenario, conversation, spec, ctx.record)
    finally:
        ctx.in_flight -= 1
    ctx.record(result.record)
    return result


# --- closed loop ----------------------------------------------------------------


async def run_closed_stage(ctx: StageContext, slots: Sequence[VuSlot]) -> None:
    """Run a closed stage: one task per VU of `slots` (`vu_plan`, the whole
    plan's VUs), until its time is up plus the graceful stop. A checkpoint.
    A segment runs the VUs it owns, each with its number (seed, start
    offset) in the whole plan."""
    segment = ctx.run.plan.segment
    async with trio.open_nursery() as nursery:
        nursery.cancel_scope.deadline = ctx.stop_at + ctx.run.plan.graceful_stop_s
        ctx.grace = nursery.cancel_scope
        for vu, slot in enumerate(slots):
            if not segment.owns(vu):
                continue
            stop_at = math.inf if slot.stop_s is None else ctx.started + slot.stop_s
            scenario = ctx.run.scenarios[slot.scenario]
            nursery.start_soon(
                _virtual_user, ctx, scenario, vu, ctx.started + slot.start_s, stop_at
            )


async def _virtual_user(
    ctx: StageContext, scenario: ScenarioRuntime, vu: int, start_at: float, stop_at: float
) -> None:
    # One seeded RNG per VU: its conversations follow one another, so the
    # plan is the same sequence in every run. Ids come from a fresh RNG.
    rng = conversation_rng(ctx.run.plan.seed, ctx.index, "vu", vu)
    ids = random.Random()
    if start_at > ctx.started:
        await ctx.sleep_until(start_at)
    while trio.current_time() < min(ctx.stop_at, stop_at):
        failed = await run_conversation(ctx, scenario, rng, random_uuid(ids), until=stop_at)
        if failed in _NO_REQUEST_SENT:
            await ctx.sleep_until(trio.current_time() + _CONNECT_BACKOFF_S, stop_at)


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
    duration_s = stage.duration_s
    offsets = (
        arrival_offsets(stage.rate, duration_s, process, rng, burstiness)
        if stage.ramp_to is None
        else ramp_offsets(stage.rate, stage.ramp_to, duration_s, process, rng, burstiness)
    )
    # A segment draws the whole schedule and runs the arrivals it owns.
    numbered = enumerate(offsets)
    owns = plan.segment.owns
    pending: float | None = None  # drawn from the schedule, not handled yet
    try:
        async with trio.open_nursery() as nursery:
            nursery.cancel_scope.deadline = ctx.stop_at + plan.graceful_stop_s
            ctx.grace = nursery.cancel_scope
            for number, offset in numbered:
                if not owns(number):
                    picker.pick(rng)  # another segment's arrival: keep the draws in step
                    continue
                pending = offset
                intended = ctx.started + offset
                await ctx.sleep_until(intended)
                if ctx.cut.is_set():
                    break
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
        until_s = min(trio.current_time(), ctx.stop_at) - ctx.started
        missed = _count_missed(numbered, pending, until_s, lambda: picker.pick(rng), owns)
        ctx.planned_arrivals = ctx.arrivals + missed


def _count_missed(
    numbered: Iterator[tuple[int, float]],
    pending: float | None,
    until_s: float,
    pick: Callable[[], object],
    owns: Callable[[int], bool],
) -> int:
    """Arrivals of this segment the schedule planned before `until_s` that
    the scheduler did not reach (it was late, or the stage was stopped):
    `pending` (one of this segment's) and those of the rest of `numbered`
    this segment owns, drawing a scenario pick between them as the
    scheduler does so the schedule is the one it would have run. Costs no
    more than the arrivals that were due."""
    missed = 0
    if pending is None or pending >= until_s:
        return 0
    missed += 1
    pick()
    for number, offset in numbered:
        if offset >= until_s:
            break
        pick()
        missed += owns(number)
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
