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

import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

import attrs
import trio

from loadtest.config import ClosedStage, OpenStage, RunPlan, SizedContent
from loadtest.engine._content import TextPool
from loadtest.engine._health import (
    FD_MARGIN,
    CpuMeter,
    FdLimits,
    LoopMonitor,
    fds_needed,
    raise_fd_limit,
)
from loadtest.engine._stage import (
    RunContext,
    StageContext,
    StageStats,
    run_closed_stage,
    run_open_stage,
)
from loadtest.engine._transport import ConnectionPool, TransportConfig
from loadtest.engine._turn import build_runtime
from loadtest.metrics import HealthFigures, LiveStats, StageRecorder, StageSnapshot, judge
from loadtest.taxonomy import GEN_FD_EXHAUSTION, is_generator_class

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpcore

    from loadtest.metrics import TurnRecord

__all__ = ["Engine", "EngineStats", "RecordSink", "RunResult", "open_engine", "transport_config"]


@attrs.frozen
class RunResult:
    """A whole run: the plan, and one snapshot per stage that ran."""

    plan: RunPlan
    stages: tuple[StageSnapshot, ...]
    started_unix_s: float
    ended_unix_s: float
    stopped_early: bool
    fd_limits: FdLimits | None = None


@attrs.frozen
class EngineStats:
    """The engine now, for progress displays."""

    stage_count: int
    stage: StageStats | None
    live: LiveStats | None
    open_connections: int


class RecordSink(Protocol):
    """Where finished turns go (a `JsonlSink`, a `MemorySink`, your own)."""

    overflow: int

    def write(self, record: TurnRecord) -> None: ...


class _NoSink:
    overflow = 0

    def write(self, record: TurnRecord) -> None:
        del record


class Engine:
    """Runs the stages of one plan. Create it with `open_engine`."""

    def __init__(
        self, plan: RunPlan, pool: ConnectionPool, sink: RecordSink, fd_limits: FdLimits
    ) -> None:
        self.plan = plan
        self.fd_limits = fd_limits
        self._pool = pool
        self._sink = sink
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
            write_record=sink.write,
            wall_offset_s=time.time() - trio.current_time(),
        )
        if any(isinstance(s.content, SizedContent) for s in plan.scenarios):
            self._run.text_pool.build()  # ~30 ms now rather than mid-stage
        self._current: StageContext | None = None
        self._monitor: LoopMonitor | None = None
        self._cpu = CpuMeter()
        self._stage_scope: trio.CancelScope | None = None
        self._stop_event = trio.Event()

    @property
    def warnings(self) -> list[str]:
        """Problems found before any load (e.g. the open-file limit)."""
        limits = self.fd_limits
        if limits.enough:
            return []
        return [
            f"open-file limit {limits.soft} (hard {limits.hard}) is below the "
            f"{limits.needed} descriptors this plan can need (one per connection + "
            f"{FD_MARGIN}); raise it (ulimit -n) or expect {GEN_FD_EXHAUSTION} errors"
        ]

    def _max_in_flight(self) -> int:
        if self.plan.max_in_flight is not None:
            return self.plan.max_in_flight
        return max(self.fd_limits.soft - FD_MARGIN, 1)

    async def run_stage(self, index: int) -> StageSnapshot:
        """Run stage `index` to its end (plus graceful stop) and return its
        frozen snapshot. A checkpoint."""
        stage = self.plan.stages[index]
        now = trio.current_time()
        duration_s = stage.duration.seconds
        warmup_s = min(self.plan.warmup_s, duration_s)
        ctx = StageContext(
            run=self._run,
            index=index,
            stage=stage,
            recorder=StageRecorder([s.name for s in self.plan.scenarios]),
            started=now,
            warmup_end=now + warmup_s,
            stop_at=now + duration_s,
        )
        overflow_before = self._sink.overflow
        with trio.CancelScope() as scope:
            self._stage_scope = scope
            if self.stop_requested:
                scope.cancel()
            await self._monitored(ctx, stage)
        self._stage_scope = None
        self._current = None
        ended = trio.current_time()
        closed = isinstance(stage, ClosedStage)
        snapshot = ctx.recorder.freeze(
            index=index,
            mode="closed" if closed else "open",
            duration_s=duration_s,
            warmup_s=warmup_s,
            steady_s=max(min(ended, ctx.stop_at) - ctx.warmup_end, 0.0),
            started_unix_s=now + self._run.wall_offset_s,
            ended_unix_s=ended + self._run.wall_offset_s,
            concurrency=stage.concurrency if isinstance(stage, ClosedStage) else None,
            rate=stage.rate if isinstance(stage, OpenStage) else None,
            vus=self.plan.vu_split(stage) if isinstance(stage, ClosedStage) else (),
            stopped_early=scope.cancelled_caught,
        )
        figures = self._figures(ctx, snapshot, self._sink.overflow - overflow_before)
        verdict, reasons = judge(figures)
        health = {"verdict": verdict, "reasons": reasons, "figures": figures.to_json()}
        return attrs.evolve(snapshot, health=health)

    async def _monitored(self, ctx: StageContext, stage: ClosedStage | OpenStage) -> None:
        monitor = LoopMonitor()
        self._cpu.reset()
        async with trio.open_nursery() as nursery:
            await nursery.start(monitor.run)
            self._monitor, self._current = monitor, ctx
            if isinstance(stage, ClosedStage):
                await run_closed_stage(ctx, self.plan.vu_split(stage))
            else:
                await run_open_stage(ctx, self._max_in_flight())
            nursery.cancel_scope.cancel()

    def _figures(self, ctx: StageContext, snapshot: StageSnapshot, overflow: int) -> HealthFigures:
        monitor = self._monitor
        lag_p99, lag_max = monitor.p99_and_max_ms() if monitor else (0.0, 0.0)
        stage = ctx.stage
        schedule = snapshot.total.histogram("lag")
        rate = stage.rate if isinstance(stage, OpenStage) else None
        return HealthFigures(
            cpu_share=round(self._cpu.share(), 3),
            loop_lag_p99_ms=lag_p99,
            loop_lag_max_ms=lag_max,
            peak_in_flight=ctx.peak_in_flight,
            target_in_flight=stage.concurrency if isinstance(stage, ClosedStage) else None,
            target_rate=rate,
            achieved_rate=(
                round((ctx.started_conversations + ctx.dropped) / stage.duration.seconds, 3)
                if rate
                else None
            ),
            schedule_lag_p99_ms=(
                schedule.percentiles([99.0])[99.0] / 1000 if schedule.count else None
            ),
            dropped=snapshot.total.dropped,
            sink_overflow=overflow,
            generator_errors={
                k: v for k, v in snapshot.total.errors.items() if is_generator_class(k)
            },
        )

    def live_health(self) -> tuple[str, list[str]]:
        """The current stage's verdict so far (CPU, loop lag and drops only)."""
        ctx, monitor = self._current, self._monitor
        if ctx is None or monitor is None:
            return "ok", []
        lag_p99, lag_max = monitor.p99_and_max_ms()
        figures = HealthFigures(
            cpu_share=self._cpu.share(),
            loop_lag_p99_ms=lag_p99,
            loop_lag_max_ms=lag_max,
            peak_in_flight=ctx.peak_in_flight,
            dropped=ctx.dropped,
        )
        return judge(figures)

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
            fd_limits=self.fd_limits,
        )

    @property
    def stop_requested(self) -> bool:
        return self._stop_event.is_set()

    async def wait_stop_requested(self) -> None:
        """Return once `request_stop` has been called. A checkpoint."""
        await self._stop_event.wait()

    def request_stop(self) -> None:
        """End the current stage now and start no other (sync; idempotent)."""
        self._stop_event.set()
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
        max_response_bytes=plan.http.max_response_bytes,
    )


@asynccontextmanager
async def open_engine(
    plan: RunPlan,
    *,
    sink: RecordSink | None = None,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> AsyncIterator[Engine]:
    """An engine for `plan`; connections are closed on exit.

    `sink` receives every finished turn (a `JsonlSink`, a `MemorySink`);
    `backend` replaces the real network (tests use a memory backend). The
    open-file soft limit is raised to the hard limit first; `engine.warnings`
    says if that is still short of what the plan needs.
    """
    fd_limits = raise_fd_limit(fds_needed(plan))
    pool = ConnectionPool(transport_config(plan), backend=backend)
    try:
        yield Engine(plan, pool, sink or _NoSink(), fd_limits)
    finally:
        with trio.CancelScope(shield=True):
            await pool.aclose()
