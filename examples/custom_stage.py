"""Run one stage of a profile from your own trio program, beside your own task.

Library use of loadtest's public API only: load and resolve a profile, start
the built-in mock upstream in-process (stand-in for your gateway), open the
engine, and run a stage inside your own nursery while another task of yours
watches it (it could as well restart a gateway mid-stage). The stage returns
a frozen snapshot, read here to print a few figures.

    python examples/custom_stage.py [PROFILE] [--stages 4:3s]
"""

from __future__ import annotations

import argparse
import os

import trio

from loadtest import (
    Engine,
    Metric,
    MockConfig,
    Overrides,
    load_profile,
    open_engine,
    parse_duration,
    parse_stages,
    resolve,
    serve_mock,
)


async def watch(engine: Engine) -> None:
    """Our own task: print the stage's progress twice a second (its live view)."""
    while True:
        await trio.sleep(0.5)
        view = engine.live
        if view is not None:
            counts = view.counts
            print(
                f"  t={view.elapsed_s:4.1f}s in flight {view.in_flight}, "
                f"done {counts.completed + counts.warmup_turns}"
            )


async def main(profile_path: str, stages: str) -> None:
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_mock, MockConfig(port=0, ttft="50ms", itl="5ms"))
        overrides = Overrides(target=url, stages=parse_stages(stages), warmup=parse_duration("1s"))
        plan = resolve(load_profile(profile_path), overrides, env=os.environ)
        async with open_engine(plan) as engine, trio.open_nursery() as ours:
            ours.start_soon(watch, engine)
            snapshot = await engine.run_stage(0)
            ours.cancel_scope.cancel()
        nursery.cancel_scope.cancel()
    total = snapshot.total
    p50_ms = total.percentile_ms(Metric.LATENCY, 50.0) or 0.0
    p99_ms = total.percentile_ms(Metric.LATENCY, 99.0) or 0.0
    print(
        f"stage {snapshot.index + 1}: {snapshot.mode}, {total.requests} steady turns, "
        f"{total.ok} ok, {total.warmup_turns} in warm-up"
    )
    print(f"latency p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", nargs="?", default="profiles/ai-gateway.json")
    parser.add_argument("--stages", default="4:3s")
    args = parser.parse_args()
    trio.run(main, args.profile, args.stages)
