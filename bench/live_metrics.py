"""What a live metrics scrape costs the load loop (`--metrics-port`).

What it measures: one engine runs closed stages of profiles/perf-128-stream.json
(streamed, 128 tokens out) against the mock upstream in its own process
(`--ttft 20ms --itl 2ms`), with the live endpoint served from the run's
nursery as `loadtest run --metrics-port` does. Each round runs the same
stage twice, interleaved: without scrapes, and with a scraper process (a
separate Python, as Prometheus is) that GETs /metrics every `--every`
seconds. Per take it prints the engine's own loop-lag p99 and max (its 10 ms
ticker), its CPU share, turns/s, the scrapes served, the renders they
caused (a scrape within MAX_AGE_S of a render reuses it), and the time one
render takes in the loop (median and max).

Run (~1 minute by default):

    .venv/bin/python bench/live_metrics.py                     # 3 rounds, 32 VUs x 8 s, 100 ms
    .venv/bin/python bench/live_metrics.py --vus 64 --every 0.1 --duration 10 --rounds 3
    .venv/bin/python bench/live_metrics.py --max-age 0       # every scrape renders

Findings: bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import ClassVar

import trio

import loadtest
from loadtest.engine import Engine, MetricsExporter, serve_metrics
from loadtest.engine._metrics_endpoint import MAX_AGE_S

ROOT = Path(__file__).parents[1]
SCRAPER = """
import sys, time, urllib.request
url, every = sys.argv[1], float(sys.argv[2])
while True:
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    time.sleep(every)
"""


class TimedExporter(MetricsExporter):
    """The exporter, with each render timed (ns); scrapes served from the
    previous render (MAX_AGE_S) are counted apart."""

    renders_ns: ClassVar[list[int]] = []
    scrapes: ClassVar[int] = 0
    max_age_s: ClassVar[float] = MAX_AGE_S

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, TimedExporter.max_age_s)

    def render(self) -> str:
        TimedExporter.scrapes += 1
        return super().render()

    def _render(self) -> str:
        started = time.perf_counter_ns()
        try:
            return super()._render()
        finally:
            TimedExporter.renders_ns.append(time.perf_counter_ns() - started)


async def take(url: str, vus: int, duration_s: float, every_s: float | None) -> dict[str, float]:
    overrides = loadtest.Overrides(
        target=f"{url}/v1", vk="bench", stages=f"{vus}:{duration_s}s", warmup="1s"
    )
    plan = loadtest.resolve(
        loadtest.load_profile(ROOT / "profiles" / "perf-128-stream.json"), overrides, env={}
    )
    TimedExporter.renders_ns = []
    TimedExporter.scrapes = 0
    scraper = None
    async with trio.open_nursery() as nursery, loadtest.open_engine(plan) as engine:
        port = await nursery.start(serve_metrics, engine, 0)
        if every_s is not None:
            metrics_url = f"http://127.0.0.1:{port}/metrics"
            command = [sys.executable, "-c", SCRAPER, metrics_url, str(every_s)]
            scraper = await trio.lowlevel.open_process(command)
        try:
            (stage,) = (await engine.run()).stages
        finally:
            if scraper is not None:
                scraper.kill()
                await scraper.wait()
        nursery.cancel_scope.cancel()
    figures = stage.health.figures if stage.health else None
    assert figures is not None
    renders = TimedExporter.renders_ns or [0]
    return {
        "lag_p99_ms": figures.loop_lag_p99_ms,
        "lag_max_ms": figures.loop_lag_max_ms,
        "cpu_share": figures.cpu_share,
        "turns_per_s": stage.total.requests / stage.steady_s,
        "scrapes": TimedExporter.scrapes,
        "renders": len(TimedExporter.renders_ns),
        "render_median_ms": statistics.median(renders) / 1e6,
        "render_max_ms": max(renders) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vus", type=int, default=32)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--every", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-age", type=float, default=MAX_AGE_S, help="0: every scrape renders")
    args = parser.parse_args()
    TimedExporter.max_age_s = args.max_age
    # the engine's renders go through TimedExporter
    sys.modules["loadtest.engine._metrics_endpoint"].MetricsExporter = TimedExporter  # type: ignore[attr-defined]
    print(f"load {os.getloadavg()[0]:.1f}; {args.vus} VUs x {args.duration:g} s per take")
    header = f"{'take':<14}{'lag p99':>9}{'lag max':>9}{'cpu':>6}{'turns/s':>9}"
    print(header + f"{'scrapes':>9}{'renders':>9}{'render p50':>12}{'render max':>12}")
    with loadtest.run_mock_process(["--ttft", "20ms", "--itl", "2ms"]) as url:
        for round_ in range(args.rounds):
            for every in (None, args.every):
                name = f"{round_ + 1}: " + ("no scrape" if every is None else f"every {every:g}s")
                r = trio.run(take, url, args.vus, args.duration, every)
                print(
                    f"{name:<14}{r['lag_p99_ms']:>7.1f}ms{r['lag_max_ms']:>7.1f}ms"
                    f"{r['cpu_share']:>6.0%}{r['turns_per_s']:>9.1f}{r['scrapes']:>9}{r['renders']:>9}"
                    f"{r['render_median_ms']:>10.2f}ms{r['render_max_ms']:>10.2f}ms"
                )


if __name__ == "__main__":
    main()
