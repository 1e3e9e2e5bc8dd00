"""Where a run's outputs go: one set per run in `--out`, named by its start.

`<ts>` is the run's start in UTC (`20261128T012345Z`); if a set with that
stamp exists already, `-2`, `-3`... is added, so no run overwrites another.
This module and the commands are the only places that write report files.

Rules:
- `--out` is checked before anything is sent: a directory that is missing
  is created; one that cannot be created or written is a `ConfigError`
  (exit 2).
- An output that cannot be written in `--out` at the end of a run (a full
  disk) is written to a fresh directory in the system's temporary directory
  instead (a file begun and not finished is removed); `write_outputs`
  reports every such failure, and the caller announces where the files
  went. What could be written nowhere is said so.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from loadtest.errors import ConfigError, RuntimeFailure

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "OutputPaths",
    "WrittenOutputs",
    "announce_outputs",
    "jsonl_failed",
    "prepare_outputs",
    "write_outputs",
    "write_text",
]


@attrs.frozen
class OutputPaths:
    """The files of one run."""

    directory: Path
    stamp: str

    def path(self, kind: str, suffix: str) -> Path:
        return self.directory / f"{kind}-{self.stamp}.{suffix}"

    @property
    def jsonl(self) -> Path:
        return self.path("results", "jsonl")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def prepare_outputs(directory: Path, started_unix_s: float) -> OutputPaths:
    """Create `directory` if needed, check that files can be written in it,
    and pick a stamp no earlier run used there."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if directory.is_file():
            raise ConfigError(f"--out {directory}: is a file, not a directory") from None
        raise ConfigError(f"--out {directory}: cannot create it: {_reason(exc)}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".loadtest-write-check-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"--out {directory}: cannot write in it: {_reason(exc)}") from None
    base = datetime.datetime.fromtimestamp(started_unix_s, tz=datetime.UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    stamp, n = base, 1
    while any(directory.glob(f"*-{stamp}.*")):
        n += 1
        stamp = f"{base}-{n}"
    return OutputPaths(directory, stamp)


@attrs.frozen
class WrittenOutputs:
    """Where each output went, and what failed on the way."""

    #: Every file written, in `--out` or in the fallback directory.
    written: tuple[Path, ...]
    #: One line per output that could not be written in `--out`.
    failures: tuple[str, ...]
    #: Outputs (by file name) written nowhere.
    lost: tuple[str, ...]
    #: The directory that holds what could not be written in `--out` (None
    #: when it holds nothing).
    fallback: Path | None = None


def _write(path: Path, text: str) -> None:
    """Write `path`; on failure, remove what was begun (no torn output stays)."""
    try:
        path.write_text(text, encoding="utf-8", newline="")  # keep the CSV's \r\n as is
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def write_text(path: Path, text: str) -> Path:
    """Write one output file; a failure is a clear RuntimeFailure."""
    try:
        _write(path, text)
    except OSError as exc:
        raise RuntimeFailure(f"cannot write {path}: {_reason(exc)}") from None
    return path


def write_outputs(paths: OutputPaths, files: dict[str, str]) -> WrittenOutputs:
    """Write `files` (file name -> text) in `paths.directory`; each one that
    fails there goes to one fresh fallback directory (created on the first
    failure) in the system's temporary directory."""
    written: list[Path] = []
    failures: list[str] = []
    lost: list[str] = []
    fallback: Path | None = None
    for name, text in files.items():
        path = paths.directory / name
        try:
            _write(path, text)
        except OSError as exc:
            failures.append(f"cannot write {path}: {_reason(exc)}")
        else:
            written.append(path)
            continue
        try:
            if fallback is None:
                fallback = Path(tempfile.mkdtemp(prefix=f"loadtest-{paths.stamp}-"))
            _write(fallback / name, text)
        except OSError as exc:
            failures.append(f"cannot write {name} in a temporary directory either: {_reason(exc)}")
            lost.append(name)
        else:
            written.append(fallback / name)
    if fallback is not None and not any(path.parent == fallback for path in written):
        with contextlib.suppress(OSError):
            fallback.rmdir()
        fallback = None
    return WrittenOutputs(tuple(written), tuple(failures), tuple(lost), fallback)


def announce_outputs(
    paths: OutputPaths,
    outcome: WrittenOutputs,
    first: Sequence[Path] = (),
    *,
    summary_on_stdout: bool = False,
) -> None:
    """Say on standard error where every output went (`first`: files the
    run wrote itself, its JSONL), then each failure, the fallback directory
    and what was written nowhere."""
    print("outputs:", file=sys.stderr)
    for path in (*first, *outcome.written):
        print(f"  {path}", file=sys.stderr)
    for failure in outcome.failures:
        print(f"loadtest: error: {failure}", file=sys.stderr)
    if outcome.fallback is not None:
        print(
            f"loadtest: error: what could not be written in {paths.directory} "
            f"is in {outcome.fallback}",
            file=sys.stderr,
        )
    if outcome.lost:
        where = "; the summary is on standard output, after the report" if summary_on_stdout else ""
        lost = ", ".join(outcome.lost)
        print(f"loadtest: error: written nowhere: {lost}{where}", file=sys.stderr)


def jsonl_failed(what: str) -> Callable[[str], None]:
    """The JSONL sink's failure callback for a `what` ("run", "sweep") that
    goes on measuring without it."""

    def say(message: str) -> None:
        print(
            f"\nloadtest: error: {message}: JSONL writing stopped; the {what} goes on measuring",
            file=sys.stderr,
        )

    return say
