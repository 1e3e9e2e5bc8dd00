"""Helpers for testing protocol adapters at every chunk boundary.

Streaming bugs live where reads split the bytes: mid-line, mid-`\\r\\n`,
mid-UTF-8 character. A parser must yield the same events in the same order
however its input was split; these helpers feed a recorded body whole, split
in two at every byte offset, and one byte at a time, and compare.

Pure and sync; usable from any test framework (failures raise
`AssertionError`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from loadtest.protocol import Event, ResponseParser

__all__ = ["assert_split_invariant", "feed_all", "split_everywhere"]


def split_everywhere(data: bytes) -> Iterator[list[bytes]]:
    """Every way of cutting `data` into two reads (one per byte offset,
    including an empty first or last read), then `data` one byte per read."""
    for offset in range(len(data) + 1):
        yield [data[:offset], data[offset:]]
    yield [data[index : index + 1] for index in range(len(data))]


def feed_all(parser: ResponseParser, chunks: Iterable[bytes]) -> list[Event]:
    """Feed each chunk to `parser`, then end it; every event, in order."""
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.end())
    return events


def assert_split_invariant(make_parser: Callable[[], ResponseParser], data: bytes) -> list[Event]:
    """Assert that a fresh parser from `make_parser` yields the same events
    for `data` however it is split (see `split_everywhere`); return them."""
    reference = feed_all(make_parser(), [data])
    for chunks in split_everywhere(data):
        events = feed_all(make_parser(), chunks)
        if events != reference:
            sizes = [len(chunk) for chunk in chunks]
            shape = f"reads of {sizes} bytes" if len(sizes) <= 4 else f"{len(sizes)} 1-byte reads"
            raise AssertionError(
                f"events differ when the body is fed as {shape}:\n"
                f"  whole: {reference!r}\n  split: {events!r}"
            )
    return reference
