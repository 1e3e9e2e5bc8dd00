"""What both minimal bench clients share, so they do exactly the same work
per answer: the counters, the SSE event counter and the JSON-answer check,
and the command line. Imported by bench/clients/trio_h11.py and
bench/clients/aiohttp_client.py (run as scripts, this folder is on sys.path).
"""

from __future__ import annotations

import argparse

import orjson


class Tally:
    """Counters shared by all tasks (one thread: no locks)."""

    def __init__(self) -> None:
        self.completed = 0
        self.errors = 0
        self.content_deltas = 0
        self.usage = 0


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


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of both clients."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--request", required=True, help="REQUEST.json: url, headers, body")
    parser.add_argument("--connections", type=int, default=64, help="tasks/connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--stream", action="store_true", help="parse answers as SSE streams")
    return parser.parse_args(argv)
