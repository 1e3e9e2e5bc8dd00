"""What building one request and one JSONL line costs, step by step, in process.

Steps of a sized prompt (`perf-hotpath-nonstream.json`: ~12,500 words, ~71.5 KB),
as the engine runs them per turn: the pool slice (`TextPool.take`), the
conversation id (`random_uuid`), the UUID placed first (`place_uuid`), the
openai-chat body (`build_request`: orjson), and the head (`RequestTemplate`-like
prefix + Content-Length, joined with the body as the engine did before it wrote
head and body with one `sendmsg`). Then the per-turn record: `TurnRecord(...)`,
`TurnRecord.to_json()` and the sink's line (`JsonlSink.write`: `to_json`,
orjson and the newline; it only queues the line, no file is opened).

The last 64 results stay alive (64 turns in flight, as in bench/engine_cpu.py),
so copies read and write memory the way a real run does: a step that copies a
cold 71.5 KB slice costs several times what `timeit` on one hot string says.

    taskset -c 0 .venv/bin/python bench/request_build.py [--turns N] [--words N]
    PYTHONPATH=/tmp/old taskset -c 0 .venv/bin/python bench/request_build.py   # an older tree

Prints µs per step (mean over --turns, best of --repeat runs).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

from loadtest.engine._content import TextPool, place_uuid, random_uuid
from loadtest.engine._sink import JsonlSink
from loadtest.metrics import Phases, TurnRecord
from loadtest.protocol import Conversation, Message
from loadtest.protocol.openai_chat import OpenAIChatAdapter

PREFIX = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
    b"Content-Type: application/json\r\nAccept: application/json\r\n"
    b"Authorization: Bearer bench\r\nUser-Agent: loadtest\r\n"
)
LIVE = 64


def prompt_steps(words: int, turns: int) -> dict[str, float]:
    pool = TextPool(0)
    pool.build()
    rng, ids = random.Random(1), random.Random(2)
    adapter = OpenAIChatAdapter()
    live: list[object] = [None] * LIVE
    totals = dict.fromkeys(("take", "uuid", "place_uuid", "body (orjson)", "head+body join"), 0.0)
    clock = time.perf_counter
    for i in range(turns):
        t0 = clock()
        text = pool.take(rng, words)
        t1 = clock()
        uuid = random_uuid(ids)
        t2 = clock()
        text = place_uuid(text, True, False, "bust", uuid)
        t3 = clock()
        conversation = Conversation(
            model="gpt-4o-mini",
            messages=(Message("user", text),),
            max_tokens=64,
            temperature=0,
        )
        body = adapter.build_request(conversation).body
        t4 = clock()
        payload = b"".join((PREFIX, f"Content-Length: {len(body)}\r\n\r\n".encode(), body))
        t5 = clock()
        live[i % LIVE] = (text, body, payload)
        for name, spent in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            totals[name] += spent
    return {name: spent / turns * 1e6 for name, spent in totals.items()}


def record_steps(turns: int) -> dict[str, float]:
    fields: dict[str, Any] = {
        "stage": 0,
        "scenario": "chat",
        "scenario_index": 0,
        "conversation": "3f2a9c1e-0000-4000-8000-000000000000",
        "turn": 1,
        "stream": False,
        "start_unix_s": 1764430000.123456,
        "warmup": False,
        "outcome": "ok",
        "request_id": "3f2a9c1e-0000-4000-8000-000000000000-t1",
        "status": 200,
        "latency_us": 812,
        "ttfb_us": 790,
        "chunks": 1,
        "prompt_tokens": 131,
        "completion_tokens": 128,
        "content_chars": 700,
    }
    totals = dict.fromkeys(("TurnRecord()", "to_json()", "JsonlSink.write()"), 0.0)
    sink = JsonlSink(Path("/nonexistent/never-opened.jsonl"), max_buffer_lines=turns + 1)
    clock = time.perf_counter
    for _ in range(turns):
        t0 = clock()
        record = TurnRecord(**fields, phases=Phases(write_us=12, wait_us=700, transfer_us=20))
        t1 = clock()
        record.to_json()
        t2 = clock()
        sink.write(record)  # queues the line only: to_json, orjson, newline
        t3 = clock()
        for name, spent in zip(totals, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            totals[name] += spent
    return {name: spent / turns * 1e6 for name, spent in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10_000, help="turns per run (10000)")
    parser.add_argument("--words", type=int, default=12_500, help="prompt words (12500)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is shown (3)")
    args = parser.parse_args(argv)
    prompt = [prompt_steps(args.words, args.turns) for _ in range(args.repeat)]
    record = [record_steps(args.turns * 5) for _ in range(args.repeat)]
    print(f"request_build: {args.words:,}-word prompt, {LIVE} alive; µs per turn, best of runs")
    for runs in (prompt, record):
        for name in runs[0]:
            print(f"  {name:26s} {min(run[name] for run in runs):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
