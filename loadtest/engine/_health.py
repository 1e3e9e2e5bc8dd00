"""Watching the generator itself: event-loop lag, CPU share, open-file limit.

- `LoopMonitor` is a ticker task: it asks to wake every 10 ms and records
  how late it woke (an HDR histogram, µs). On a healthy loop the lag is
  ~0-1 ms; when the process is short of CPU every task wakes late, and so
  does every timestamp the engine takes.
- `CpuMeter` reads process CPU time (all threads) against wall time.
- `raise_fd_limit` raises RLIMIT_NOFILE's soft limit to the hard limit at
  start, and says (with the numbers) when even that is below what the plan
  needs: one descriptor per connection plus a margin.

The verdict built from these figures is `loadtest.metrics.judge` (pure).
"""

from __future__ import annotations

import resource
import time

import attrs
import trio

from loadtest.config import ClosedStage, RunPlan
from loadtest.metrics import Histogram

__all__ = ["CpuMeter", "FdLimits", "LoopMonitor", "fds_needed", "raise_fd_limit"]

_TICK_S = 0.01
#: Descriptors the process needs besides connections (files, pipes, stdio).
FD_MARGIN = 64


class LoopMonitor:
    """Records how late a `_TICK_S` ticker wakes; run `run()` in a nursery."""

    def __init__(self, tick_s: float = _TICK_S) -> None:
        self.tick_s = tick_s
        self.lag = Histogram()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        record = self.lag.record
        while True:
            wake = trio.current_time() + self.tick_s
            await trio.sleep_until(wake)
            record(round((trio.current_time() - wake) * 1e6))

    def p99_and_max_ms(self) -> tuple[float, float]:
        if self.lag.count == 0:
            return 0.0, 0.0
        return self.lag.percentiles([99.0])[99.0] / 1000, self.lag.max / 1000


class CpuMeter:
    """Process CPU time over elapsed time since creation (or `reset`).

    Elapsed time is trio's clock — wall time in a real run; under a
    `MockClock` virtual seconds dwarf the CPU spent, so tests read ~0."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._wall = trio.current_time()
        self._cpu = time.process_time()

    def share(self) -> float:
        wall = trio.current_time() - self._wall
        return (time.process_time() - self._cpu) / wall if wall > 0 else 0.0


@attrs.frozen
class FdLimits:
    """The open-file limit before and after raising it, and what the plan needs."""

    soft_before: int
    soft: int
    hard: int
    needed: int

    @property
    def enough(self) -> bool:
        return self.soft >= self.needed

    def to_json(self) -> dict[str, int]:
        return attrs.asdict(self)


def fds_needed(plan: RunPlan) -> int:
    """Descriptors the plan can use at once: the largest closed stage, or an
    explicit `max_in_flight` (one connection each), plus a margin; of this
    process's segment only."""
    segment = plan.segment
    closed = [segment.share(s.concurrency) for s in plan.stages if isinstance(s, ClosedStage)]
    return max([*closed, segment.share(plan.max_in_flight or 0)]) + FD_MARGIN


def _as_int(value: int) -> int:
    return 1 << 30 if value == resource.RLIM_INFINITY else value


def raise_fd_limit(needed: int) -> FdLimits:
    """Raise the soft open-file limit to the hard limit (best effort)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = soft
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return FdLimits(_as_int(before), _as_int(soft), _as_int(hard), needed)
