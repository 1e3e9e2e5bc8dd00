"""`run_sweep` against the in-memory fake gateway, on the mock clock: a
gateway whose latency grows past a known rate, and a generator made
unhealthy on purpose."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

import trio
import trio.testing

from loadtest.config import OpenStage
from loadtest.engine import open_engine
from loadtest.sweep import SweepSettings, run_sweep
from loadtest.testing import FakeGateway, MemoryBackend, Received, Script

from .conftest import make_plan

if TYPE_CHECKING:
    from loadtest.report import ProbeDoc

#: Up to this many arrivals in the last second the gateway is fast ...
FAST_UP_TO = 20
#: ... above this many it is slow (TTFT 1 s, past the 300 ms SLO).
SLOW_ABOVE = 22
PRECISION = 0.05


def saturating_gateway() -> FakeGateway:
    """TTFT 50 ms while at most FAST_UP_TO requests arrived in the last
    second, 1 s above SLOW_ABOVE (in between, as the boundary falls)."""
    arrivals: collections.deque[float] = collections.deque()

    def script(_received: Received) -> Script:
        now = trio.current_time()
        arrivals.append(now)
        while arrivals[0] <= now - 1.0:
            arrivals.popleft()
        return Script(ttft_s=1.0 if len(arrivals) > SLOW_ABOVE else 0.05, itl_s=0.01)

    return FakeGateway(script)


def plan() -> object:
    return make_plan(stages=["1:1s"], warmup="1s", graceful_stop="5s", slo=["ttft<=300ms"])


async def test_the_knee_is_within_one_step_of_the_gateways_limit(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    backend = MemoryBackend(nursery, saturating_gateway().serve)
    heard: list[ProbeDoc] = []
    settings = SweepSettings(goodput_target=0.9, precision=PRECISION, ceiling_vus=24)
    async with open_engine(plan(), backend=backend) as engine:  # type: ignore[arg-type]
        outcome = await run_sweep(engine, settings, "4s", on_probe=heard.append)
    sweep = outcome.sweep
    assert heard == sweep.probes
    assert [p.kind for p in sweep.probes[:3]] == ["baseline", "ceiling", "rate"]
    assert [p.stage for p in sweep.probes] == [s.index for s in outcome.stages]
    knee = sweep.knee
    assert knee.rate_rps is not None
    assert FAST_UP_TO * (1 - PRECISION) <= knee.rate_rps <= SLOW_ABOVE
    assert knee.next_failed_because == "slo"
    (knee_probe,) = [p for p in sweep.probes if p.stage == knee.stage]
    assert (knee_probe.passed, knee_probe.offered_rps) == (True, knee.rate_rps)
    failed = [p for p in sweep.probes if p.kind == "rate" and not p.passed]
    assert failed
    assert all(p.offered_rps is not None and p.offered_rps > FAST_UP_TO for p in failed)
    assert sweep.slo == ["ttft<=300ms"]
    assert not outcome.stopped_early


async def test_a_generator_bound_probe_is_never_the_knee(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """From 12/s up, the generator stalls for a second in each probe (the
    clock jumps while no task runs): those probes are generator-bound, and
    the knee is a healthy rate below 12/s even though the gateway could do 20."""
    bound_from = 12.0

    async def stall_fast_probes(engine: object) -> None:
        stalled: set[int] = set()
        while True:
            await trio.sleep(0.5)
            view = engine.live  # type: ignore[attr-defined]
            if view is None or view.index in stalled or view.stats.elapsed_s < 2:
                continue
            if isinstance(view.stage, OpenStage) and view.stage.rate >= bound_from:
                stalled.add(view.index)
                autojump_clock.jump(1.0)

    backend = MemoryBackend(nursery, saturating_gateway().serve)
    settings = SweepSettings(goodput_target=0.9, precision=PRECISION, ceiling_vus=24)
    async with open_engine(plan(), backend=backend) as engine:  # type: ignore[arg-type]
        nursery.start_soon(stall_fast_probes, engine)
        outcome = await run_sweep(engine, settings, "4s")
    knee = outcome.sweep.knee
    bound = [p for p in outcome.sweep.probes if p.health == "generator-bound"]
    assert bound
    assert all(not p.passed and p.reason == "generator-bound" for p in bound)
    assert knee.rate_rps is not None
    assert knee.rate_rps < bound_from
    assert knee.next_failed_because == "generator-bound"
    assert "not counted as the gateway's limit" in knee.note
    (knee_probe,) = [p for p in outcome.sweep.probes if p.stage == knee.stage]
    assert knee_probe.health != "generator-bound"


async def test_a_stop_ends_the_sweep_with_the_best_rate_so_far(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    backend = MemoryBackend(nursery, saturating_gateway().serve)
    heard: list[ProbeDoc] = []

    def stop_after_third(probe: ProbeDoc) -> None:
        heard.append(probe)
        if len(heard) == 3:
            engine.request_stop()

    async with open_engine(plan(), backend=backend) as engine:  # type: ignore[arg-type]
        outcome = await run_sweep(
            engine, SweepSettings(ceiling_vus=8), "4s", on_probe=stop_after_third
        )
    assert outcome.stopped_early
    assert len(outcome.sweep.probes) == 3
    assert outcome.sweep.knee.note.startswith("stopped before the search converged")
