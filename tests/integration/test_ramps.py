"""Ramping stages on the mock clock: when each VU starts and stops, when each
arrival is scheduled, and that the time series and the health verdict stay
right through a ramp."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.engine import MemorySink, open_engine, ramp_offsets
from loadtest.engine._content import conversation_rng
from loadtest.engine._schedule import ramp_arrival_time
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio

    from loadtest.engine import RunResult


async def run(nursery: trio.Nursery, plan: Any, script: Script) -> tuple[RunResult, MemorySink]:
    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway(script).serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    return result, sink


def offsets(result: RunResult, sink: MemorySink, stage: int = 0) -> list[float]:
    started = result.stages[stage].started_unix_s
    return sorted(r.start_unix_s - started for r in sink.records if r.stage == stage)


#: Answers that outlast the stage: each VU starts exactly one turn, at its start.
HANG = Script(ttft_s=100.0, itl_s=0.0, output_tokens=1)


async def test_a_vu_ramp_up_starts_each_vu_at_its_planned_time(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """2 -> 6 VUs over 4 s: two VUs at 0, VU n (3..6) at (n - 2.5)·4/4 s."""
    plan = make_plan(stages=["2->6:4s"], warmup="0s", graceful_stop="0s")
    result, sink = await run(nursery, plan, HANG)
    assert offsets(result, sink) == pytest.approx([0, 0, 0.5, 1.5, 2.5, 3.5], abs=1e-6)
    stage = result.stages[0]
    assert (stage.concurrency, stage.ramp_to, stage.vus) == (2, 6, (2,))
    assert stage.health is not None
    assert stage.health.figures.target_in_flight == 6
    assert stage.health.figures.peak_in_flight == 6


async def test_a_ramp_from_zero_keeps_the_start_spread_off_its_added_vus(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """0 -> 4 over 2 s: VU n at (n - 1/2)·0.5 s; 3 -> 5 with a 1 s start
    spread: the first three at 0, 1/3, 2/3 s, the added ones on the ramp."""
    plan = make_plan(
        stages=["0->4:2s", "3->5:2s"], warmup="0s", graceful_stop="0s", start_spread="1s"
    )
    result, sink = await run(nursery, plan, HANG)
    assert offsets(result, sink, 0) == pytest.approx([0.25, 0.75, 1.25, 1.75], abs=1e-6)
    assert offsets(result, sink, 1) == pytest.approx([0, 1 / 3, 0.5, 2 / 3, 1.5], abs=1e-6)


async def test_a_vu_ramp_down_stops_vus_at_their_turn_boundary(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """6 -> 2 VUs over 4 s, turns of 0.3 s back to back: VUs stop at 0.5,
    1.5, 2.5 and 3.5 s, each finishing the turn it has in flight (none is
    interrupted) and starting no other."""
    plan = make_plan(stages=["6->2:4s"], warmup="0s")
    result, sink = await run(nursery, plan, Script(ttft_s=0.3, itl_s=0.0, output_tokens=1))
    per_start = Counter(round(t, 6) for t in offsets(result, sink))
    expected = {}
    for k in range(14):  # turns start at 0, 0.3, ..., 3.9
        t = round(k * 0.3, 6)
        expected[t] = 6 - sum(1 for stop in (0.5, 1.5, 2.5, 3.5) if stop <= t)
    assert dict(per_start) == expected
    assert {r.outcome for r in sink.records} == {"ok"}
    assert result.stages[0].total.interrupted == 0


async def test_a_rate_ramp_schedules_each_arrival_where_lambda_is_k(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """@2 -> @10 over 4 s, constant: Λ(4) = 24 arrivals, the k-th at
    2k / (a + sqrt(a² + 2(b - a)k/D)), with zero schedule lag."""
    plan = make_plan(stages=["@2->@10:4s"], warmup="0s")
    result, sink = await run(nursery, plan, Script(ttft_s=0.05, itl_s=0.0, output_tokens=1))
    expected = [ramp_arrival_time(k, 2.0, 10.0, 4.0) for k in range(24)]
    assert offsets(result, sink) == pytest.approx(expected, abs=1e-6)
    assert {r.lag_us for r in sink.records} == {0}
    stage = result.stages[0]
    assert (stage.rate, stage.ramp_to, stage.total.requests) == (2.0, 10.0, 24)


async def test_a_poisson_ramp_follows_its_seeded_schedule(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """`~poisson` works on a ramp: the starts are the seeded ramp schedule
    (scenario picks drawn between arrivals, as the scheduler does)."""
    plan = make_plan(stages=["@20->@0:2s~poisson"], warmup="0s", seed=3)
    result, sink = await run(nursery, plan, Script(ttft_s=0.01, itl_s=0.0, output_tokens=1))
    rng = conversation_rng(3, 0, "arrivals")
    expected = []
    for offset in ramp_offsets(20.0, 0.0, 2.0, "poisson", rng):
        expected.append(offset)
        rng.random()  # the scenario pick
    assert len(expected) > 5
    assert offsets(result, sink) == pytest.approx(expected, abs=1e-6)


async def test_buckets_add_up_to_the_totals_through_ramps(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A closed ramp up and an open ramp down, with warm-up: per-second
    counts add up to each stage's totals, and every turn started finishes."""
    plan = make_plan(stages=["1->6:4s", "@10->@1:3s"], warmup="1s")
    result, _ = await run(nursery, plan, Script(ttft_s=0.3, itl_s=0.05, output_tokens=5))
    for stage in result.stages:
        series, total = stage.timeseries, stage.total
        assert total.requests >= 5
        assert sum(s.requests for s in series) == total.requests
        assert sum(s.ok for s in series) == total.ok
        assert sum(s.output_tokens for s in series) == total.completion_tokens
        turns = total.requests + total.interrupted + total.warmup_turns
        assert sum(s.started for s in series) == sum(s.finished for s in series) == turns
        assert series[-1].in_flight == 0
        for name in ("latency", "ttft", "itl"):
            assert sum(s.histogram(name).count for s in series) == total.histogram(name).count
    ramp_up = result.stages[0].timeseries
    assert ramp_up[0].started < ramp_up[-2].started  # more VUs, more turns a second


async def test_a_rate_ramp_that_keeps_up_is_healthy(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A ramp from 2/s to 40/s against a fast gateway is judged against the
    arrivals the ramp planned (Λ(D) = 84 over 4 s = 21/s), not either end:
    verdict ok."""
    plan = make_plan(stages=["@2->@40:4s"], warmup="0s")
    result, _ = await run(nursery, plan, Script(ttft_s=0.05, itl_s=1 / 256, output_tokens=4))
    health = result.stages[0].health
    assert health is not None
    assert health.figures.target_rate == 21.0
    assert health.figures.achieved_rate == 21.0
    assert health.verdict == "ok", health
