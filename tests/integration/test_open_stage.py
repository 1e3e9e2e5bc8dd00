"""Open-loop stages on the mock clock: exact schedules, lag, drops, mixing."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from loadtest.engine import MemorySink, arrival_offsets, open_engine
from loadtest.engine._content import conversation_rng
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan


async def run(
    nursery: trio.Nursery, plan: Any, script: Script
) -> tuple[Any, MemorySink, FakeGateway]:
    gateway = FakeGateway(script)
    sink = MemorySink()
    backend = MemoryBackend(nursery, gateway.serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    return result, sink, gateway


async def test_constant_rate_gives_exact_arrivals_at_exact_times(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """@4/s for 5 s: exactly 20 conversations, the n-th starting at n/4 s,
    with zero schedule lag; corrected latency equals the measured one."""
    plan = make_plan(stages=["@4:5s"], warmup="0s")
    result, sink, _ = await run(nursery, plan, Script(ttft_s=0.125, itl_s=1 / 64))
    stage = result.stages[0]
    starts = sorted(r.start_unix_s - stage.started_unix_s for r in sink.records)
    assert starts == pytest.approx([n / 4 for n in range(20)])
    assert {r.lag_us for r in sink.records} == {0}
    assert stage.total.requests == 20
    assert stage.total.histogram("latency_corrected") == stage.total.histogram("latency")
    assert stage.health.figures.achieved_rate == 4.0
    assert stage.mode == "open"
    assert stage.rate == 4.0


async def test_arrivals_are_dropped_not_delayed_at_max_in_flight(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """With 3 conversations in flight, arrivals are dropped and counted; the
    accepted ones still start exactly on schedule."""
    plan = make_plan(stages=["@10:2s"], warmup="0s", max_in_flight=3)
    result, sink, _ = await run(nursery, plan, Script(ttft_s=0.95, itl_s=0.0, output_tokens=1))
    stage = result.stages[0]
    starts = sorted(round(r.start_unix_s - stage.started_unix_s, 6) for r in sink.records)
    assert starts == pytest.approx([0.0, 0.1, 0.2, 1.0, 1.1, 1.2])
    assert stage.total.dropped == 14
    # The scheduler kept time (drops count as on-time arrivals); the drops make it suspect.
    assert stage.health.figures.achieved_rate == 10.0
    assert stage.health.verdict == "suspect"
    assert any("14 arrivals dropped" in r for r in stage.health.reasons)


async def test_later_turns_follow_the_previous_turn_plus_think_time(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """In an open-loop conversation, turn 2 is planned at turn 1's end plus
    think time, so its lag is the generator's own delay (zero here)."""
    plan = make_plan(stages=["@1:3s"], warmup="0s", think_time="500ms", defaults={"turns": 2})
    _, sink, _ = await run(nursery, plan, Script(ttft_s=0.25, itl_s=0.0, output_tokens=1))
    first = [r for r in sink.records if r.conversation == sink.records[0].conversation]
    assert [r.turn for r in first] == [1, 2]
    assert first[1].start_unix_s - first[0].start_unix_s == pytest.approx(0.75)
    assert first[1].lag_us == 0


async def test_closed_and_open_stages_mix(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A plan may mix closed and open stages; each snapshot keeps its mode."""
    plan = make_plan(stages=["2:1s", "@5:1s", "1:1s"], warmup="0s")
    result, _, _ = await run(nursery, plan, Script(ttft_s=0.25, itl_s=0.0, output_tokens=1))
    assert [s.mode for s in result.stages] == ["closed", "open", "closed"]
    assert [s.total.requests for s in result.stages] == [8, 5, 4]


async def test_poisson_stage_is_seeded(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A poisson stage gives the same arrival times for the same seed."""

    async def starts(seed: int) -> list[float]:
        plan = make_plan(stages=[{"rate": 20, "duration": "2s", "arrival": "poisson"}], seed=seed)
        result, sink, _ = await run(nursery, plan, Script(ttft_s=0.25, itl_s=0.0, output_tokens=1))
        return sorted(r.start_unix_s - result.stages[0].started_unix_s for r in sink.records)

    first, again, other = await starts(1), await starts(1), await starts(2)
    # Unix start times carry ~1e-6 s of float error: compare at 10 us.
    assert first == pytest.approx(again, abs=1e-5)
    assert first != pytest.approx(other, abs=1e-5)
    assert 20 <= len(first) <= 60


@pytest.mark.parametrize(
    "changes",
    [
        {"stages": ["@20:2s~gamma(0.5)"]},
        {"stages": [{"rate": 20, "duration": "2s", "arrival": "gamma", "burstiness": 0.5}]},
        {"stages": ["@20:2s"], "arrival": "gamma", "burstiness": 0.5},
        {"stages": ["@20:2s~gamma"], "arrival": "poisson", "burstiness": 0.5},
    ],
)
async def test_gamma_stage_starts_at_its_planned_offsets(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, changes: dict[str, Any]
) -> None:
    """A gamma stage (from a stage string, a stage object or the profile's
    `arrival` and `burstiness`) starts each conversation exactly at the
    seeded schedule's offset: gamma gaps of shape 0.5, scenario picks drawn
    in between from the same RNG."""
    plan = make_plan(seed=7, **changes)
    result, sink, _ = await run(nursery, plan, Script(ttft_s=0.25, itl_s=0.0, output_tokens=1))
    started = sorted(r.start_unix_s - result.stages[0].started_unix_s for r in sink.records)
    rng = conversation_rng(7, sink.records[0].stage, "arrivals")
    expected = []
    for offset in arrival_offsets(20.0, 2.0, "gamma", rng, burstiness=0.5):
        expected.append(offset)
        rng.random()  # the scenario pick
    assert len(expected) > 5
    assert started == pytest.approx(expected, abs=1e-5)


class _Steps(trio.abc.Instrument):
    """Counts the steps of one task (its wake-ups)."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += task is self.task


async def test_due_arrivals_are_launched_in_one_wake_up(mock_clock: trio.testing.MockClock) -> None:
    """When the scheduler wakes late (here: the clock moves in 50 ms leaps,
    as a busy loop does), every arrival already due is launched in that one
    wake-up, not one loop turn each; each still records its own intended
    start and lag (start minus intended) exactly."""
    plan = make_plan(stages=["@100:1s"], warmup="0s", graceful_stop="1s")
    gateway = FakeGateway(Script(ttft_s=0.0, itl_s=0.0, output_tokens=1))
    sink = MemorySink()
    steps = _Steps(trio.lowlevel.current_task())
    async with trio.open_nursery() as nursery:

        async def leap() -> None:
            while True:
                await trio.testing.wait_all_tasks_blocked()
                mock_clock.jump(0.05)

        nursery.start_soon(leap)
        backend = MemoryBackend(nursery, gateway.serve)
        async with open_engine(plan, sink=sink, backend=backend) as engine:
            trio.lowlevel.add_instrument(steps)
            result = await engine.run()
            trio.lowlevel.remove_instrument(steps)
        nursery.cancel_scope.cancel()
    stage = result.stages[0]
    # The last arrivals were due before the stage's end but reached after it
    # (late, as ever): no turn.
    assert 90 <= stage.total.requests <= 100
    # One wake-up per leap (20 in the stage, and a few for its start and end),
    # where one loop turn per arrival would take over 100.
    assert steps.steps < 40
    starts = sorted(r.start_unix_s - stage.started_unix_s for r in sink.records)
    intended = [n / 100 for n in range(len(starts))]
    lags = sorted(r.lag_us for r in sink.records if r.lag_us is not None)
    expected = sorted(round((s - i) * 1e6) for s, i in zip(starts, intended, strict=True))
    assert lags == pytest.approx(expected, abs=2)  # Unix times carry ~1 us of float error
    assert max(lags) > 30_000  # the leaps made them late: the lags were measured
