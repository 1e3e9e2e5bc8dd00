"""Stages decided at run time, stopped on their own, and read live, on the mock clock."""

from __future__ import annotations

import os
import signal

import pytest
import trio
import trio.testing

from loadtest.config import ClosedStage, Duration, OpenStage
from loadtest.engine import Engine, MemorySink, open_engine
from loadtest.errors import ConfigError
from loadtest.metrics import Health, Metric
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

TTFT_S = 0.125
ITL_S = 1 / 64


async def test_stages_decided_at_run_time_reuse_the_connections(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A stage chosen from the previous snapshot runs on the same engine and
    its kept-alive connections: one connect per VU over the whole ramp."""
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S))
    backend = MemoryBackend(nursery, gateway.serve)
    plan = make_plan(stages=["2:2s"], warmup="0s")
    async with open_engine(plan, backend=backend) as engine:
        first = await engine.run_stage(0)
        assert backend.connects == 2
        vus = 2 if first.total.ok else 1
        second = await engine.run_stage(ClosedStage(vus, Duration.from_seconds(2)))
        third = await engine.run_stage("3:2s")
    assert (first.index, second.index, third.index) == (0, 1, 2)
    assert second.concurrency == 2
    assert third.concurrency == 3
    assert second.total.ok > 0
    assert third.total.ok > 0
    assert backend.connects == 3  # the third VU's connection is the only new one


async def test_open_stage_at_run_time(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S))
    backend = MemoryBackend(nursery, gateway.serve)
    async with open_engine(make_plan(warmup="0s"), backend=backend) as engine:
        snapshot = await engine.run_stage(OpenStage(rate=4.0, duration=Duration.from_seconds(2)))
    assert snapshot.mode == "open"
    assert snapshot.rate == 4.0
    assert snapshot.total.ok == 8


async def test_stages_are_numbered_in_the_order_they_run(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A stage decided at run time, then the plan's stage 0, then another: the
    numbers 0, 1, 2 (the plan's stage does not reuse number 0), in the
    snapshots and in every turn's record."""
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S))
    sink = MemorySink()
    backend = MemoryBackend(nursery, gateway.serve)
    plan = make_plan(stages=["1:1s"], warmup="0s")
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        snapshots = [await engine.run_stage(s) for s in ("2:1s", 0, "@4:1s")]
    assert [snapshot.index for snapshot in snapshots] == [0, 1, 2]
    assert sorted({record.stage for record in sink.records}) == [0, 1, 2]


@pytest.mark.parametrize("index", [7, 1, -1, True])
async def test_a_stage_index_out_of_range_is_a_config_error(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, index: int
) -> None:
    """An index names one of the plan's stages; a negative one (Python's
    "from the end") is refused, never run as the last stage."""
    backend = MemoryBackend(nursery, FakeGateway().serve)
    async with open_engine(make_plan(stages=["1:1s"]), backend=backend) as engine:
        with pytest.raises(ConfigError, match=r"numbered 0 to 0$"):
            await engine.run_stage(index)
    assert backend.connects == 0


async def test_a_bad_stage_string_is_a_config_error(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    backend = MemoryBackend(nursery, FakeGateway().serve)
    async with open_engine(make_plan(), backend=backend) as engine:
        with pytest.raises(ConfigError, match="stage '0:1s': concurrency"):
            await engine.run_stage("0:1s")
        assert engine.live is None


async def _stop_after(engine: Engine, delay_s: float) -> None:
    await trio.sleep(delay_s)
    engine.stop_stage()


async def test_stop_stage_freezes_the_stage_and_not_the_engine(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """stop_stage() ends only the running stage: its turns in flight are
    counted interrupted, its snapshot is frozen and marked stopped early,
    and the next stage runs in full."""
    gateway = FakeGateway(Script(ttft_s=3.0, itl_s=1.0))  # 12 s per turn
    backend = MemoryBackend(nursery, gateway.serve)
    plan = make_plan(stages=["3:30s", "1:1s"], warmup="0s")
    async with open_engine(plan, backend=backend) as engine:
        nursery.start_soon(_stop_after, engine, 1.0)
        started = trio.current_time()
        stopped = await engine.run_stage(0)
        assert trio.current_time() - started == pytest.approx(1.0)
        assert engine.live is None
        engine.stop_stage()  # between stages: nothing to stop
        after = await engine.run_stage(1)
    assert stopped.stopped_early
    assert stopped.total.interrupted == 3
    assert stopped.total.requests == 0
    assert stopped.steady_s == pytest.approx(1.0)
    assert not after.stopped_early
    assert not engine.stop_requested
    assert after.duration_s == 1.0


async def _jump_clock(clock: trio.testing.MockClock, after_s: float, jump_s: float) -> None:
    await trio.sleep(after_s)
    clock.jump(jump_s)  # every sleeping task, the loop monitor's ticker too, wakes late


async def test_a_stage_stopped_before_it_starts_has_its_own_health_figures(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A stage stopped before it began reports no loop lag, not the loop lag
    of the stage before it."""
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S))
    backend = MemoryBackend(nursery, gateway.serve)
    plan = make_plan(stages=["1:2s", "1:2s"], warmup="0s")
    async with open_engine(plan, backend=backend) as engine:
        nursery.start_soon(_jump_clock, autojump_clock, 1.0, 0.2)
        first = await engine.run_stage(0)
        engine.request_stop()
        second = await engine.run_stage(1)
    assert first.health.figures.loop_lag_max_ms >= 190
    assert second.stopped_early
    assert second.health.figures.loop_lag_max_ms == 0.0
    assert second.health.figures.loop_lag_p99_ms == 0.0


async def _read_live(engine: Engine, at_s: float, seen: list[object]) -> None:
    await trio.sleep(at_s)
    view = engine.live
    assert view is not None
    seen.extend(
        [
            view.index,
            view.in_flight,
            view.elapsed_s,
            view.percentile_ms(Metric.TTFT, 99.0),
            view.percentile_us("latency", 50.0),
            view.percentile_ms(Metric.UNANSWERED, 50.0),
            view.counts.ok,
            view.stats.duration_s,
            view.stage.duration.seconds,
            view.health(),
        ]
    )


async def test_the_live_view_reads_any_percentile_of_the_running_stage(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S))
    backend = MemoryBackend(nursery, gateway.serve)
    seen: list[object] = []
    async with open_engine(make_plan(warmup="0s"), backend=backend) as engine:
        assert engine.live is None
        assert engine.live_percentiles("ttft") == (None, None)
        nursery.start_soon(_read_live, engine, 5.0, seen)
        await engine.run_stage(0)
    turn_us = int((TTFT_S + 9 * ITL_S) * 1e6)
    assert seen[:3] == [0, 2, 5.0]
    assert seen[3] == pytest.approx(125.0, rel=1e-3)  # HDR: 3 significant figures
    assert seen[4] == pytest.approx(turn_us, rel=1e-3)
    assert seen[5] is None  # no value yet: None, never 0
    assert seen[6] == 2 * int(5.0 / (TTFT_S + 9 * ITL_S))
    assert seen[7:9] == [10.0, 10.0]
    health = seen[9]
    assert isinstance(health, Health)
    assert (health.verdict, health.reasons, health.ok) == ("ok", (), True)


async def _interrupt_after(delay_s: float) -> None:
    await trio.sleep(delay_s)
    os.kill(os.getpid(), signal.SIGINT)  # this test process only


async def test_stop_on_signals_turns_ctrl_c_into_a_stop(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A SIGINT while `stop_on_signals` runs is `request_stop()`: the stage
    ends early with its snapshot, no KeyboardInterrupt; the previous SIGINT
    handler is back once the task ends."""
    before = signal.getsignal(signal.SIGINT)
    backend = MemoryBackend(nursery, FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S)).serve)
    plan = make_plan(stages=["2:100s"], warmup="0s")
    async with open_engine(plan, backend=backend) as engine, trio.open_nursery() as ours:
        await ours.start(engine.stop_on_signals)
        ours.start_soon(_interrupt_after, 2.0)
        with trio.fail_after(50):  # mock clock: far less than the stage's 100 s
            result = await engine.run()
        ours.cancel_scope.cancel()
    assert engine.stop_requested
    assert result.stopped_early
    assert result.stages[0].stopped_early
    assert result.stages[0].total.ok > 0
    assert signal.getsignal(signal.SIGINT) is before
