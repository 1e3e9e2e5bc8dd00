"""Request-count stops on the mock clock: a stage ends after exactly N
started turns, or at its duration if that comes first; the run's
max_requests spans stages; each snapshot says what ended it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio

from loadtest.engine import MemorySink, open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    from loadtest.engine import RunResult

#: Every turn takes exactly 1 s.
SECOND = Script(ttft_s=1.0, itl_s=0.0, output_tokens=1)


async def run(
    nursery: trio.Nursery, plan: Any, script: Script = SECOND
) -> tuple[RunResult, MemorySink]:
    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway(script).serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    return result, sink


async def test_a_closed_stage_ends_after_exactly_n_started_turns(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """7 turns with 3 VUs, 1 s each: turns start at 0, 1 and 2 s; the 7th
    ends the stage's time at 2 s, the other VUs start nothing more, and the
    7th turn in flight finishes within the graceful stop."""
    plan = make_plan(stages=["7x3:10s"], warmup="0s")
    result, sink = await run(nursery, plan)
    stage = result.stages[0]
    assert len(sink.records) == 7
    assert {r.outcome for r in sink.records} == {"ok"}
    assert stage.ended_by == "requests"
    assert stage.requests == 7
    assert stage.steady_s == pytest.approx(2.0)
    assert stage.ended_unix_s - stage.started_unix_s == pytest.approx(3.0)
    assert not stage.stopped_early


async def test_the_duration_ends_a_stage_when_it_comes_first(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    plan = make_plan(stages=["100x2:3s"], warmup="0s")
    result, sink = await run(nursery, plan)
    stage = result.stages[0]
    assert len(sink.records) == 6
    assert stage.ended_by == "duration"
    assert stage.steady_s == pytest.approx(3.0)


async def test_an_open_stage_ends_at_its_nth_turn_and_is_judged_over_its_time(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """5 turns at 10/s: arrivals at 0 .. 0.4 s, the stage's time ends at
    0.4 s; the health rule compares rates over those 0.4 s (verdict ok)."""
    plan = make_plan(stages=["5x@10:4s"], warmup="0s")
    result, sink = await run(nursery, plan, Script(ttft_s=0.05, itl_s=0.0, output_tokens=1))
    stage = result.stages[0]
    starts = sorted(r.start_unix_s - stage.started_unix_s for r in sink.records)
    assert starts == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4], abs=1e-6)
    assert stage.ended_by == "requests"
    assert stage.steady_s == pytest.approx(0.4)
    assert stage.health is not None
    figures = stage.health.figures
    assert figures.achieved_rate == figures.target_rate == 12.5
    assert stage.health.verdict == "ok", stage.health


async def test_warm_up_turns_count_towards_the_cap(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    plan = make_plan(stages=["3x1:10s"], warmup="5s")
    result, sink = await run(nursery, plan)
    stage = result.stages[0]
    assert len(sink.records) == 3
    assert stage.total.warmup_turns == 3
    assert (stage.ended_by, stage.steady_s, stage.total.requests) == ("requests", 0.0, 0)


async def test_the_runs_max_requests_spans_stages(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """max_requests 10: stage 1 ends by its own count (4), stage 2 by what is
    left of the run's (6), stage 3 never starts."""
    plan = make_plan(stages=["4x2:10s", "@5:10s", "1:5s"], warmup="0s", max_requests=10)
    result, sink = await run(nursery, plan)
    assert [s.ended_by for s in result.stages] == ["requests", "run-requests"]
    assert [sum(1 for r in sink.records if r.stage == i) for i in (0, 1)] == [4, 6]
    assert not result.stopped_early


async def test_a_stage_run_with_nothing_left_ends_at_once(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A script's `run_stage` after the run's cap is used up: no turn, the
    stage's time is up at once, `ended_by` run-requests."""
    plan = make_plan(stages=["2x1:5s"], warmup="0s", max_requests=2)
    backend = MemoryBackend(nursery, FakeGateway(SECOND).serve)
    sink = MemorySink()
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        assert engine.requests_left == 2
        first = await engine.run_stage(0)
        assert engine.requests_left == 0
        started = trio.current_time()
        again = await engine.run_stage("@5:5s")
        assert trio.current_time() == started
    assert (first.ended_by, again.ended_by) == ("requests", "run-requests")
    assert len(sink.records) == 2
    assert again.steady_s == 0.0


async def test_a_stopped_capped_stage_says_stopped(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    plan = make_plan(stages=["100x2:10s"], warmup="0s")
    backend = MemoryBackend(nursery, FakeGateway(SECOND).serve)
    async with open_engine(plan, backend=backend) as engine:
        assert engine.requests_left is None

        async def stop_soon() -> None:
            await trio.sleep(1.5)
            engine.stop_stage()

        nursery.start_soon(stop_soon)
        snapshot = await engine.run_stage(0)
    assert (snapshot.ended_by, snapshot.stopped_early) == ("stopped", True)


async def test_a_capped_stage_wakes_vus_in_think_time(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A VU thinking for 30 s when the cap is reached stops at once: the
    stage lasts until its last turn finishes (6 s), not until the thinker
    wakes or the graceful stop runs out (10 s)."""
    plan = make_plan(
        stages=["2x2:60s"],
        warmup="0s",
        think_time="30s",
        start_spread="10s",
        defaults={"turns": 5},
    )
    result, sink = await run(nursery, plan)
    stage = result.stages[0]
    # VU 1's first turn at 0 s (then it thinks), VU 2's at 5 s: the cap
    assert len(sink.records) == 2
    assert stage.steady_s == pytest.approx(5.0)
    assert stage.ended_unix_s - stage.started_unix_s == pytest.approx(6.0)


async def test_a_stage_with_only_a_request_count_runs_until_it(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """`5x2` (no duration): turns at 0, 0, 1, 1, 2 s; the stage's time, and
    its `duration_s`, end at the 5th; `4x@10`: arrivals at 0 .. 0.3 s."""
    plan = make_plan(stages=["5x2", "4x@10"], warmup="0s")
    result, sink = await run(nursery, plan)
    closed, opened = result.stages
    assert [sum(1 for r in sink.records if r.stage == i) for i in (0, 1)] == [5, 4]
    assert (closed.ended_by, closed.duration_s, closed.steady_s) == ("requests", 2.0, 2.0)
    assert opened.ended_by == "requests"
    assert opened.duration_s == pytest.approx(0.3)
    assert opened.health is not None
    assert opened.health.verdict == "ok", opened.health


async def test_a_stopped_stage_without_a_duration_is_judged_over_the_time_it_ran(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    plan = make_plan(stages=["1000x@10"], warmup="0s")
    backend = MemoryBackend(nursery, FakeGateway(Script(ttft_s=0.01)).serve)
    async with open_engine(plan, backend=backend) as engine:

        async def stop_soon() -> None:
            await trio.sleep(1.05)
            engine.stop_stage()

        nursery.start_soon(stop_soon)
        snapshot = await engine.run_stage(0)
    assert (snapshot.ended_by, snapshot.duration_s) == ("stopped", pytest.approx(1.05))
    assert snapshot.health is not None
    assert snapshot.health.figures.target_rate == snapshot.health.figures.achieved_rate
    assert snapshot.health.figures.target_rate == pytest.approx(11 / 1.05, abs=1e-3)
