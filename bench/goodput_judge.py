"""Benchmark: what judging a turn against SLOs costs (`is_good`, called once
per completed steady turn by `StageRecorder.record` when the run has SLOs).

Times `is_good` on an ok streamed turn of 128 tokens (127 inter-token gaps,
open loop: with a schedule lag) for a few SLO sets, best of several runs.

Run: .venv/bin/python bench/goodput_judge.py [--n 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import timeit

from loadtest.config import parse_slos
from loadtest.metrics import TurnRecord, is_good

SLO_SETS = (
    "ttft<=300ms,latency<=10s",
    "ttft<=300ms,latency<=10s,tpot<=20ms",
    "ttft<=300ms,latency<=10s,itl_p99<=50ms",
    "itl_max<=50ms",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    turn = TurnRecord(
        stage=0,
        scenario="a",
        scenario_index=0,
        conversation="c",
        turn=1,
        stream=True,
        start_unix_s=0.0,
        warmup=False,
        outcome="ok",
        latency_us=700_000,
        ttfb_us=40_000,
        ttft_us=50_000,
        tpot_us=5_000,
        itl_gaps_us=tuple(range(4_000, 4_127)),
        lag_us=100,
    )
    for text in SLO_SETS:
        slos = parse_slos([text])
        runs = timeit.repeat(
            lambda slos=slos: is_good(slos, turn), number=args.n, repeat=args.repeat
        )
        print(f"{text}: {min(runs) / args.n * 1e6:.2f} µs per turn")


if __name__ == "__main__":
    main()
