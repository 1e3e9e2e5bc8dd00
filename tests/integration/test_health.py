"""Generator health and coordinated omission on the mock clock: a healthy
verdict and a stall are exact here, whatever else the machine is doing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from loadtest.engine import open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    from loadtest.metrics import StageSnapshot


async def run_stage(
    nursery: trio.Nursery, stages: list[str], script: Script, seed: int = 0
) -> StageSnapshot:
    plan = make_plan(stages=stages, warmup="0s", seed=seed)
    backend = MemoryBackend(nursery, FakeGateway(script).serve)
    async with open_engine(plan, backend=backend) as engine:
        return await engine.run_stage(0)


async def test_comfortable_run_is_healthy(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """20 conversations/s against a 50 ms gateway: verdict ok, the rate achieved
    exactly, no schedule lag."""
    script = Script(ttft_s=0.05, itl_s=1 / 256, output_tokens=4)
    snapshot = await run_stage(nursery, ["@20:2s"], script)
    health = snapshot.health
    assert health is not None
    assert health.verdict == "ok", health
    assert health.reasons == ()
    assert health.figures.achieved_rate == 20.0
    assert health.figures.schedule_lag_p99_ms == 0.0
    assert snapshot.total.requests == 40


async def test_generator_stall_shows_in_corrected_not_raw_latency(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A 1 s stall of the generator's event loop (the clock jumps while no
    task runs, as in a GC pause) delays the arrivals planned in that second:
    their corrected latency (from the intended start) carries the stall,
    their measured latency (from the actual send) does not. This is the
    coordinated-omission correction, wrk2-style."""

    async def stall() -> None:
        await trio.sleep(1.0)
        autojump_clock.jump(1.0)  # no task runs while the clock moves on by 1 s

    nursery.start_soon(stall)
    script = Script(ttft_s=1 / 256, itl_s=0.0, output_tokens=2)
    snapshot = await run_stage(nursery, ["@50:4s"], script)
    raw = snapshot.total.histogram("latency").percentiles([99.0])[99.0] / 1000
    corrected = snapshot.total.histogram("latency_corrected").percentiles([99.0])[99.0] / 1000
    assert raw < 10, raw
    assert corrected > 800, corrected
    assert snapshot.health.verdict == "generator-bound"


async def test_random_arrivals_are_judged_against_their_planned_schedule(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A short bursty stage plans fewer (or more) arrivals than rate x
    duration by chance: the achieved-rate rule compares what was handled with
    what the seeded schedule planned, so a generator that kept time exactly
    is not called generator-bound for the dice's sake."""
    script = Script(ttft_s=0.05, itl_s=1 / 256, output_tokens=4)
    snapshot = await run_stage(nursery, ["@5:2s~gamma(0.3)"], script, seed=1)
    health = snapshot.health
    assert health is not None
    figures = health.figures
    assert figures.target_rate is not None
    assert figures.target_rate != 5.0  # this seed's schedule is not 10 arrivals
    assert figures.achieved_rate == figures.target_rate
    assert health.verdict == "ok", health


async def test_a_stopped_stage_plans_only_the_arrivals_due_before_the_stop(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A 10/s stage stopped after 1.05 s had 11 arrivals due (0.0 .. 1.0 s):
    the target is those, over the stage's duration, as the achieved rate is."""
    plan = make_plan(stages=["@10:4s"], warmup="0s")
    backend = MemoryBackend(nursery, FakeGateway(Script(ttft_s=0.01)).serve)
    async with open_engine(plan, backend=backend) as engine:

        async def stop_soon() -> None:
            await trio.sleep(1.05)
            engine.stop_stage()

        nursery.start_soon(stop_soon)
        snapshot = await engine.run_stage(0)
    assert snapshot.health is not None
    assert snapshot.health.figures.target_rate == 11 / 4
    assert snapshot.health.figures.achieved_rate == 11 / 4


async def test_arrivals_missed_in_a_stall_count_as_planned(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """The generator stalls at 1.05 s past the stage's end and graceful
    stop: the 9 arrivals due from 1.1 s to 1.9 s were never reached, yet
    they were planned; the target stays 20 arrivals / 2 s and the stage is
    generator-bound."""

    async def stall() -> None:
        await trio.sleep(1.05)
        autojump_clock.jump(60.0)  # no task runs while the clock moves on

    nursery.start_soon(stall)
    snapshot = await run_stage(nursery, ["@10:2s"], Script(ttft_s=0.01))
    assert snapshot.health is not None
    assert snapshot.health.figures.target_rate == 10.0
    assert snapshot.health.figures.achieved_rate == 11 / 2
    assert snapshot.health.verdict == "generator-bound"
