"""Open-loop stages: a scheduler that starts each arrival's conversation at
its planned time, whatever the server does.

Rules:
- Open loop: the schedule never waits for the server. An arrival that finds
  `max_in_flight` conversations running is dropped and counted, never
  delayed. The first turn's schedule lag is its actual start minus its
  intended start; later turns are scheduled from the previous turn's end
  plus think time. The arrivals the schedule planned before the scheduler
  stopped (reached or not) are counted: the health rule's target.
- The scheduler sleeps only when the next arrival is not yet due: every
  arrival whose intended time has passed when it wakes is launched in that
  one wake-up (trio's timers resolve to a millisecond, so at a few
  thousand arrivals per second each wake-up finds several due). Each
  conversation's RNG is keyed by (seed, stage, arrival number), never
  seeded per arrival.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from loadtest.config import OpenStage
from loadtest.engine._content import (
    StreamRandom,
    conversation_rng,
    random_uuid,
    stream_key,
    subkey,
)
from loadtest.engine._schedule import ScenarioPicker, arrival_offsets, ramp_offsets
from loadtest.engine._stage import StageContext, run_conversation

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Iterator

    from loadtest.engine._scenario import ScenarioRuntime

__all__ = ["run_open_stage"]


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
    conversations_key = stream_key(plan.seed, ctx.index, "conv")
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
                if intended > trio.current_time():  # not due yet: sleep (else launch now)
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
                arrival_rng = StreamRandom(subkey(conversations_key, number))
                nursery.start_soon(_arrival, ctx, scenario, arrival_rng, intended)
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
    ctx: StageContext, scenario: ScenarioRuntime, rng: random.Random, intended: float
) -> None:
    try:
        if trio.current_time() < ctx.stop_at:
            ctx.started_conversations += 1
        await run_conversation(ctx, scenario, rng, random_uuid(ctx.ids), intended)
    finally:
        ctx.conversations -= 1
