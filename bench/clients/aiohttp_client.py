"""A minimal asyncio + aiohttp chat-completions client: a reference for bench/engine_cpu.py.

The same shape as bench/clients/trio_h11.py: N tasks send the same prebuilt POST
again and again until the duration is up (requests in flight then finish),
through one `aiohttp.ClientSession` whose connector keeps N keep-alive
connections (limit N: each task holds one connection per request, as with one
connection per task). aiohttp parses HTTP with its C parser (llhttp). The work
per answer is the same as trio_h11.py's:
- not streamed: `orjson.loads` of the body, the content and `usage` picked out;
- streamed: the body (`resp.content.iter_any()`) split into SSE events at blank
  lines, every `data:` line `orjson.loads`-ed, content deltas counted, the
  `usage` chunk and `data: [DONE]` recognised.

Run (bench/engine_cpu.py does, pinned with taskset; aiohttp is a bench-only
dependency: `.venv/bin/pip install aiohttp`):

    .venv/bin/python bench/clients/aiohttp_client.py --request REQUEST.json \
        --connections 64 --duration 10 [--stream]

REQUEST.json and the JSON line printed are as for trio_h11.py. `--duration 0`
sends nothing: the start-up baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from typing import Any

import aiohttp
import orjson


class Tally:
    """Counters shared by all tasks (one thread: no locks)."""

    def __init__(self) -> None:
        self.completed = 0
        self.errors = 0
        self.content_deltas = 0


class SSECounter:
    """Splits a streamed body into SSE events and looks at each JSON chunk."""

    __slots__ = ("buf", "deltas", "done", "usage")

    def __init__(self) -> None:
        self.buf = b""
        self.deltas = 0
        self.usage = False
        self.done = False

    def feed(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            event = buf[start:end]
            start = end + 2
            if not event.startswith(b"data: "):
                continue
            payload = event[6:]
            if payload == b"[DONE]":
                self.done = True
                continue
            chunk = orjson.loads(payload)
            choices = chunk.get("choices")
            if choices:
                if choices[0].get("delta", {}).get("content"):
                    self.deltas += 1
            elif chunk.get("usage"):
                self.usage = True
        self.buf = buf[start:]


def check_json_answer(body: bytes) -> int:
    """Content deltas in a non-streamed answer: 1 if it has content and usage."""
    answer = orjson.loads(body)
    content = answer["choices"][0]["message"].get("content")
    return 1 if content and answer.get("usage") else 0


async def worker(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    stream: bool,
    deadline: float,
    tally: Tally,
) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        async with session.post(url, data=body, headers=headers) as response:
            status = response.status
            if stream:
                sse = SSECounter()
                async for data in response.content.iter_any():
                    sse.feed(data)
                ok = status == 200 and sse.done and sse.usage and sse.deltas > 0
                tally.content_deltas += sse.deltas
            else:
                answer = await response.read()
                deltas = check_json_answer(answer) if status == 200 else 0
                ok = deltas > 0
                tally.content_deltas += deltas
        tally.completed += 1
        tally.errors += not ok


async def main(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, object]:
    url = spec["url"]
    body = spec["body"].encode()
    headers = dict(spec["headers"])
    tally = Tally()
    loop = asyncio.get_running_loop()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = loop.time()
    deadline = started + args.duration
    if args.duration > 0:
        connector = aiohttp.TCPConnector(limit=args.connections, limit_per_host=args.connections)
        timeout = aiohttp.ClientTimeout(total=60)
        session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        async with session, asyncio.TaskGroup() as group:
            for _ in range(args.connections):
                group.create_task(worker(session, url, headers, body, args.stream, deadline, tally))
    elapsed = loop.time() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    return {
        "client": "aiohttp",
        "completed": tally.completed,
        "errors": tally.errors,
        "content_deltas": tally.content_deltas,
        "elapsed_s": elapsed,
        "cpu_s": cpu,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Minimal asyncio + aiohttp chat-completions load client (bench reference)."
    )
    parser.add_argument("--request", required=True, help="REQUEST.json: url, headers, body")
    parser.add_argument("--connections", type=int, default=64, help="tasks/connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--stream", action="store_true", help="parse answers as SSE streams")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    with open(arguments.request, "rb") as file:
        request_spec = orjson.loads(file.read())
    result = asyncio.run(main(arguments, request_spec))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
