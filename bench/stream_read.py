"""Benchmark: one streamed read's whole effect, in process, ours next to an older tree.

What the shared reader does with each read of a stream at a real pace, without
the socket: `Reading.take` (HTTP/1.1 de-framing, TTFB, body cap, completion)
feeding the turn's listener (`_Listener.on_body`: the protocol's parser, TTFT,
per-token gaps). Each read is one HTTP chunk holding one SSE event, as the
mock (`loadtest mock`) sends them: its role/opening events, 128 content
deltas, its closing events; 131 reads per stream with the head. With
`--per-read K`, each read holds K chunks instead (as at full speed, when
the reader falls behind the server); figures stay per chunk.

Two measures, for each protocol and each tree (`ours`: this checkout;
`before`: a `git archive` of an older commit, `--before DIR`), each in its
own interpreter (PYTHONPATH):
- instructions per read (`--valgrind`): valgrind's callgrind count for N
  streams minus the count for none (start-up and imports cancel out).
  Deterministic: the same on a busy machine, which the 2 shared cores of
  this project's machine always are.
- CPU µs per read (`time.process_time`), best of `--repeat`, rounds
  interleaved, pinned to `--core`: noisy when other processes share the core.

Run: .venv/bin/python bench/stream_read.py --before /tmp/old [--valgrind] [--rounds 3]
     [--per-read K] [--protocols openai-chat,...]
(the child mode, `--child PROTOCOL STREAMS REPEAT PER_READ`, is what each run executes)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOCOLS = ("openai-chat", "anthropic", "openai-responses")
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
TOKENS = 128


def child(protocol: str, streams: int, repeat: int, per_read: int) -> None:
    """Read `streams` streams `repeat` times; print the best µs per chunk."""
    from loadtest.engine._reading import Reading
    from loadtest.engine._transport import Exchange
    from loadtest.engine._turn import _Listener
    from loadtest.protocol import Usage, get_adapter

    adapter = get_adapter(protocol)()
    codec = adapter.server_codec()
    assert codec is not None
    renderer = codec.open_stream(
        "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "m", 1, Usage(9, None, 0)
    )
    events = [renderer.head()] + [renderer.delta(f" word{i}") for i in range(TOKENS)]
    events.append(renderer.tail("stop", Usage(9, TOKENS, 0)))
    chunks = [b"%x\r\n%s\r\n" % (len(event), event) for event in events] + [b"0\r\n\r\n"]
    reads = [b"".join(chunks[at : at + per_read]) for at in range(0, len(chunks), per_read)]
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(streams):
            listener = _Listener(adapter, True)
            reading = Reading(listener, Exchange(), 0.0, 1e9, max_bytes=1 << 30, keepalive=True)
            reading.take(HEAD, 0.1)
            take = reading.take
            stamp = 1.0
            for data in reads:
                stamp += 0.05
                take(data, stamp)
            listener.end(stamp)
            assert len(listener.reply) == TOKENS, listener.error
        reads_done = streams * (len(chunks) + 1)
        best = min(best, (time.process_time() - started) / max(reads_done, 1))
    print(f"{best * 1e6:.3f}")


def run(tree: Path, protocol: str, streams: int, args: argparse.Namespace, valgrind: bool) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    repeat = 1 if valgrind else args.repeat
    cmd = [sys.executable, __file__, "--child", protocol, str(streams), str(repeat)]
    cmd.append(str(args.per_read))
    if valgrind:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd]
    done = subprocess.run(
        ["taskset", "-c", str(args.core), *cmd], env=env, capture_output=True, text=True, check=True
    )
    if valgrind:
        found = re.search(r"Collected : (\d+)", done.stderr)
        assert found is not None, done.stderr[-500:]
        return float(found.group(1))
    return float(done.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an older source tree (required)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=300, help="streams per timed run (300)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per round, best kept")
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--valgrind", action="store_true", help="also count instructions")
    parser.add_argument("--per-read", type=int, default=1, help="chunks per read (1)")
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--child", nargs=4, metavar=("PROTOCOL", "STREAMS", "REPEAT", "PER_READ"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]), int(args.child[3]))
        return 0
    if args.before is None:
        parser.error("--before DIR is required")
    trees = {"ours": ROOT, "before": args.before.resolve()}
    print(
        f"stream_read: core {args.core}, {args.per_read} chunk(s) per read,"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    for protocol in args.protocols.split(","):
        if args.valgrind:
            counts = {}
            for name, tree in trees.items():
                streams = 20
                full = run(tree, protocol, streams, args, valgrind=True)
                empty = run(tree, protocol, 0, args, valgrind=True)
                counts[name] = (full - empty) / (streams * (TOKENS + 4))
            ratio = counts["ours"] / counts["before"]
            shown = ", ".join(f"{name} {count:,.0f}" for name, count in counts.items())
            print(f"{protocol:17} instructions per chunk: {shown}; ours/before {ratio:.2f}x")
        times: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                times[name].append(run(tree, protocol, args.streams, args, valgrind=False))
        medians = {name: statistics.median(values) for name, values in times.items()}
        shown = ", ".join(
            f"{name} {medians[name]:.2f} ({' '.join(f'{v:.2f}' for v in values)})"
            for name, values in times.items()
        )
        ratio = medians["ours"] / medians["before"]
        print(
            f"{protocol:17} CPU µs per chunk, median of rounds: {shown}; ours/before {ratio:.2f}x"
        )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
