"""The JSONL sink: one line per finished turn, written in batches off the loop.

Rules:
- `write()` is sync and never waits: it serialises the record (orjson) and
  appends it to an in-memory batch. A full buffer drops the line and counts
  it (`overflow`) instead of ever blocking a VU.
- A flush task writes the batch every `flush_interval_s`, or sooner when it
  reaches `batch_lines`, in a worker thread, so file I/O never stalls the
  event loop. A crash loses at most the lines not yet flushed; a stop
  (cancellation) never loses a batch taken for writing.
- A file that cannot be opened or written (a full disk) never stops the
  run: writing stops for good, a line cut in the middle is cut back so the
  file holds whole lines only, and every line not written from then on is
  counted (`lost`). `error` says what failed; `on_failure` hears it at once.
- `aclose()` flushes what is left, closes the file and ends `serve()`, so a
  script never blocks on a sink it closed. `open_jsonl_sink(path)` is the
  whole lifecycle in one block: served from the start, closed at the end.
"""

from __future__ import annotations

import errno
import os
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson
import trio

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from pathlib import Path

    from loadtest.metrics import TurnRecord

__all__ = ["JsonlSink", "MemorySink", "open_jsonl_sink", "whole_lines"]


def _open_append(path: Path) -> BinaryIO:
    """Unbuffered, so a failed write leaves nothing pending in a buffer."""
    return open(path, "ab", buffering=0)


def whole_lines(line_lengths: Sequence[int], written_bytes: int) -> tuple[int, int]:
    """How many of the lines, written one after the other, fit whole in the
    first `written_bytes` bytes, and how many bytes they take."""
    count = size = 0
    for length in line_lengths:
        if size + length > written_bytes:
            break
        count += 1
        size += length
    return count, size


def _write_all(file: BinaryIO, data: bytes) -> tuple[int, OSError | None]:
    """Write `data`; the bytes written, and the error that stopped it if any."""
    view = memoryview(data)
    written = 0
    while written < len(data):
        try:
            count = file.write(view[written:])
        except OSError as exc:
            return written, exc
        if not count:
            return written, OSError(errno.EIO, "the file took no more bytes")
        written += count
    return written, None


class JsonlSink:
    """Writes TurnRecords to a JSONL file; run `serve()` in the run's nursery."""

    def __init__(
        self,
        path: Path,
        *,
        batch_lines: int = 2000,
        max_buffer_lines: int = 200_000,
        flush_interval_s: float = 0.5,
        on_failure: Callable[[str], None] | None = None,
        open_file: Callable[[Path], BinaryIO] = _open_append,
    ) -> None:
        self.path = path
        self.batch_lines = batch_lines
        self.max_buffer_lines = max_buffer_lines
        self.flush_interval_s = flush_interval_s
        #: Whole lines in the file.
        self.lines = 0
        #: Lines dropped because the buffer was full.
        self.overflow = 0
        #: Lines not written because the file failed.
        self.lost = 0
        #: What failed (None while the file is fine).
        self.error: str | None = None
        self._on_failure = on_failure
        self._open_file = open_file
        self._buffer: list[bytes] = []
        self._wake = trio.Event()
        self._file: BinaryIO | None = None
        self._size = 0
        self._closing = False
        self._serving = False
        self._served = trio.Event()

    def write(self, record: TurnRecord) -> None:
        """Queue one record (sync, never blocks; drops and counts when full)."""
        if self.error is not None:
            self.lost += 1
            return
        if len(self._buffer) >= self.max_buffer_lines:
            self.overflow += 1
            return
        # A copy with the newline, not OPT_APPEND_NEWLINE: orjson's own output
        # keeps its ~16 KB working buffer allocated for as long as it lives,
        # and a batch holds thousands of lines (bench/README.md).
        self._buffer.append(orjson.dumps(record.to_json()) + b"\n")
        if len(self._buffer) >= self.batch_lines:
            self._wake.set()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the file, then flush batches until cancelled or `aclose()`d;
        then flush once more and close the file."""
        self._serving = True
        try:
            self._file = await trio.to_thread.run_sync(self._open_file, self.path)
            self._size = await trio.to_thread.run_sync(self._file.seek, 0, os.SEEK_END)
        except OSError as exc:
            self._fail(f"cannot write {self.path}: {exc.strerror or exc}")
        task_status.started()
        try:
            while not self._closing:
                with trio.move_on_after(self.flush_interval_s):
                    await self._wake.wait()
                self._wake = trio.Event()
                await self._flush()
        finally:
            with trio.CancelScope(shield=True):
                await self._finish()
            self._served.set()

    def _fail(self, message: str) -> None:
        self.error = message
        self.lost += len(self._buffer)
        self._buffer = []
        if self._on_failure is not None:
            self._on_failure(message)

    async def _flush(self) -> None:
        if not self._buffer or self._file is None:
            return
        batch, self._buffer = self._buffer, []
        with trio.CancelScope(shield=True):  # a batch taken is a batch written (or counted)
            await self._write_batch(self._file, batch)

    async def _write_batch(self, file: BinaryIO, batch: list[bytes]) -> None:
        written, error = await trio.to_thread.run_sync(_write_all, file, b"".join(batch))
        if error is None:
            self.lines += len(batch)
            self._size += written
            return
        count, size = whole_lines([len(line) for line in batch], written)
        self.lines += count
        self.lost += len(batch) - count
        message = f"cannot write {self.path}: {error.strerror or error}"
        if size < written:  # a line cut in the middle: cut it back
            try:
                await trio.to_thread.run_sync(file.truncate, self._size + size)
            except OSError as exc:
                message += f" (and its last line could not be cut back: {exc.strerror or exc})"
        self._size += size
        self._fail(message)
        await self._close()

    async def _close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            try:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(file.close)
            except OSError as exc:
                if self.error is None:
                    self._fail(f"cannot write {self.path}: {exc.strerror or exc}")

    async def _finish(self) -> None:
        await self._flush()
        await self._close()

    async def aclose(self) -> None:
        """Flush what is left, close the file and end `serve()` (idempotent);
        returns once all of that is done."""
        self._closing = True
        self._wake.set()
        if self._serving:
            await self._served.wait()
        else:
            await self._finish()


@asynccontextmanager
async def open_jsonl_sink(path: Path, **options: Any) -> AsyncIterator[JsonlSink]:
    """A `JsonlSink` served for the block (its file open when the block
    starts), flushed and closed when it ends; `options` are `JsonlSink`'s.
    Read its `lines`, `lost` and `overflow` after the block."""
    sink = JsonlSink(path, **options)
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        try:
            yield sink
        finally:
            with trio.CancelScope(shield=True):
                await sink.aclose()


class MemorySink:
    """Keeps records in a list: for tests and library users who want them."""

    overflow = 0

    def __init__(self) -> None:
        self.records: list[TurnRecord] = []

    def write(self, record: TurnRecord) -> None:
        self.records.append(record)
