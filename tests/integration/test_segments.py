"""Execution segments on the mock clock: the N shards of a plan, run one
after another, are the one-process plan, arrival for arrival and VU for VU."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from loadtest.config import Segment
from loadtest.engine import MemorySink, open_engine
from loadtest.errors import ConfigError
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio

    from loadtest.config import RunPlan
    from loadtest.engine import RunResult

SCENARIOS = [
    {"name": "a", "weight": 55, "turns": {"min": 1, "max": 3}},
    {"name": "b", "weight": 30},
    {"name": "c", "weight": 15, "turns": 2},
]
SCRIPT = Script(ttft_s=0.1, itl_s=0.01, output_tokens=5)


async def _run(nursery: trio.Nursery, plan: RunPlan) -> tuple[RunResult, MemorySink]:
    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway(SCRIPT).serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    return result, sink


def _turns(result: RunResult, sink: MemorySink) -> list[tuple[Any, ...]]:
    """Every turn as (stage, scenario, turn, its conversation's number of
    turns (drawn from the conversation's seed), start offset in its stage)."""
    starts = {stage.index: stage.started_unix_s for stage in result.stages}
    turns: dict[str, int] = {}
    for r in sink.records:
        turns[r.conversation] = max(turns.get(r.conversation, 0), r.turn)
    return sorted(
        (r.stage, r.scenario, r.turn, turns[r.conversation], r.start_unix_s - starts[r.stage])
        for r in sink.records
    )


def _assert_same(union: list[tuple[Any, ...]], whole: list[tuple[Any, ...]]) -> None:
    """The same turns, start offsets equal to a microsecond (Unix-time rounding)."""
    assert [t[:-1] for t in union] == [t[:-1] for t in whole]
    assert [t[-1] for t in union] == pytest.approx([t[-1] for t in whole], abs=1e-6)


async def _shards(nursery: trio.Nursery, plan: RunPlan, count: int) -> list[Any]:
    return [await _run(nursery, plan.for_segment(Segment(k, count))) for k in range(count)]


@pytest.mark.parametrize("arrival", ["constant", "poisson", "gamma"])
@pytest.mark.parametrize("count", [2, 3])
async def test_open_segments_deal_out_the_one_process_schedule(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, arrival: str, count: int
) -> None:
    """Arrival j runs in shard j mod N: the shards' turns together are the
    one-process run's, start time for start time, scenario for scenario;
    their planned arrivals and rates add up to the whole stage's."""
    plan = make_plan(
        stages=["@7:3010ms", "@5:2010ms"],
        warmup="0s",
        arrival=arrival,
        burstiness=0.5,
        scenarios=SCENARIOS,
        think_time="200ms",
    )
    whole, whole_sink = await _run(nursery, plan)
    shards = await _shards(nursery, plan, count)
    union = sorted(turn for result, sink in shards for turn in _turns(result, sink))
    _assert_same(union, _turns(whole, whole_sink))
    assert len(union) > 20
    for index, stage in enumerate(whole.stages):
        parts = [result.stages[index] for result, _ in shards]
        assert sum(p.rate for p in parts) == pytest.approx(stage.rate)
        assert sum(p.health.figures.target_rate for p in parts) == pytest.approx(
            stage.health.figures.target_rate,
            abs=0.002,  # each rounded to 3 decimals
        )
        assert sum(p.total.requests for p in parts) == stage.total.requests


@pytest.mark.parametrize("count", [2, 3, 7])
async def test_closed_segments_split_each_scenarios_vus(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, count: int
) -> None:
    """VU v runs in shard v mod N with its own seed and start offset: the
    shards' turns together are the one-process run's, and each scenario's
    VUs add up to the one-process split."""
    plan = make_plan(
        stages=["5:2010ms", "11:2010ms"], warmup="0s", scenarios=SCENARIOS, start_spread="1s"
    )
    whole, whole_sink = await _run(nursery, plan)
    shards = await _shards(nursery, plan, count)
    union = sorted(turn for result, sink in shards for turn in _turns(result, sink))
    _assert_same(union, _turns(whole, whole_sink))
    for index, stage in enumerate(whole.stages):
        parts = [result.stages[index] for result, _ in shards]
        assert [sum(col) for col in zip(*(p.vus for p in parts), strict=True)] == list(stage.vus)
        assert sum(p.concurrency for p in parts) == stage.concurrency
        assert max(p.concurrency for p in parts) - min(p.concurrency for p in parts) <= 1
        assert [p.health.figures.target_in_flight for p in parts] == [p.concurrency for p in parts]


async def test_max_in_flight_is_split_over_the_segments(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """max_in_flight 3 over 2 shards: 2 and 1 conversations at most."""
    plan = make_plan(stages=["@10:2s"], warmup="0s", max_in_flight=3)
    slow = Script(ttft_s=0.95, itl_s=0.0, output_tokens=1)
    peaks = []
    for k in range(2):
        sink = MemorySink()
        backend = MemoryBackend(nursery, FakeGateway(slow).serve)
        async with open_engine(
            plan.for_segment(Segment(k, 2)), sink=sink, backend=backend
        ) as engine:
            result = await engine.run()
        peaks.append(result.stages[0].health.figures.peak_in_flight)
    assert peaks == [2, 1]


def test_a_limit_below_the_segment_count_is_refused() -> None:
    """A per-run limit smaller than N cannot give every shard one."""
    with pytest.raises(ConfigError, match="max_in_flight 1 cannot be split over 2 segments"):
        make_plan(max_in_flight=1).for_segment(Segment(1, 2))
    with pytest.raises(ConfigError, match=r"http.max_connections 2 cannot be split over 3"):
        make_plan(http={"max_connections": 2}).for_segment(Segment(0, 3))


@pytest.mark.parametrize("segmented", [False, True])
async def test_a_segment_starts_each_later_stage_on_its_planned_boundary(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, segmented: bool
) -> None:
    """A segment's later stages start at the first one's start plus the
    earlier stages' durations and graceful stops, however soon its turns
    drained, so segments line up; one process starts the next stage as
    soon as the last one has drained."""
    plan = make_plan(stages=["2:2010ms", "@4:1010ms", "1:1s"], warmup="0s", graceful_stop="3s")
    if segmented:
        plan = plan.for_segment(Segment(1, 2))
    result, _ = await _run(nursery, plan)
    starts = [stage.started_unix_s - result.stages[0].started_unix_s for stage in result.stages]
    if segmented:
        assert starts == pytest.approx([0, 2.01 + 3, 2.01 + 3 + 1.01 + 3], abs=1e-6)
    else:  # each stage drains within a turn's time (0.14 s) of its end
        assert starts[1] < 2.01 + 0.2
        assert starts[2] - starts[1] < 1.01 + 0.2


async def test_a_stop_while_a_segment_waits_for_its_boundary_starts_no_stage(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A stop during the wait for the next boundary ends the run at once."""
    import trio

    plan = make_plan(stages=["1:1s", "1:1s"], warmup="0s", graceful_stop="30s")
    plan = plan.for_segment(Segment(0, 2))
    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway(SCRIPT).serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:

        async def stop_later() -> None:
            await trio.sleep(5)
            engine.request_stop()

        nursery.start_soon(stop_later)
        begun = trio.current_time()
        result = await engine.run()
    assert len(result.stages) == 1
    assert trio.current_time() - begun == pytest.approx(5, abs=1e-6)
