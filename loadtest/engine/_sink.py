"""The JSONL sink: one line per finished turn, written in batches off the loop.

Rules:
- `write()` is sync and never waits: it serialises the record (orjson) and
  appends it to an in-memory batch. A full buffer drops the line and counts
  it (`overflow`) instead of ever blocking a VU.
- A flush task writes the batch every `flush_interval_s`, or sooner when it
  reaches `batch_lines`, in a worker thread, so file I/O never stalls the
  event loop. A crash loses at most the lines not yet flushed.
- `aclose()` flushes what is left and closes the file.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

import orjson
import trio

if TYPE_CHECKING:
    from pathlib import Path

    from loadtest.metrics import TurnRecord

__all__ = ["JsonlSink", "MemorySink"]


class JsonlSink:
    """Writes TurnRecords to a JSONL file; run `serve()` in the run's nursery."""

    def __init__(
        self,
        path: Path,
        *,
        batch_lines: int = 2000,
        max_buffer_lines: int = 200_000,
        flush_interval_s: float = 0.5,
    ) -> None:
        self.path = path
        self.batch_lines = batch_lines
        self.max_buffer_lines = max_buffer_lines
        self.flush_interval_s = flush_interval_s
        self.lines = 0
        self.overflow = 0
        self._buffer: list[bytes] = []
        self._wake = trio.Event()
        self._file: IO[bytes] | None = None

    def write(self, record: TurnRecord) -> None:
        """Queue one record (sync, never blocks; drops and counts when full)."""
        if len(self._buffer) >= self.max_buffer_lines:
            self.overflow += 1
            return
        self._buffer.append(orjson.dumps(record.to_json()) + b"\n")
        if len(self._buffer) >= self.batch_lines:
            self._wake.set()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the file, then flush batches until cancelled (then flush once more)."""
        self._file = await trio.to_thread.run_sync(self.path.open, "ab")
        task_status.started()
        try:
            while True:
                with trio.move_on_after(self.flush_interval_s):
                    await self._wake.wait()
                self._wake = trio.Event()
                await self._flush()
        finally:
            with trio.CancelScope(shield=True):
                await self.aclose()

    async def _flush(self) -> None:
        if not self._buffer or self._file is None:
            return
        batch, self._buffer = self._buffer, []
        data = b"".join(batch)
        file = self._file
        await trio.to_thread.run_sync(file.write, data)
        await trio.to_thread.run_sync(file.flush)
        self.lines += len(batch)

    async def aclose(self) -> None:
        """Flush what is left and close the file (idempotent)."""
        await self._flush()
        if self._file is not None:
            file, self._file = self._file, None
            await trio.to_thread.run_sync(file.close)


class MemorySink:
    """Keeps records in a list: for tests and library users who want them."""

    overflow = 0

    def __init__(self) -> None:
        self.records: list[TurnRecord] = []

    def write(self, record: TurnRecord) -> None:
        self.records.append(record)
