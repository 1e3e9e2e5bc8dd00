"""The per-second time series of stages run on the mock clock: the buckets
add up exactly to the stage's totals."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from loadtest.engine import MemorySink, open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio

    from loadtest.testing import Received


async def test_buckets_add_up_to_the_stage_totals(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A closed stage with warm-up, then an open one, every fourth answer a
    503 and turns cut off at each stage's end: summed over seconds, requests,
    ok, errors by class and output tokens are the totals; every turn started
    is finished by the series' last second, and its seconds are contiguous."""
    answers = itertools.count()

    def script(_received: Received) -> Script:
        failing = next(answers) % 4 == 3
        return Script(ttft_s=0.3, itl_s=0.05, output_tokens=9, status=503 if failing else 200)

    plan = make_plan(stages=["3:4s", "@5:3s"], warmup="1s")
    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway(script).serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    for stage in result.stages:
        series, total = stage.timeseries, stage.total
        assert total.requests >= 5
        assert total.errors
        assert total.warmup_turns + total.interrupted
        assert sum(s.requests for s in series) == total.requests
        assert sum(s.ok for s in series) == total.ok
        assert sum(s.output_tokens for s in series) == total.completion_tokens
        errors: dict[str, int] = {}
        for second in series:
            for name, count in second.errors.items():
                errors[name] = errors.get(name, 0) + count
        assert errors == total.errors
        turns = total.requests + total.interrupted + total.warmup_turns
        assert sum(s.started for s in series) == sum(s.finished for s in series) == turns
        assert [s.t for s in series] == list(range(series[0].t, series[-1].t + 1))
        assert series[-1].in_flight == 0
        assert max(s.in_flight for s in series) >= 3
        for name in ("latency", "ttft", "itl"):
            per_second = sum(s.histogram(name).count for s in series)
            assert per_second == total.histogram(name).count
