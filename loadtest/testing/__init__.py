"""Public helpers for testing code built on loadtest.

Adapter authors feed their parsers recorded bodies split at every byte
offset with `assert_split_invariant`, or drive them by hand with
`split_everywhere` and `feed_all`.

Engine users run stages against `FakeGateway` (an in-memory server that
answers every registered protocol per a `Script`) through `MemoryBackend`,
with no sockets and on trio's mock clock:
`open_engine(plan, backend=MemoryBackend(nursery, FakeGateway().serve))`.
"""

from __future__ import annotations

from loadtest.testing._adapters import assert_split_invariant, feed_all, split_everywhere
from loadtest.testing._gateway import FakeGateway, MemoryBackend, Received, Script

__all__ = [
    "FakeGateway",
    "MemoryBackend",
    "Received",
    "Script",
    "assert_split_invariant",
    "feed_all",
    "split_everywhere",
]
