"""The engine: a resolved plan in, frozen stage snapshots out.

`open_engine(plan)` prepares what every stage shares (the connection pool,
the scenarios' adapters and request templates, the sized-text pool) and
closes the connections on exit. `Engine.run_stage(stage)` runs one stage, an
index into the plan or a stage decided at run time, in its own nursery and
returns its frozen `StageSnapshot`; the next stage starts only after that.
`Engine.run()` runs the plan's stages. A user's trio program may call
`run_stage` from its own nursery, beside its own tasks (docs/library.md).

Rules:
- Everything scoped to a stage (windows, recorder, counts, loop monitor,
  CPU meter, cancel scope) lives in its `StageContext`; the engine keeps
  only what stages share.
- `stop_stage()` ends the current stage at once: its turns in flight are
  recorded `interrupted` and its snapshot is marked `stopped_early`.
  `request_stop()` (Ctrl-C, SIGTERM) does the same and starts no further
  stage.
- `live` is a `LiveView` of the running stage (None between stages);
  `on_stage_end(callback)` hands each finished stage's snapshot to
  `callback` (the live metrics endpoint keeps finished stages that way).
- A segment of a plan (`--segment K/N`) starts each later stage on its
  planned boundary: the first stage's start plus every earlier stage's
  duration and graceful stop (it waits when it is early), so the segments'
  stages line up without messages. After a stage with no duration (a
  request count only) stages follow one another as in one process.
- The run's `max_requests` counts turns started across the stages this
  engine runs: each stage may start what is left (its `ended_by` is
  "run-requests" when that ends it), and `run()` starts no stage once
  none is left. A snapshot's `ended_by` is "stopped" when `stop_stage()`
  or `request_stop()` ended it.
"""

from __future__ import annotations

import signal
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

import attrs
import trio

from loadtest.config import (
    ClosedStage,
    OpenStage,
    RunPlan,
    SizedContent,
    Stage,
    load_datasets,
    parse_stage,
)
from loadtest.engine._content import TextPool
from loadtest.engine._health import FD_MARGIN, FdLimits, LoopMonitor, fds_needed, raise_fd_limit
from loadtest.engine._live import LiveView
from loadtest.engine._open import run_open_stage
from loadtest.engine._scenario import build_runtime
from loadtest.engine._schedule import VuSlot, vu_plan
from loadtest.engine._stage import (
    RunContext,
    StageContext,
    StageStats,
    run_closed_stage,
)
from loadtest.engine._transport import ConnectionPool, TransportConfig
from loadtest.errors import ConfigError
from loadtest.metrics import (
    HealthFigures,
    LiveStats,
    Metric,
    StageRecorder,
    StageSnapshot,
    assess,
)
from loadtest.taxonomy import GEN_FD_EXHAUSTION, is_generator_class

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpcore

    from loadtest.metrics import TurnRecord

__all__ = [
    "Engine",
    "EngineStats",
    "RecordSink",
    "RunResult",
    "open_engine",
    "transport_config",
]

#: What `stop_on_signals` listens for by default.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
                seed=plan.seed,
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
        self._next_index = 0
        #: Turns started by every stage this engine ran (the run's `max_requests`).
        self._turns_started = 0
        self._stop_event = trio.Event()
        self._started_unix_s: float | None = None
        self._stage_listeners: list[Callable[[StageSnapshot], None]] = []

    @property
    def started_unix_s(self) -> float | None:
        """When `run()` (or the first `run_stage`) started, Unix seconds; None before."""
        return self._started_unix_s

    def on_stage_end(self, callback: Callable[[StageSnapshot], None]) -> None:
        """Call `callback` (sync, must not raise) with each stage's frozen
        snapshot as the stage ends, before `run_stage` returns it."""
        self._stage_listeners.append(callback)

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
            return self.plan.segment.share(self.plan.max_in_flight)
        return max(self.fd_limits.soft - FD_MARGIN, 1)

    async def run_stage(self, stage: int | str | Stage) -> StageSnapshot:
        """Run one stage to its end (plus graceful stop) and return its frozen
        snapshot. A checkpoint.

        `stage` is an index into the plan's stages, a stage object
        (`ClosedStage`, `OpenStage`) or a stage string (`"20:30s"`,
        `"@200:30s"`): any sequence of stages decided at run time shares this
        engine and its connections. Every stage this engine runs takes the
        next stage number, in the order they run (its records' `stage`, its
        seeds): `run()` numbers the plan's stages as the plan does, and no two
        stages of one engine share a number.
        """
        index, spec = self._stage_for(stage)
        if self._started_unix_s is None:
            self._started_unix_s = time.time()
        now = trio.current_time()
        duration_s = spec.duration_s
        warmup_s = min(self.plan.warmup_s, duration_s)
        ctx = StageContext(
            run=self._run,
            index=index,
            stage=spec,
            recorder=StageRecorder([s.name for s in self.plan.scenarios], self.plan.slo),
            started=now,
            warmup_end=now + warmup_s,
            stop_at=now + duration_s,
        )
        self._cap(ctx)
        overflow_before = self._sink.overflow
        self._current = ctx
        try:
            with ctx.scope:
                if self.stop_requested:
                    ctx.scope.cancel()
                await self._monitored(ctx)
        finally:
            self._current = None
            self._turns_started += ctx.turns_started
        ended = trio.current_time()
        snapshot = ctx.recorder.freeze(
            index=index,
            mode="closed" if isinstance(spec, ClosedStage) else "open",
            duration_s=duration_s if spec.duration is not None else ctx.time_s(),
            warmup_s=warmup_s,
            steady_s=max(min(ended, ctx.stop_at) - ctx.warmup_end, 0.0),
            started_unix_s=now + self._run.wall_offset_s,
            ended_unix_s=ended + self._run.wall_offset_s,
            concurrency=_concurrency(self.plan, spec),
            rate=spec.rate / self.plan.segment.count if isinstance(spec, OpenStage) else None,
            vus=self.plan.segment_vus(spec) if isinstance(spec, ClosedStage) else (),
            stopped_early=ctx.scope.cancelled_caught,
            ramp_to=_segment_ramp_to(self.plan, spec),
            requests=None if spec.requests is None else self.plan.segment.share(spec.requests),
            ended_by="stopped" if ctx.scope.cancelled_caught else ctx.ended_by,
        )
        figures = _figures(ctx, snapshot, self._sink.overflow - overflow_before)
        snapshot = attrs.evolve(snapshot, health=assess(figures))
        for callback in self._stage_listeners:
            callback(snapshot)
        return snapshot

    def _cap(self, ctx: StageContext) -> None:
        """Set the stage's request cap: its own `requests`, or what is left
        of the run's `max_requests` when that is less (nothing left: the
        stage's time is up at once)."""
        segment = self.plan.segment
        ctx.turn_cap = None if ctx.stage.requests is None else segment.share(ctx.stage.requests)
        if self.plan.max_requests is not None:
            left = max(segment.share(self.plan.max_requests) - self._turns_started, 0)
            if ctx.turn_cap is None or left < ctx.turn_cap:
                ctx.turn_cap, ctx.cap_reason = left, "run-requests"
        if ctx.turn_cap == 0:
            ctx.stop_at, ctx.ended_by = ctx.started, ctx.cap_reason
            ctx.cut.set()

    @property
    def requests_left(self) -> int | None:
        """Turns the run's `max_requests` (this segment's share) still allows
        (None: no cap)."""
        if self.plan.max_requests is None:
            return None
        return max(self.plan.segment.share(self.plan.max_requests) - self._turns_started, 0)

    def _stage_for(self, stage: int | str | Stage) -> tuple[int, Stage]:
        """The stage number and stage of a `run_stage` argument."""
        if isinstance(stage, int):
            count = len(self.plan.stages)
            if isinstance(stage, bool) or not 0 <= stage < count:
                raise ConfigError(
                    f"stage {stage!r}: the plan's stages are numbered 0 to {count - 1}"
                )
            spec = self.plan.stages[stage]
        else:
            if isinstance(stage, str):
                try:
                    spec = parse_stage(stage)
                except ValueError as exc:
                    raise ConfigError(f"stage {stage!r}: {exc}") from None
            else:
                spec = stage
        index, self._next_index = self._next_index, self._next_index + 1
        return index, spec

    async def _monitored(self, ctx: StageContext) -> None:
        monitor = LoopMonitor()
        ctx.cpu.reset()
        async with trio.open_nursery() as nursery:
            await nursery.start(monitor.run)
            ctx.monitor = monitor
            if isinstance(ctx.stage, ClosedStage):
                await run_closed_stage(ctx, _vu_plan(self.plan, ctx.stage))
            else:
                await run_open_stage(ctx, self._max_in_flight())
            nursery.cancel_scope.cancel()

    @property
    def live(self) -> LiveView | None:
        """The running stage, read live (None between stages)."""
        ctx = self._current
        return LiveView(ctx) if ctx is not None else None

    def live_health(self) -> tuple[str, list[str]]:
        """The current stage's verdict so far (CPU, loop lag and drops only)."""
        view = self.live
        if view is None:
            return "ok", []
        health = view.health()
        return health.verdict, list(health.reasons)

    async def run(self) -> RunResult:
        """Run every stage in order (stopping early on `request_stop`)."""
        started = time.time()
        if self._started_unix_s is None:
            self._started_unix_s = started
        snapshots = []
        boundary: float | None = trio.current_time()
        for index, stage in enumerate(self.plan.stages):
            if index and boundary is not None and not self.plan.segment.whole:
                with trio.move_on_at(boundary):
                    await self._stop_event.wait()
            if self.stop_requested or self.requests_left == 0:
                break
            snapshots.append(await self.run_stage(index))
            if boundary is not None and stage.duration is not None:
                boundary += stage.duration_s + self.plan.graceful_stop_s
            else:
                boundary = None  # a stage of unknown length: no planned boundary after it
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
        self.stop_stage()

    async def stop_on_signals(
        self, *signums: int, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Until cancelled, turn SIGINT and SIGTERM (or `signums`) into
        `request_stop()`, as Ctrl-C in `loadtest run`: no KeyboardInterrupt,
        the stage ends and its snapshot is kept. Start it with `await
        nursery.start(engine.stop_on_signals)` (the handlers are in place once
        it returns); the previous handlers are back when it ends. Main thread
        only."""
        with trio.open_signal_receiver(*(signums or _STOP_SIGNALS)) as received:
            task_status.started()
            async for _ in received:
                self.request_stop()

    def stop_stage(self) -> None:
        """End the current stage now, as `request_stop` does, but leave the
        engine ready for the next `run_stage` (sync; idempotent; nothing
        happens between stages). Its turns in flight are recorded
        `interrupted` and its snapshot is marked `stopped_early`."""
        if self._current is not None:
            self._current.scope.cancel()

    def live_percentiles(self, name: str) -> tuple[float | None, float | None]:
        """p50 and p95 (ms) of one histogram of the current stage so far."""
        view = self.live
        if view is None:
            return None, None
        values = view.percentiles_ms(name, [50.0, 95.0])
        return values[50.0], values[95.0]

    def statistics(self) -> EngineStats:
        ctx = self._current
        return EngineStats(
            stage_count=len(self.plan.stages),
            stage=ctx.statistics() if ctx is not None else None,
            live=ctx.recorder.statistics() if ctx is not None else None,
            open_connections=self._pool.open_connections,
        )


def _vu_plan(plan: RunPlan, stage: ClosedStage) -> list[VuSlot]:
    """Every VU of a closed stage (engine/_schedule.py, `vu_plan`)."""
    end = stage.concurrency if stage.ramp_to is None else stage.ramp_to
    weights = [s.weight for s in plan.scenarios]
    return vu_plan(stage.concurrency, end, stage.duration_s, weights, plan.start_spread_s)


def _segment_ramp_to(plan: RunPlan, stage: Stage) -> float | None:
    """This segment's share of a ramp's end (None: not a ramp): of the
    rate for an open stage, of the VUs (numbered as one process) for a
    closed one; a merge sums them back."""
    if stage.ramp_to is None:
        return None
    if isinstance(stage, OpenStage):
        return stage.ramp_to / plan.segment.count
    return plan.segment.share(stage.ramp_to)


def _figures(ctx: StageContext, snapshot: StageSnapshot, overflow: int) -> HealthFigures:
    """The generator's figures of one finished stage (its own monitor only:
    a stage stopped before it started has no loop-lag figures). Open loop:
    the target rate is the arrivals the schedule planned (a ramp's included)
    over the stage's time, which a request cap may have cut short; the
    achieved rate is over the same time."""
    lag_p99, lag_max = ctx.monitor.p99_and_max_ms() if ctx.monitor else (0.0, 0.0)
    stage = ctx.stage
    schedule = snapshot.total.histogram(Metric.LAG)
    window_s = ctx.time_s()
    open_loop = isinstance(stage, OpenStage) and window_s > 0
    return HealthFigures(
        cpu_share=round(ctx.cpu.share(), 3),
        loop_lag_p99_ms=lag_p99,
        loop_lag_max_ms=lag_max,
        peak_in_flight=ctx.peak_in_flight,
        target_in_flight=(
            ctx.run.plan.segment.share(stage.peak) if isinstance(stage, ClosedStage) else None
        ),
        target_rate=round(ctx.planned_arrivals / window_s, 3) if open_loop else None,
        achieved_rate=(
            round((ctx.started_conversations + ctx.dropped) / window_s, 3) if open_loop else None
        ),
        schedule_lag_p99_ms=(schedule.percentiles([99.0])[99.0] / 1000 if schedule.count else None),
        dropped=snapshot.total.dropped,
        sink_overflow=overflow,
        generator_errors={k: v for k, v in snapshot.total.errors.items() if is_generator_class(k)},
    )


def _concurrency(plan: RunPlan, stage: Stage) -> int | None:
    """A closed stage's VUs in this process's segment (None: open stage)."""
    return sum(plan.segment_vus(stage)) if isinstance(stage, ClosedStage) else None


def transport_config(plan: RunPlan) -> TransportConfig:
    """The transport settings of a plan (per-run limits: this segment's share)."""
    return TransportConfig(
        connect_timeout_s=plan.timeouts.connect.seconds,
        read_timeout_s=plan.timeouts.read.seconds,
        keepalive=plan.http.keepalive,
        verify=plan.http.verify,
        ca_bundle=plan.http.ca_bundle,
        max_connections=plan.segment.limit(plan.http.max_connections, "http.max_connections"),
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
    says if that is still short of what the plan needs. Dataset files the
    plan names are read now unless `load_datasets` has read them already.
    """
    plan = load_datasets(plan)
    fd_limits = raise_fd_limit(fds_needed(plan))
    pool = ConnectionPool(transport_config(plan), backend=backend)
    try:
        yield Engine(plan, pool, sink or _NoSink(), fd_limits)
    finally:
        with trio.CancelScope(shield=True):
            await pool.aclose()
