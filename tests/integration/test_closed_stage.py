"""Closed-loop stages on the mock clock: exact counts, windows and timings.

Times are dyadic fractions (0.125 s TTFT, 1/64 s gaps) so every sum is exact
in binary floating point and the expected figures are exact too.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from loadtest.engine import MemorySink, open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

TTFT_S = 0.125
ITL_S = 1 / 64
TURN_S = TTFT_S + 9 * ITL_S  # 10 tokens: first after TTFT, then 9 gaps = 0.265625 s


async def run_plan(
    nursery: trio.Nursery, plan: Any, gateway: FakeGateway
) -> tuple[Any, MemorySink]:
    sink = MemorySink()
    backend = MemoryBackend(nursery, gateway.serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    return result, sink


async def test_turn_counts_windows_and_timings_are_exact(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """2 VUs for 10 s at 0.265625 s per turn: 38 turns each, 8 of them in the
    2 s warm-up; the steady ones are the only ones in the statistics."""
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S))
    result, sink = await run_plan(nursery, make_plan(), gateway)
    (stage,) = result.stages
    assert len(sink.records) == 2 * 38
    assert stage.total.warmup_turns == 2 * 8
    assert stage.total.requests == stage.total.ok == 2 * 30
    assert stage.total.interrupted == 0
    assert stage.steady_s == 8.0
    steady = [r for r in sink.records if not r.warmup]
    assert {r.latency_us for r in steady} == {int(TURN_S * 1e6)}
    assert {r.ttft_us for r in steady} == {125_000}
    assert {r.itl_gaps_us for r in steady} == {(15_625,) * 9}
    assert {r.tpot_us for r in steady} == {15_625}
    assert all(r.completion_tokens == 10 and not r.tokens_estimated for r in steady)
    itl = stage.total.histogram("itl")
    assert itl.count == 60 * 9
    assert stage.vus == (2,)


async def test_warmup_is_by_start_time(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A turn belongs to the window in which it started: the turn spanning the
    warm-up boundary is a warm-up turn."""
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S))
    result, sink = await run_plan(nursery, make_plan(stages=["1:10s"]), gateway)
    first_steady = min(r.start_unix_s for r in sink.records if not r.warmup)
    last_warmup = max(r.start_unix_s for r in sink.records if r.warmup)
    stage_start = result.stages[0].started_unix_s
    assert last_warmup - stage_start == pytest.approx(7 * TURN_S)
    assert first_steady - stage_start == pytest.approx(8 * TURN_S)


async def test_graceful_stop_then_interrupt(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Turns still running graceful_stop after the end are cancelled and
    counted interrupted, never as errors; the stage ends at end + grace."""
    gateway = FakeGateway(Script(ttft_s=3.0, itl_s=1.0))  # 12 s per turn
    plan = make_plan(stages=["3:5s"], warmup="0s", graceful_stop="2s")
    started = trio.current_time()
    result, sink = await run_plan(nursery, plan, gateway)
    assert trio.current_time() - started == pytest.approx(7.0)
    stage = result.stages[0]
    assert stage.total.interrupted == 3
    assert stage.total.requests == 0
    assert stage.total.errors == {}
    assert [r.outcome for r in sink.records] == ["interrupted"] * 3
    assert {r.latency_us for r in sink.records} == {7_000_000}


async def test_turns_finishing_within_grace_count(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A turn that started before the end and finishes within the grace period
    is an ordinary turn of the stage; no new turn starts after the end."""
    gateway = FakeGateway(Script(ttft_s=1.5, itl_s=0.0))  # 1.5 s per turn
    plan = make_plan(stages=["1:4s"], warmup="0s", graceful_stop="2s")
    result, _sink = await run_plan(nursery, plan, gateway)
    # turns start at 0, 1.5, 3.0 (before 4 s); the last ends at 4.5, within grace
    assert result.stages[0].total.ok == 3
    assert len(gateway.received) == 3


async def test_vus_split_by_largest_remainder(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """10 VUs over weights 55/30/15 run as 6/3/1, each VU in its own scenario."""
    scenarios = [
        {"name": "a", "weight": 55},
        {"name": "b", "weight": 30},
        {"name": "c", "weight": 15},
    ]
    plan = make_plan(stages=["10:1s"], warmup="0s", scenarios=scenarios)
    gateway = FakeGateway(Script(ttft_s=0.25, itl_s=0.0, output_tokens=1))
    result, _ = await run_plan(nursery, plan, gateway)
    stage = result.stages[0]
    assert stage.vus == (6, 3, 1)
    assert [s.requests for s in stage.scenarios] == [24, 12, 4]


async def test_think_time_spaces_turns(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Between turns of a conversation the VU pauses think_time; a think time
    reaching past the stage's end ends the conversation there."""
    plan = make_plan(
        stages=["1:10s"], warmup="0s", think_time="2s", defaults={"turns": 3, "stream": False}
    )
    gateway = FakeGateway(Script(ttft_s=0.5, itl_s=0.0, output_tokens=1))
    result, sink = await run_plan(nursery, plan, gateway)
    starts = [r.start_unix_s - result.stages[0].started_unix_s for r in sink.records]
    # turn 1 at 0, turn 2 at 0.5 + 2, turn 3 at 5, then a new conversation at 7.5 (2 s
    # of think after a final turn too), its turn 2 at 10 is past the end.
    assert starts == pytest.approx([0.0, 2.5, 5.0, 7.5])
    assert [r.turn for r in sink.records] == [1, 2, 3, 1]


async def test_start_spread_staggers_the_first_turns(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """start_spread 1 s over 4 VUs: their first turns start 0.25 s apart, and
    the stage still ends at its duration (turns of 1.140625 s: a VU's second
    turn starts after every VU's first)."""
    gateway = FakeGateway(Script(ttft_s=1.0, itl_s=ITL_S))
    plan = make_plan(stages=["4:2s"], warmup="0s", start_spread="1s")
    result, sink = await run_plan(nursery, plan, gateway)
    first = sorted({r.start_unix_s for r in sink.records})[:4]
    assert [round(t - first[0], 6) for t in first] == [0.0, 0.25, 0.5, 0.75]
    assert result.stages[0].total.interrupted == 0
    assert max(r.start_unix_s for r in sink.records) - first[0] < 2.0


async def test_without_start_spread_every_vu_starts_at_once(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S))
    plan = make_plan(stages=["4:1s"], warmup="0s")
    _, sink = await run_plan(nursery, plan, gateway)
    firsts = sorted(r.start_unix_s for r in sink.records)[:4]
    assert firsts[-1] - firsts[0] < 1e-6
