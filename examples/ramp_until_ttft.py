"""Ramp closed-loop virtual users until TTFT p99 crosses a limit, then stop.

One engine, and so one pool of kept-alive connections, serves every step.
Each step is decided at run time from the previous step's snapshot (double
the VUs while TTFT p99 stays under the limit); a watcher task reads the live
view every 100 ms and stops a step as soon as its TTFT p99 so far crosses the
limit, so an overloaded gateway is not held at that load for a whole step.

    python examples/ramp_until_ttft.py --target http://127.0.0.1:8000/v1 --limit-ms 500

Without --target it runs against an in-memory gateway whose TTFT grows with
its open connections (20 ms each), on trio's mock clock: instant, no sockets.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

import trio
import trio.testing

import loadtest
from loadtest import Metric
from loadtest.testing import FakeGateway, MemoryBackend, Received, Script

if TYPE_CHECKING:
    import httpcore

PROFILE = {
    "name": "ramp",
    "stages": ["1:10s"],  # unused: the ramp decides its stages as it goes
    "warmup": "1s",
    "defaults": {
        "target": "http://gateway.test/v1",
        "model": "m",
        "max_tokens": 32,
        "stream": True,
        "content": {"mode": "pool", "prompts": ["Say hello."]},
    },
}

#: A step is stopped early only once its TTFT has this many values.
MIN_SAMPLES = 20


async def stop_when_over(engine: loadtest.Engine, limit_ms: float) -> None:
    """Our watcher: stop the running step once its TTFT p99 crosses the limit."""
    while True:
        await trio.sleep(0.1)
        view = engine.live
        if view is None or view.histogram(Metric.TTFT).count < MIN_SAMPLES:
            continue
        p99_ms = view.percentile_ms(Metric.TTFT, 99.0)
        if p99_ms is not None and p99_ms > limit_ms:
            engine.stop_stage()


async def ramp(
    plan: loadtest.RunPlan,
    limit_ms: float,
    *,
    max_vus: int = 256,
    step_s: float = 10.0,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> list[loadtest.StageSnapshot]:
    """Run steps of 1, 2, 4, ... VUs until TTFT p99 crosses `limit_ms`."""
    steps: list[loadtest.StageSnapshot] = []
    async with (
        loadtest.open_engine(plan, backend=backend) as engine,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(engine.stop_on_signals)  # Ctrl-C: stop, keep the steps so far
        nursery.start_soon(stop_when_over, engine, limit_ms)
        vus = 1
        while vus <= max_vus:
            snapshot = await engine.run_stage(loadtest.closed_stage(vus, step_s))
            steps.append(snapshot)
            p99_ms = snapshot.total.percentile_ms(Metric.TTFT, 99.0)
            if snapshot.stopped_early or p99_ms is None or p99_ms > limit_ms:
                break
            vus *= 2
        nursery.cancel_scope.cancel()
    return steps


async def ramp_in_memory(limit_ms: float) -> tuple[list[loadtest.StageSnapshot], int]:
    """The ramp against the in-memory gateway; also how many connections it opened."""

    def script(received: Received) -> Script:
        return Script(ttft_s=0.02 * gateway.connections, itl_s=0.01)

    gateway = FakeGateway(script)
    plan = loadtest.resolve(loadtest.structure_profile(PROFILE), env={})
    async with trio.open_nursery() as nursery:
        backend = MemoryBackend(nursery, gateway.serve)
        steps = await ramp(plan, limit_ms, backend=backend)
        nursery.cancel_scope.cancel()
    return steps, backend.connects


def report(steps: list[loadtest.StageSnapshot], limit_ms: float) -> None:
    for step in steps:
        p99_ms = step.total.percentile_ms(Metric.TTFT, 99.0)
        shown = "-" if p99_ms is None else f"{p99_ms:.1f} ms"
        stopped = f" (stopped: over the {limit_ms:g} ms limit)" if step.stopped_early else ""
        vus = f"{step.concurrency} VU" + ("" if step.concurrency == 1 else "s")
        print(f"{vus:>8}: {step.total.ok} ok, TTFT p99 {shown}{stopped}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="the gateway's base URL (default: in memory)")
    parser.add_argument(
        "--limit-ms",
        type=float,
        default=200.0,
        help="the TTFT p99 limit in ms: the ramp stops at the first step over it (default 200)",
    )
    parser.add_argument("--step", default="10s", help="length of each step")
    args = parser.parse_args()
    if args.target:
        overrides = loadtest.Overrides(target=args.target)
        plan = loadtest.resolve(loadtest.structure_profile(PROFILE), overrides, env=os.environ)
        step_s = loadtest.parse_duration(args.step).seconds
        steps = trio.run(lambda: ramp(plan, args.limit_ms, step_s=step_s))
    else:
        clock = trio.testing.MockClock(autojump_threshold=0)
        steps, connects = trio.run(ramp_in_memory, args.limit_ms, clock=clock)
        print(f"in-memory gateway; {connects} connections opened over the whole ramp")
    report(steps, args.limit_ms)


if __name__ == "__main__":
    main()
