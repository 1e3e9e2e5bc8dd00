"""Public helpers for testing code built on loadtest.

Adapter authors feed their parsers recorded bodies split at every byte
offset with `assert_split_invariant`, or drive them by hand with
`split_everywhere` and `feed_all`.
"""

from __future__ import annotations

from loadtest.testing._adapters import assert_split_invariant, feed_all, split_everywhere

__all__ = ["assert_split_invariant", "feed_all", "split_everywhere"]
