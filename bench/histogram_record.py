"""Benchmark: loadtest's Histogram against hdrh (HdrHistogram_py).

Measures µs per `record()` against hdrh's `record_value` over realistic values
(log-normal request latencies 1 ms-10 s and inter-token latencies 5-50 ms, in
µs), best of several runs, then the report-time operations (percentiles, mean,
encode, decode, merge) and the memory one histogram holds. Each figure includes
the Python `for` loop; the "loop only" column is that loop calling a no-op.

Run: .venv/bin/python bench/histogram_record.py [--n 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

from hdrh.histogram import HdrHistogram

from loadtest.metrics._histogram import DEFAULT_HIGHEST_US, Histogram

if TYPE_CHECKING:
    from collections.abc import Callable

PERCENTILES = [50.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0]


def lognormal_us(n: int, median_us: float, sigma: float, low: int, high: int) -> list[int]:
    """`n` log-normal integer values clipped to [low, high] (seeded: reproducible)."""
    rng = random.Random(20261128)
    mu = math.log(median_us)
    return [min(max(int(rng.lognormvariate(mu, sigma)), low), high) for _ in range(n)]


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    """The fastest of `repeat` runs of `run`, in seconds."""
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def time_records(values: list[int], repeat: int) -> tuple[float, float, float]:
    """µs per call for: the bare loop, Histogram.record, hdrh record_value."""

    def noop(value: int) -> None:
        pass

    def loop(record: Callable[[int], object]) -> Callable[[], None]:
        def run() -> None:
            for value in values:
                record(value)

        return run

    ours, ref = Histogram(), HdrHistogram(1, DEFAULT_HIGHEST_US, 3)
    results = [
        best_of(repeat, loop(record)) / len(values) * 1e6
        for record in (noop, ours.record, ref.record_value)
    ]
    if bytes(ours.to_hdr().counts) != bytes(ref.counts):
        raise SystemExit("counts differ from hdrh: the benchmark is invalid")
    return results[0], results[1], results[2]


def memory_kib(values: list[int]) -> float:
    """KiB allocated by one Histogram holding `values` (counts list and int objects)."""
    gc.collect()
    tracemalloc.start()
    hist = Histogram()
    for value in values:
        hist.record(value)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size / 1024


def report_ops(values: list[int], repeat: int) -> list[tuple[str, float, float]]:
    """(operation, loadtest ms, hdrh ms) for the report-time operations."""
    ours, ref = Histogram(), HdrHistogram(1, DEFAULT_HIGHEST_US, 3)
    for value in values:
        ours.record(value)
        ref.record_value(value)
    text, other, ref_other = ours.encode(), ours.copy(), HdrHistogram.decode(ref.encode())
    pairs: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            f"percentiles ({len(PERCENTILES)} at once)",
            lambda: ours.percentiles(PERCENTILES),
            lambda: ref.get_percentile_to_value_dict(PERCENTILES),
        ),
        (
            "one percentile (p99)",
            lambda: ours.percentiles([99.0]),
            lambda: ref.get_value_at_percentile(99.0),
        ),
        ("mean", lambda: ours.mean, ref.get_mean_value),
        (
            "min + max",
            lambda: (ours.min, ours.max),
            lambda: (ref.get_min_value(), ref.get_max_value()),
        ),
        ("encode", ours.encode, ref.encode),
        ("decode", lambda: Histogram.decode(text), lambda: HdrHistogram.decode(text)),
        ("merge (add)", lambda: ours.merge(other), lambda: ref.add(ref_other)),
    ]
    return [
        (name, best_of(repeat, mine) * 1e3, best_of(repeat, theirs) * 1e3)
        for name, mine, theirs in pairs
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="values per dataset")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (best kept)")
    args = parser.parse_args()
    datasets = {
        "latency 1 ms-10 s": lognormal_us(args.n, 150_000, 1.3, 1_000, 10_000_000),
        "ITL 5-50 ms": lognormal_us(args.n, 15_000, 0.5, 5_000, 50_000),
    }
    print(f"record() per call, {args.n:,} values, best of {args.repeat} (µs per call)")
    print(f"{'dataset':<20}{'loop only':>10}{'loadtest':>10}{'hdrh':>10}{'hdrh/ours':>11}")
    for name, values in datasets.items():
        bare, ours, ref = time_records(values, args.repeat)
        print(f"{name:<20}{bare:>10.3f}{ours:>10.3f}{ref:>10.3f}{ref / ours:>10.1f}x")

    print("\nmemory of one histogram holding the dataset (hdrh: 184 KiB at any fill)")
    for name, values in datasets.items():
        print(f"{name:<20}{memory_kib(values):>8.0f} KiB")

    latency = datasets["latency 1 ms-10 s"]
    print(f"\nreport-time operations on the latency histogram, best of {args.repeat} (ms)")
    print(f"{'operation':<26}{'loadtest':>10}{'hdrh':>10}")
    for name, ours_ms, ref_ms in report_ops(latency, args.repeat):
        print(f"{name:<26}{ours_ms:>10.3f}{ref_ms:>10.3f}")
    hist = Histogram()
    for value in latency:
        hist.record(value)
    print(f"\nencoded size: {len(Histogram().encode())} B empty, {len(hist.encode()):,} B latency")


if __name__ == "__main__":
    main()
