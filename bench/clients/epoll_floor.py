"""The floor of a Python streaming client: one level-triggered epoll, no
event loop, no task, no timestamps; the same per-answer checks as the other
minimal clients. For bench/real_pace.py ("epoll-floor").

N non-blocking keep-alive connections on one `select.epoll`; each sends the
prebuilt POST, and every readable socket is read once per `poll()` with
`recv_into` into one reused buffer. The HTTP/1.1 head is skipped, the
chunked body is de-chunked by a small state machine, and the de-chunked
bytes go to `_shared.SSECounter` (the SSE split, `orjson.loads` of every
`data:` line, content deltas and `usage` counted, `[DONE]` recognised) as
for trio+h11 and aiohttp. When a body ends (the `0` chunk), the next
request goes out on the same connection until the duration is up.

What it leaves out, on purpose: everything a measuring client adds (a
timestamp per read, per-token gaps, histograms, records, timeouts,
cancellation, connection reuse rules, error classes). So its CPU per event is
what one Python process pays for one `epoll_wait` share, one `recv` and one
event's parse; no Python client that reads each event when it arrives can do
less per event.

Run (bench/real_pace.py does, pinned with taskset):

    .venv/bin/python bench/clients/epoll_floor.py --request REQUEST.json \
        --connections 500 --duration 15 --stream

Prints one JSON line like the other clients (completed, errors,
content_deltas, elapsed_s, cpu_s).
"""

from __future__ import annotations

import os
import resource
import select
import socket
import sys
import time
import urllib.parse

import orjson
from _shared import SSECounter, Tally, parse_args

_READ_SIZE = 65536


class _Conn:
    """One connection and the response being read on it."""

    __slots__ = ("counter", "crlf", "head_done", "left", "sock", "wire")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reset()

    def reset(self) -> None:
        self.wire = b""  # bytes held: a head or a size line not yet whole
        self.head_done = False
        self.left = 0  # data bytes left in the current chunk
        self.crlf = 0  # bytes of the CRLF after a chunk's data left
        self.counter = SSECounter()

    def take(self, data: bytes) -> bool:
        """Feed one read; True when the response ended."""
        wire = self.wire + data if self.wire else data
        self.wire = b""
        pos = 0
        if not self.head_done:
            end = wire.find(b"\r\n\r\n")
            if end < 0:
                self.wire = wire
                return False
            if not wire.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"bad status: {wire[:40]!r}")
            self.head_done = True
            pos = end + 4
        size = len(wire)
        while pos < size:
            if self.left:
                take = min(self.left, size - pos)
                self.counter.feed(wire[pos : pos + take])
                self.left -= take
                pos += take
                if not self.left:
                    self.crlf = 2
            elif self.crlf:
                take = min(self.crlf, size - pos)
                self.crlf -= take
                pos += take
            else:
                line_end = wire.find(b"\r\n", pos)
                if line_end < 0:
                    self.wire = wire[pos:]
                    break
                chunk = int(wire[pos:line_end].split(b";", 1)[0], 16)
                pos = line_end + 2
                if chunk == 0:
                    return True  # the mock sends no trailers
                self.left = chunk
        return False


def run(
    host: str, port: int, request: bytes, connections: int, duration_s: float, gather_s: float
) -> Tally:
    tally = Tally()
    epoll = select.epoll()
    conns: dict[int, _Conn] = {}
    for _ in range(connections):
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        conn = _Conn(sock)
        conns[sock.fileno()] = conn
        epoll.register(sock.fileno(), select.EPOLLIN)
        sock.sendall(request)
    buffer = bytearray(_READ_SIZE)
    view = memoryview(buffer)
    deadline = time.monotonic() + duration_s
    while conns:
        if gather_s:
            time.sleep(gather_s)  # let arrivals gather, as ours does between batches
        for fd, _mask in epoll.poll(1.0):
            conn = conns[fd]
            try:
                size = conn.sock.recv_into(buffer)
            except BlockingIOError:
                continue
            if not size:
                raise RuntimeError("server closed the connection")
            if not conn.take(view[:size].tobytes()):
                continue
            sse = conn.counter
            ok = sse.done and sse.usage and sse.deltas > 0
            tally.content_deltas += sse.deltas
            tally.completed += 1
            tally.errors += not ok
            if time.monotonic() < deadline:
                conn.reset()
                conn.sock.sendall(request)
            else:
                epoll.unregister(fd)
                conn.sock.close()
                del conns[fd]
    epoll.close()
    return tally


def main() -> None:
    args = parse_args("The floor of a Python streaming client: one epoll, no loop (bench).")
    gather_s = float(os.environ.get("FLOOR_GATHER_MS", "2")) / 1000
    with open(args.request, "rb") as file:
        spec = orjson.loads(file.read())
    url = urllib.parse.urlsplit(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    target = url.path + (f"?{url.query}" if url.query else "")
    body = spec["body"].encode()
    lines = [f"POST {target} HTTP/1.1", f"Host: {url.netloc}"]
    lines += [f"{name}: {value}" for name, value in spec["headers"]]
    lines += [f"Content-Length: {len(body)}", "", ""]
    request = "\r\n".join(lines).encode("latin-1") + body
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    tally = (
        run(host, port, request, args.connections, args.duration, gather_s)
        if args.duration > 0
        else Tally()
    )
    elapsed = time.monotonic() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    result = {
        "client": "epoll-floor",
        "completed": tally.completed,
        "errors": tally.errors,
        "content_deltas": tally.content_deltas,
        "elapsed_s": elapsed,
        "cpu_s": cpu,
    }
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
