"""CPU cost of the trio primitives an open-loop arrival uses, one at a time.

What it measures, per operation, in CPU µs (`time.process_time`, user +
sys, so the kernel's part of a sleep counts too):

- spawn: `nursery.start_soon` of a task that checkpoints once and ends
  (what the open-loop scheduler does per arrival);
- pool: the same job handed to a parked worker task with
  `trio.lowlevel.reschedule` (a pool of reusable workers), a new worker
  only when none is idle;
- stream RNG / seeded MT: making one conversation's RNG, `StreamRandom`
  from its key against the string-seeded Mersenne Twister it replaced;
- cancelled sleep: a cancel-scope timer whose deadline has already passed
  (what the scheduler paid per arrival that was already due);
- trio sleep 0.5 ms: a cancel-scope timer that really sleeps (the loop goes
  idle, epoll wakes it: what the scheduler pays per wake-up);
- time.sleep 0.5 ms: the same wake-up with no event loop at all.

Run pinned to one core: `taskset -c 0 .venv/bin/python bench/trio_costs.py`.
Findings: bench/README.md ("Open loop", CPU per turn).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import timeit

import outcome
import trio

from loadtest.engine._content import StreamRandom, stream_key, subkey

N = 20_000
SLEEPS = 2_000


async def _job() -> None:
    await trio.lowlevel.checkpoint()


async def spawn() -> float:
    async with trio.open_nursery() as nursery:
        started = time.process_time()
        for i in range(N):
            nursery.start_soon(_job)
            if i % 4 == 3:
                await trio.lowlevel.checkpoint()
    return (time.process_time() - started) / N * 1e6


async def pool() -> float:
    idle: list[trio.lowlevel.Task] = []

    async def worker() -> None:
        job = True
        while job:
            await _job()
            idle.append(trio.lowlevel.current_task())
            job = await trio.lowlevel.wait_task_rescheduled(lambda _: trio.lowlevel.Abort.SUCCEEDED)

    async with trio.open_nursery() as nursery:
        started = time.process_time()
        for i in range(N):
            if idle:
                trio.lowlevel.reschedule(idle.pop(), outcome.Value(True))
            else:
                nursery.start_soon(worker)
            if i % 4 == 3:
                await trio.lowlevel.checkpoint()
        cost = (time.process_time() - started) / N * 1e6
        await trio.sleep(0.01)
        for task in idle:
            trio.lowlevel.reschedule(task, outcome.Value(False))
    return cost


async def cancelled_sleep() -> float:
    started = time.process_time()
    for _ in range(N):
        with trio.move_on_at(trio.current_time() - 1):
            await trio.sleep_forever()
    return (time.process_time() - started) / N * 1e6


async def trio_sleep() -> float:
    started = time.process_time()
    for _ in range(SLEEPS):
        await trio.sleep_until(trio.current_time() + 0.0005)
    return (time.process_time() - started) / SLEEPS * 1e6


def plain_sleep() -> float:
    started = time.process_time()
    for _ in range(SLEEPS):
        time.sleep(0.0005)
    return (time.process_time() - started) / SLEEPS * 1e6


def main() -> int:
    key = stream_key(0, 1, "conv")
    rows: dict[str, list[float]] = {}
    for _ in range(3):
        found = {
            "spawn (start_soon per arrival)": trio.run(spawn),
            "pool (reschedule a parked worker)": trio.run(pool),
            "stream RNG (StreamRandom(subkey))": timeit.timeit(
                lambda: StreamRandom(subkey(key, 12345)), number=N
            )
            / N
            * 1e6,
            "seeded MT (random.Random(str))": timeit.timeit(
                lambda: random.Random("0:1:conv:12345"), number=N
            )
            / N
            * 1e6,
            "cancelled sleep (deadline passed)": trio.run(cancelled_sleep),
            "trio sleep 0.5 ms": trio.run(trio_sleep),
            "time.sleep 0.5 ms": plain_sleep(),
        }
        for name, value in found.items():
            rows.setdefault(name, []).append(value)
    sys.stdout.write("CPU µs per operation (3 takes, median last)\n")
    for name, values in rows.items():
        takes = " ".join(f"{v:7.2f}" for v in values)
        sys.stdout.write(f"{name:<36}{takes}   {statistics.median(values):7.2f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
