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

import asyncio
import resource
import sys
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from _shared import SSECounter, Tally, check_json_answer, parse_args

if TYPE_CHECKING:
    import argparse


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


if __name__ == "__main__":
    arguments = parse_args(
        "Minimal asyncio + aiohttp chat-completions load client (bench reference)."
    )
    with open(arguments.request, "rb") as file:
        request_spec = orjson.loads(file.read())
    result = asyncio.run(main(arguments, request_spec))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
