"""JsonlSink when its file fails: the run goes on, the file keeps whole lines
only, and every line not written is counted."""

from __future__ import annotations

import errno
import json
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import pytest
import trio
import trio.lowlevel

from loadtest.engine import JsonlSink
from loadtest.engine._sink import open_jsonl_sink, whole_lines
from tests.unit.report.builders import turn

if TYPE_CHECKING:
    from pathlib import Path

LINE = len(json.dumps(turn().to_json(), separators=(",", ":"))) + 1


class FillingFile:
    """A real file on a disk that holds `capacity` more bytes: a write that
    does not fit is cut there (as write(2) does), the next one fails ENOSPC."""

    def __init__(self, path: Path, capacity: int, **failures: OSError) -> None:
        self.file = open(path, "ab", buffering=0)  # noqa: SIM115
        self.capacity = capacity
        self.failures = failures

    def write(self, data: bytes) -> int:
        if self.capacity <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        if "zero" in self.failures:
            return 0
        count = self.file.write(bytes(data[: self.capacity]))
        self.capacity -= count
        return count

    def seek(self, offset: int, whence: int) -> int:
        return self.file.seek(offset, whence)

    def truncate(self, size: int) -> int:
        if "truncate" in self.failures:
            raise self.failures["truncate"]
        return self.file.truncate(size)

    def close(self) -> None:
        self.file.close()
        if "close" in self.failures:
            raise self.failures["close"]


def filling(capacity: int, **failures: OSError) -> Any:
    return lambda path: cast("BinaryIO", FillingFile(path, capacity, **failures))


async def run_sink(sink: JsonlSink, lines: int) -> None:
    """Serve `sink`, queue `lines` records, then stop it (a last flush)."""
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        for _ in range(lines):
            sink.write(turn())
        nursery.cancel_scope.cancel()


def test_whole_lines() -> None:
    """Lines that fit whole in the bytes written, and their size."""
    assert whole_lines([3, 4, 5], 0) == (0, 0)
    assert whole_lines([3, 4, 5], 6) == (1, 3)
    assert whole_lines([3, 4, 5], 7) == (2, 7)
    assert whole_lines([3, 4, 5], 12) == (3, 12)


async def test_a_full_disk_keeps_whole_lines_and_counts_the_lost_ones(tmp_path: Path) -> None:
    """The disk fills in the middle of the third line: the file is cut back to
    two whole lines, the other eight are lost, and so is every later line;
    the failure is reported once, at once."""
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"earlier":1}\n')  # an append: offsets start at the end
    heard: list[str] = []
    sink = JsonlSink(path, on_failure=heard.append, open_file=filling(2 * LINE + LINE // 2))
    await run_sink(sink, 10)
    data = path.read_bytes()
    assert data.endswith(b"\n")
    assert [json.loads(line) for line in data.splitlines()][1:] == [turn().to_json()] * 2
    assert (sink.lines, sink.lost, sink.overflow) == (2, 8, 0)
    assert heard == [f"cannot write {path}: No space left on device"]
    assert sink.error == heard[0]
    sink.write(turn())
    assert sink.lost == 9


async def test_a_full_disk_between_lines_loses_no_written_line(tmp_path: Path) -> None:
    """A disk full exactly at a line's end: nothing is cut; the next batch is lost."""
    path = tmp_path / "results.jsonl"
    sink = JsonlSink(path, open_file=filling(3 * LINE), batch_lines=3)
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        for _ in range(3):
            sink.write(turn())
        while sink.lines < 3:
            await trio.sleep(0.01)
        for _ in range(4):
            sink.write(turn())
        nursery.cancel_scope.cancel()
    assert len(path.read_bytes().splitlines()) == 3
    assert (sink.lines, sink.lost) == (3, 4)


async def test_a_file_that_cannot_be_opened_loses_every_line(tmp_path: Path) -> None:
    """The run goes on; every line is counted lost; nothing raises."""
    heard: list[str] = []

    def refuse(path: Path) -> BinaryIO:
        raise PermissionError(errno.EACCES, "Permission denied")

    sink = JsonlSink(tmp_path / "r.jsonl", on_failure=heard.append, open_file=refuse)
    await run_sink(sink, 5)
    assert (sink.lines, sink.lost) == (0, 5)
    assert heard == [f"cannot write {tmp_path / 'r.jsonl'}: Permission denied"]


async def test_a_line_that_cannot_be_cut_back_is_said_so(tmp_path: Path) -> None:
    """When even the cut fails, the message says the last line may be torn."""
    failure = OSError(errno.EIO, "Input/output error")
    sink = JsonlSink(tmp_path / "r.jsonl", open_file=filling(LINE + 5, truncate=failure))
    await run_sink(sink, 3)
    assert (sink.lines, sink.lost) == (1, 2)
    assert sink.error is not None
    assert sink.error.endswith("(and its last line could not be cut back: Input/output error)")


async def test_a_file_that_takes_no_bytes_fails(tmp_path: Path) -> None:
    """A write that returns 0 bytes is a failure, not an endless loop."""
    zero = OSError(errno.EIO, "unused")
    sink = JsonlSink(tmp_path / "r.jsonl", open_file=filling(100, zero=zero))
    await run_sink(sink, 2)
    assert (sink.lines, sink.lost) == (0, 2)
    assert sink.error == f"cannot write {tmp_path / 'r.jsonl'}: the file took no more bytes"


@pytest.mark.parametrize("lines", [0, 2])
async def test_a_failed_close_is_reported(tmp_path: Path, lines: int) -> None:
    """An error on close (a network file system) is the sink's error too."""
    failure = OSError(errno.EIO, "Input/output error")
    sink = JsonlSink(tmp_path / "r.jsonl", open_file=filling(10**6, close=failure))
    await run_sink(sink, lines)
    assert sink.lines == lines
    assert sink.error == f"cannot write {tmp_path / 'r.jsonl'}: Input/output error"


async def test_a_stop_while_a_batch_is_due_loses_no_line(tmp_path: Path) -> None:
    """A full batch wakes the flush task just as the run stops: the batch is
    still written (it was once taken from the buffer and then dropped
    uncounted when the stop cancelled its write)."""
    path = tmp_path / "r.jsonl"
    sink = JsonlSink(path, batch_lines=3)
    await run_sink(sink, 3)
    assert (sink.lines, sink.lost, sink.error) == (3, 0, None)
    assert len(path.read_bytes().splitlines()) == 3


async def test_aclose_ends_serve(tmp_path: Path) -> None:
    """The natural script: serve beside the run, then `aclose()`; the nursery
    ends (serve returned) with every line written; a second close is a no-op."""
    path = tmp_path / "r.jsonl"
    sink = JsonlSink(path, flush_interval_s=3600)
    with trio.fail_after(30):  # generous: without the fix this never ends
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sink.serve)
            await trio.lowlevel.checkpoint()
            for _ in range(5):
                sink.write(turn())
            await sink.aclose()
            await sink.aclose()
    assert (sink.lines, sink.lost, sink.error) == (5, 0, None)
    assert len(path.read_bytes().splitlines()) == 5


async def test_aclose_before_serve_starts_still_lets_serve_end(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "r.jsonl")
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sink.serve)
            await sink.aclose()  # serve has not run yet
    assert sink.error is None


async def test_open_jsonl_sink_serves_for_the_block(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with trio.fail_after(30):
        async with open_jsonl_sink(path, batch_lines=2) as sink:
            for _ in range(3):
                sink.write(turn())
    assert (sink.lines, sink.lost, sink.overflow) == (3, 0, 0)
    assert len(path.read_bytes().splitlines()) == 3
