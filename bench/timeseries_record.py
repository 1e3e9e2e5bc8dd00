"""Benchmark: what the per-second time series adds to `StageRecorder.record`.

Times `record()` of a `StageRecorder` over realistic turns (ok turns of 16
inter-token gaps, one in ten an error, starts spread over `--seconds`
wall-clock seconds, recorded in the order they end), then the same turns into the time series alone
(`SeriesRecorder.record`), best of several runs; and the memory the series
holds per second of stage (tracemalloc, while recording: the live
seconds' histograms and the encoded ones), the summary's JSON per second,
and one live 2-figure histogram.

Run: .venv/bin/python bench/timeseries_record.py [--n 200000] [--seconds 3600] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

import orjson

from loadtest.metrics import Histogram, SeriesRecorder, StageRecorder, TurnRecord
from loadtest.metrics._timeseries import SECOND_FIGURES
from loadtest.report._document import summary_converter
from loadtest.report._summary import series_docs

if TYPE_CHECKING:
    from collections.abc import Callable


def turns(n: int, seconds: int) -> list[TurnRecord]:
    """`n` turns starting over `seconds` seconds (seeded: reproducible)."""
    rng = random.Random(20261129)
    made = []
    for i in range(n):
        failed = i % 10 == 9
        made.append(
            TurnRecord(
                stage=0,
                scenario="chat",
                scenario_index=0,
                conversation="c",
                turn=1,
                stream=True,
                start_unix_s=1_800_000_000 + rng.random() * seconds,
                warmup=False,
                outcome="error" if failed else "ok",
                error_class="http_5xx" if failed else None,
                status=503 if failed else 200,
                latency_us=rng.randrange(50_000, 3_000_000),
                ttfb_us=None if failed else 40_000,
                ttft_us=None if failed else 50_000,
                tpot_us=None if failed else 5_000,
                itl_gaps_us=()
                if failed
                else tuple(rng.randrange(1_000, 20_000) for _ in range(16)),
                completion_tokens=None if failed else 17,
            )
        )
    # recorded as they end, as the engine records them
    made.sort(key=lambda t: t.start_unix_s + (t.latency_us or 0) / 1e6)
    return made


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sample = turns(args.n, args.seconds)

    def stage() -> None:
        record = StageRecorder(["chat"]).record
        for one in sample:
            record(one)

    def series() -> None:
        record = SeriesRecorder().record
        for one in sample:
            record(one)

    def loop() -> None:
        for _one in sample:
            pass

    loop_s = best_of(args.repeat, loop)
    stage_s = best_of(args.repeat, stage)
    series_s = best_of(args.repeat, series)
    per = 1e6 / args.n
    print(f"{args.n} turns over {args.seconds} s, best of {args.repeat}, µs per turn:")
    print(f"  StageRecorder.record (time series included) {(stage_s - loop_s) * per:6.3f}")
    print(f"  of which SeriesRecorder.record               {(series_s - loop_s) * per:6.3f}")

    tracemalloc.start()
    recorder = SeriesRecorder()
    for one in sample:
        recorder.record(one)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    series = recorder.series()
    buckets = len(series)
    print(
        f"  recorder memory: {held / 1024:.0f} KiB (peak {peak / 1024:.0f}) for {buckets} "
        f"seconds, {held / buckets:.0f} bytes per second, "
        f"{held * 3600 / buckets / 2**20:.2f} MiB per hour"
    )
    text = orjson.dumps(summary_converter.unstructure(series_docs(series)))
    print(f"  summary JSON: {len(text) / buckets:.0f} bytes per second (compact)")
    live = Histogram(significant_figures=SECOND_FIGURES)
    for value in range(1_000, 3_000_000, 1_000):
        live.record(value)
    tracemalloc.start()
    live = live.copy()
    live_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  one live 2-figure histogram up to 3 s: {live_bytes} bytes")


if __name__ == "__main__":
    main()
