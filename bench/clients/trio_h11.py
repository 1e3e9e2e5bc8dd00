"""A minimal trio + h11 chat-completions client: the reference for bench/engine_cpu.py.

N tasks, each with one keep-alive connection (`trio.open_tcp_stream`), send the
same prebuilt POST again and again until the duration is up (requests in flight
then finish). h11 writes each request from a prebuilt `h11.Request` and parses
each response. The work per answer is what any client that checks answers must
do, and no more:
- not streamed: `orjson.loads` of the body, the content and `usage` picked out;
- streamed: the de-chunked body split into SSE events at blank lines, every
  `data:` line `orjson.loads`-ed, content deltas counted, the `usage` chunk
  and `data: [DONE]` recognised.

Run (bench/engine_cpu.py does, pinned with taskset):

    .venv/bin/python bench/clients/trio_h11.py --request REQUEST.json \
        --connections 64 --duration 10 [--stream]

REQUEST.json: {"url": "http://127.0.0.1:PORT/path", "headers": [[name, value], ...],
"body": "<JSON text>"} (headers without Host and Content-Length). Prints one JSON
line: completed, errors, content_deltas, elapsed_s, and cpu_s (this process's
user+sys CPU over the load window only, for cross-checking the caller's
start-up subtraction). `--duration 0` opens the connections and sends nothing:
the start-up baseline.
"""

from __future__ import annotations

import resource
import sys
import urllib.parse
from typing import TYPE_CHECKING, Any

import h11
import orjson
import trio
from _shared import SSECounter, Tally, check_json_answer, parse_args

if TYPE_CHECKING:
    import argparse

_READ_SIZE = 65536


async def worker(
    host: str,
    port: int,
    request: h11.Request,
    body: bytes,
    stream: bool,
    deadline: float,
    tally: Tally,
) -> None:
    sock = await trio.open_tcp_stream(host, port)
    conn = h11.Connection(our_role=h11.CLIENT)
    data_event = h11.Data(data=body)
    end_event = h11.EndOfMessage()
    async with sock:
        while trio.current_time() < deadline:
            await sock.send_all(conn.send(request) + conn.send(data_event) + conn.send(end_event))
            status = 0
            sse = SSECounter() if stream else None
            parts: list[bytes] = []
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await sock.receive_some(_READ_SIZE))
                    continue
                kind = type(event)
                if kind is h11.Data:
                    if sse is not None:
                        sse.feed(event.data)
                    else:
                        parts.append(event.data)
                elif kind is h11.Response:
                    status = event.status_code
                elif kind is h11.EndOfMessage:
                    break
                elif kind is h11.ConnectionClosed:
                    raise RuntimeError("server closed the connection")
            if sse is not None:
                ok = status == 200 and sse.done and sse.usage and sse.deltas > 0
                tally.content_deltas += sse.deltas
            else:
                deltas = check_json_answer(b"".join(parts)) if status == 200 else 0
                ok = deltas > 0
                tally.content_deltas += deltas
            tally.completed += 1
            tally.errors += not ok
            conn.start_next_cycle()


async def main(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, object]:
    url = urllib.parse.urlsplit(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    target = url.path + (f"?{url.query}" if url.query else "")
    body = spec["body"].encode()
    headers = [("Host", url.netloc), *spec["headers"], ("Content-Length", str(len(body)))]
    request = h11.Request(method="POST", target=target, headers=headers)
    tally = Tally()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = trio.current_time()
    deadline = started + args.duration
    if args.duration > 0:
        async with trio.open_nursery() as nursery:
            for _ in range(args.connections):
                nursery.start_soon(worker, host, port, request, body, args.stream, deadline, tally)
    elapsed = trio.current_time() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    return {
        "client": "trio+h11",
        "completed": tally.completed,
        "errors": tally.errors,
        "content_deltas": tally.content_deltas,
        "elapsed_s": elapsed,
        "cpu_s": cpu,
    }


if __name__ == "__main__":
    arguments = parse_args("Minimal trio + h11 chat-completions load client (bench reference).")
    with open(arguments.request, "rb") as file:
        request_spec = orjson.loads(file.read())
    result = trio.run(main, arguments, request_spec)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
