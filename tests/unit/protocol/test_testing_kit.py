"""loadtest.testing: the public helpers adapter authors test with."""

from __future__ import annotations

import pytest

import loadtest.testing
from loadtest.protocol import ContentDelta, Event, ResponseParser
from loadtest.testing import assert_split_invariant, feed_all, split_everywhere


class _PerRead(ResponseParser):
    """A deliberately wrong parser: one event per read, so splits matter."""

    def feed(self, data: bytes) -> list[Event]:
        return [ContentDelta(data.decode())] if data else []

    def end(self) -> list[Event]:
        return []


def test_public_surface() -> None:
    """loadtest.testing exports the adapter helpers beside the fake gateway."""
    exported = set(loadtest.testing.__all__)
    assert {"assert_split_invariant", "feed_all", "split_everywhere"} <= exported
    assert {"FakeGateway", "MemoryBackend", "Script"} <= exported
    assert loadtest.testing.__doc__


def test_split_everywhere_covers_every_offset() -> None:
    """Every two-read split, then one byte per read; each rejoins to the input."""
    splits = list(split_everywhere(b"abc"))
    assert splits == [
        [b"", b"abc"],
        [b"a", b"bc"],
        [b"ab", b"c"],
        [b"abc", b""],
        [b"a", b"b", b"c"],
    ]


def test_feed_all_feeds_then_ends() -> None:
    """feed_all returns the events of every feed, then of end()."""
    assert feed_all(_PerRead(), [b"a", b"", b"b"]) == [ContentDelta("a"), ContentDelta("b")]


def test_assert_split_invariant_catches_a_split_dependent_parser() -> None:
    """A parser whose events depend on the split fails with a message
    showing both event lists."""
    with pytest.raises(AssertionError, match=r"fed as reads of \[1, 2\] bytes"):
        assert_split_invariant(_PerRead, b"abc")
    with pytest.raises(AssertionError, match="fed as 5 1-byte reads"):
        assert_split_invariant(lambda: _OnlyShortReadsDiffer(), b"abcde")


class _OnlyShortReadsDiffer(_PerRead):
    """Correct for two-read splits; wrong only when fed byte by byte."""

    def __init__(self) -> None:
        self._reads = 0

    def feed(self, data: bytes) -> list[Event]:
        self._reads += 1
        return [ContentDelta("tiny")] if self._reads == 5 else []

    def end(self) -> list[Event]:
        return []
