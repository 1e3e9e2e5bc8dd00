"""Goodput through the engine, on the mock clock: every steady turn is
judged as it is recorded, against the plan's SLOs."""

from __future__ import annotations

import itertools

import trio
import trio.testing

from loadtest.engine import MemorySink, open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Received, Script

from .conftest import make_plan


async def test_goodput_is_counted_per_turn(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Every third answer is slow (TTFT 300 ms > the 200 ms SLO): the stage's
    good turns are exactly the steady ok turns whose own TTFT met it."""
    count = itertools.count()

    def script(_received: Received) -> Script:
        return Script(ttft_s=0.3 if next(count) % 3 == 2 else 0.1, itl_s=0.01)

    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway(script).serve)
    plan = make_plan(stages=["2:6s"], warmup="1s", slo=["ttft<=200ms"])
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        snapshot = await engine.run_stage(0)
    steady = [r for r in sink.records if not r.warmup and r.outcome != "interrupted"]
    fast = [
        r for r in steady if r.outcome == "ok" and r.ttft_us is not None and r.ttft_us <= 200_000
    ]
    assert snapshot.slo == ("ttft<=200ms",)
    assert snapshot.total.judged == len(steady) == snapshot.total.requests
    assert snapshot.total.good == len(fast)
    assert 0 < snapshot.total.good < snapshot.total.judged
    assert sum(second.good for second in snapshot.timeseries) == len(fast)


async def test_open_loop_goodput_judges_the_corrected_time(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A 1 s generator stall delays the arrivals due in it: measured from the
    actual send their TTFT meets the SLO, from the intended start it does
    not, and goodput counts them as missed."""

    async def stall() -> None:
        await trio.sleep(2.0)
        autojump_clock.jump(1.0)  # no task runs while the clock moves on by 1 s

    nursery.start_soon(stall)
    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway(Script(ttft_s=1 / 256, itl_s=0.0)).serve)
    plan = make_plan(stages=["@20:4s"], warmup="0s", slo=["ttft<=200ms"])
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        snapshot = await engine.run_stage(0)
    ok = [r for r in sink.records if r.outcome == "ok" and r.ttft_us is not None]
    measured_met = [r for r in ok if r.ttft_us <= 200_000]
    corrected_met = [r for r in measured_met if r.ttft_us + (r.lag_us or 0) <= 200_000]
    assert snapshot.total.judged == snapshot.total.requests == len(ok)
    assert snapshot.total.good == len(corrected_met)
    assert len(corrected_met) + 10 < len(measured_met)  # the stalled second's arrivals
