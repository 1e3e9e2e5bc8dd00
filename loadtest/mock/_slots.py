"""The mock's capacity model: at most N generations at once, a FIFO queue.

`Slots(slots, queue)` stands for a server that generates for at most `slots`
requests at a time. A request that finds every slot busy waits in a queue,
first come first served; with `queue` set, a request that would make more
than `queue` wait is refused at once (`admits()` is False: the server
answers 429). `queue=None` is an unbounded queue.

Rules:
- Admission is decided when the request arrives (`admits()`), and the
  caller then `acquire()`s a slot without a checkpoint in between, so the
  queue never grows past `queue`.
- A slot freed while requests wait goes straight to the oldest of them
  (`trio.Semaphore` hands it over in FIFO order): a newcomer never jumps
  the queue.
- Whoever acquired a slot releases it however its answer ends (the server
  does so in a `finally`); a request cancelled while waiting leaves the
  queue and holds nothing.
- Each serving process has its own `Slots` (per worker, not shared).
"""

from __future__ import annotations

import trio

__all__ = ["Slots"]


class Slots:
    """At most `slots` holders at once; the rest wait in FIFO order, at most
    `queue` of them (None: no limit)."""

    def __init__(self, slots: int, queue: int | None) -> None:
        self.slots = slots
        self.queue = queue
        self._free = trio.Semaphore(slots)

    @property
    def busy(self) -> int:
        """Slots held now."""
        return self.slots - self._free.value

    @property
    def waiting(self) -> int:
        """Requests in the queue now (one handed a slot no longer counts)."""
        return self._free.statistics().tasks_waiting

    def admits(self) -> bool:
        """Whether a request arriving now may take a slot or wait for one."""
        return self._free.value > 0 or self.queue is None or self.waiting < self.queue

    async def acquire(self) -> None:
        """Wait (FIFO) for a slot and take it; cancelled, take none. Checkpoint."""
        await self._free.acquire()

    def release(self) -> None:
        """Give back a slot taken by `acquire`."""
        self._free.release()
