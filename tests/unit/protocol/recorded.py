"""Recorded response bodies (hand-written from each API's documentation) and
the line-ending variants the adapters must read the same."""

from __future__ import annotations

import itertools
from pathlib import Path

from loadtest.protocol import ResponseParser, get_adapter

RECORDINGS = Path(__file__).parent / "recordings"


def recording(name: str) -> bytes:
    """The bytes of `recordings/<name>`."""
    return (RECORDINGS / name).read_bytes()


def with_crlf(data: bytes) -> bytes:
    """`data` with every line ending spelled `\\r\\n`."""
    return data.replace(b"\n", b"\r\n")


def with_cr(data: bytes) -> bytes:
    """`data` with every line ending spelled as a lone `\\r`."""
    return data.replace(b"\n", b"\r")


def stream_parser(protocol: str) -> ResponseParser:
    """A parser for a 200 `text/event-stream` answer to a streamed request."""
    headers = {"content-type": "text/event-stream; charset=utf-8"}
    return get_adapter(protocol)().open_response(200, headers, True)


def body_parser(protocol: str) -> ResponseParser:
    """A parser for a 200 `application/json` answer to a non-streamed request."""
    return get_adapter(protocol)().open_response(200, {"content-type": "application/json"}, False)


def cut(data: bytes, offsets: list[int]) -> list[bytes]:
    """`data` cut into reads at the given offsets (any order, repeats allowed)."""
    edges = [0, *sorted(offsets), len(data)]
    return [data[start:end] for start, end in itertools.pairwise(edges)]
