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


async def run_stage(nursery: trio.Nursery, stages: list[str], script: Script) -> StageSnapshot:
    plan = make_plan(stages=stages, warmup="0s")
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
