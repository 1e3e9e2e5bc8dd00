"""Chaos: restart the upstream in the middle of a stage, reconfigured, while
the stage measures.

The built-in mock upstream runs in this process (`loadtest.open_mock`:
127.0.0.1, a free port).
One closed stage runs; partway through, our chaos task stops the mock (its
connections are reset, new ones refused) and, a moment later, starts it
again on the same port with another configuration (slower, and failing 10%
of requests). The stage runs through all of it and its snapshot shows what
the outage cost: errors by class, beside the latencies of the turns that
succeeded.

    python examples/chaos_restart.py [--stage 4:4s] [--down-at 1.5s] [--down-for 0.5s]
"""

from __future__ import annotations

import argparse

import trio

import loadtest
from loadtest import Metric, MockConfig

PROFILE = {
    "name": "chaos",
    "stages": ["4:4s"],
    "warmup": "0s",
    "defaults": {
        "target": "http://127.0.0.1:9/v1",  # replaced by the mock's URL
        "model": "m",
        "max_tokens": 16,
        "stream": True,
        "content": {"mode": "pool", "prompts": ["Say hello."]},
    },
}
BEFORE = MockConfig(port=0, ttft="20ms", itl="2ms")


async def chaos(upstream: loadtest.RunningMock, down_at_s: float, down_for_s: float) -> None:
    """Our chaos task: down at `down_at_s`, back `down_for_s` later, changed."""
    await trio.sleep(down_at_s)
    upstream.stop()
    print(f"  chaos: upstream stopped at {down_at_s:g}s")
    await trio.sleep(down_for_s)
    await upstream.restart(MockConfig(ttft="80ms", itl="2ms", error_rate=0.1))
    print(f"  chaos: upstream back on port {upstream.port}, slower and failing 10% of requests")


async def run(stage: str, down_at_s: float, down_for_s: float) -> loadtest.StageSnapshot:
    """One stage against the mock, with the chaos task beside it."""
    async with loadtest.open_mock(BEFORE) as upstream:
        overrides = loadtest.Overrides(target=upstream.url, stages=stage)
        plan = loadtest.resolve(loadtest.structure_profile(PROFILE), overrides, env={})
        async with loadtest.open_engine(plan) as engine, trio.open_nursery() as ours:
            ours.start_soon(chaos, upstream, down_at_s, down_for_s)
            snapshot = await engine.run_stage(0)
            ours.cancel_scope.cancel()
    return snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="4:4s")
    parser.add_argument("--down-at", default="1.5s")
    parser.add_argument("--down-for", default="0.5s")
    args = parser.parse_args()
    down_at_s = loadtest.parse_duration(args.down_at).seconds
    down_for_s = loadtest.parse_duration(args.down_for).seconds
    snapshot = trio.run(run, args.stage, down_at_s, down_for_s)
    total = snapshot.total
    errors = ", ".join(f"{name} {count}" for name, count in sorted(total.errors.items()))
    print(f"{total.requests} turns: {total.ok} ok, {total.failed} failed ({errors or 'none'})")
    p50_ms = total.percentile_ms(Metric.LATENCY, 50.0)
    p99_ms = total.percentile_ms(Metric.LATENCY, 99.0)
    if p50_ms is not None and p99_ms is not None:
        print(f"latency of ok turns: p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms")


if __name__ == "__main__":
    main()
