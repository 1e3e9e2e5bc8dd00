"""The engine: a resolved plan in, frozen stage snapshots out.

`open_engine(plan)` prepares what every stage shares (the connection pool,
the scenarios' adapters and request templates, the sized-text pool) and
closes the connections on exit. `Engine.run_stage(i)` runs one stage in its
own nursery and returns its frozen `StageSnapshot`; the next stage starts
only after that. `Engine.run()` runs them all. A user's trio program may call
`run_stage` from its own nursery, beside its own tasks (see
examples/custom_stage.py).

`request_stop()` (Ctrl-C, SIGTERM) ends the current stage at once: its turns
in flight are recorded `interrupted`, its snapshot is marked
`stopped_early`, and no further stage starts.
"""

from __future__ import annotations

import resource
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import attrs
import trio

from loadtest.config import ClosedStage, OpenStage, RunPlan
from loadtest.engine._content import TextPool
from loadtest.engine._stage import (
    RunContext,
    StageContext,
    StageStats,
    run_closed_stage,
    run_open_stage,
)
from loadtest.engine._transport import ConnectionPool, TransportConfig
from loadtest.engine._turn import build_runtime
from loadtest.metrics import LiveStats, StageRecorder, StageSnapshot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpcore

    from loadtest.metrics import TurnRecord

__all__ = ["Engine", "EngineStats", "RunResult", "default_max_in_flight", "open_engine"]

#: File descriptors kept back from `max_in_flight` for the process itself.
_FD_MARGIN = 64


def default_max_in_flight() -> int:
    """Open-loop in-flight cap when the profile sets none: one connection per
    conversation, so the soft open-file limit minus a margin."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 100_000
    return max(soft - _FD_MARGIN, 1)


@attrs.frozen
class RunResult:
    """A whole run: the plan, and one snapshot per stage that ran."""

    plan: RunPlan
    stages: tuple[StageSnapshot, ...]
    started_unix_s: float
    ended_unix_s: float
    stopped_early: bool


@attrs.frozen
class EngineStats:
    """The engine now, for progress displays."""

    stage_count: int
    stage: StageStats | None
    live: LiveStats | None
    open_connections: int


class Engine:
    """Runs the stages of one plan. Create it with `open_engine`."""

    def __init__(
        self, plan: RunPlan, pool: ConnectionPool, write_record: Callable[[TurnRecord], None]
    ) -> None:
        self.plan = plan
        self._pool = pool
        runtimes = [
            build_runtime(
                index,
                scenario,
                correlation_header=plan.correlation.header,
                total_timeout_s=plan.timeouts.total.seconds,
                keepalive=plan.http.keepalive,
            )
            for index, scenario in enumerate(plan.scenarios)
        ]
        self._run = RunContext(
            plan=plan,
            pool=pool,
            scenarios=runtimes,
            text_pool=TextPool(plan.seed),
            write_record=write_record,
            wall_offset_s=time.time() - trio.current_time(),
        )
        self._current: StageContext | None = None
        self._stage_scope: trio.CancelScope | None = None
        self.stop_requested = False

    async def run_stage(self, index: int) -> StageSnapshot:
        """Run stage `index` to its end (plus graceful stop) and return its
        frozen snapshot. A checkpoint."""
        stage = self.plan.stages[index]
        recorder = StageRecorder([s.name for s in self.plan.scenarios])
        now = trio.current_time()
        duration_s = stage.duration.seconds
        warmup_s = min(self.plan.warmup_s, duration_s)
        ctx = StageContext(
            run=self._run,
            index=index,
            stage=stage,
            recorder=recorder,
            started=now,
            warmup_end=now + warmup_s,
            stop_at=now + duration_s,
        )
        self._current = ctx
        with trio.CancelScope() as scope:
            self._stage_scope = scope
            if self.stop_requested:
                scope.cancel()
            await self._run_stage(ctx, stage)
        self._stage_scope = None
        self._current = None
        ended = trio.current_time()
        steady_s = max(min(ended, ctx.stop_at) - ctx.warmup_end, 0.0)
        closed = isinstance(stage, ClosedStage)
        return recorder.freeze(
            index=index,
            mode="closed" if closed else "open",
            duration_s=duration_s,
            warmup_s=warmup_s,
            steady_s=steady_s,
            started_unix_s=now + self._run.wall_offset_s,
            ended_unix_s=ended + self._run.wall_offset_s,
            concurrency=stage.concurrency if isinstance(stage, ClosedStage) else None,
            rate=stage.rate if isinstance(stage, OpenStage) else None,
            vus=self.plan.vu_split(stage) if isinstance(stage, ClosedStage) else (),
            stopped_early=scope.cancelled_caught,
        )

    async def _run_stage(self, ctx: StageContext, stage: ClosedStage | OpenStage) -> None:
        if isinstance(stage, ClosedStage):
            await run_closed_stage(ctx, self.plan.vu_split(stage))
        else:
            cap = self.plan.max_in_flight or default_max_in_flight()
            await run_open_stage(ctx, cap)

    async def run(self) -> RunResult:
        """Run every stage in order (stopping early on `request_stop`)."""
        started = time.time()
        snapshots = []
        for index in range(len(self.plan.stages)):
            if self.stop_requested:
                break
            snapshots.append(await self.run_stage(index))
        return RunResult(
            plan=self.plan,
            stages=tuple(snapshots),
            started_unix_s=started,
            ended_unix_s=time.time(),
            stopped_early=self.stop_requested,
        )

    def request_stop(self) -> None:
        """End the current stage now and start no other (sync; idempotent)."""
        self.stop_requested = True
        if self._stage_scope is not None:
            self._stage_scope.cancel()

    def live_percentiles(self, name: str) -> tuple[float | None, float | None]:
        """p50 and p95 (ms) of one histogram of the current stage so far."""
        ctx = self._current
        if ctx is None:
            return None, None
        hist = ctx.recorder.live_histogram(name)
        if hist.count == 0:
            return None, None
        values = hist.percentiles([50.0, 95.0])
        return values[50.0] / 1000, values[95.0] / 1000

    def statistics(self) -> EngineStats:
        ctx = self._current
        return EngineStats(
            stage_count=len(self.plan.stages),
            stage=ctx.statistics() if ctx is not None else None,
            live=ctx.recorder.statistics() if ctx is not None else None,
            open_connections=self._pool.open_connections,
        )


def transport_config(plan: RunPlan) -> TransportConfig:
    """The transport settings of a plan."""
    return TransportConfig(
        connect_timeout_s=plan.timeouts.connect.seconds,
        read_timeout_s=plan.timeouts.read.seconds,
        keepalive=plan.http.keepalive,
        verify=plan.http.verify,
        ca_bundle=plan.http.ca_bundle,
        max_connections=plan.http.max_connections,
    )


@asynccontextmanager
async def open_engine(
    plan: RunPlan,
    *,
    write_record: Callable[[TurnRecord], None] | None = None,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> AsyncIterator[Engine]:
    """An engine for `plan`; connections are closed on exit.

    `write_record` receives every finished turn (e.g. a `JsonlSink.write`);
    `backend` replaces the real network (tests use a memory backend).
    """
    pool = ConnectionPool(transport_config(plan), backend=backend)
    try:
        yield Engine(plan, pool, write_record or (lambda record: None))
    finally:
        with trio.CancelScope(shield=True):
            await pool.aclose()
