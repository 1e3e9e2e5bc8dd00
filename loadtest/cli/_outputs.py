"""Where a run's outputs go: one set per run in `--out`, named by its start.

`<ts>` is the run's start in UTC (`20261128T012345Z`); if a set with that
stamp exists already, `-2`, `-3`... is added, so no run overwrites another.
This module and the commands are the only places that write report files.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import attrs

from loadtest.errors import RuntimeFailure

__all__ = ["OutputPaths", "prepare_outputs", "write_text"]


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


def prepare_outputs(directory: Path, started_unix_s: float) -> OutputPaths:
    """Create `directory` and pick a stamp no earlier run used there."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RuntimeFailure(
            f"--out {directory}: cannot create it: {exc.strerror or exc}"
        ) from None
    base = datetime.datetime.fromtimestamp(started_unix_s, tz=datetime.UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    stamp, n = base, 1
    while any(directory.glob(f"*-{stamp}.*")):
        n += 1
        stamp = f"{base}-{n}"
    return OutputPaths(directory, stamp)


def write_text(path: Path, text: str) -> Path:
    """Write one output file; a failure is a clear RuntimeFailure."""
    try:
        path.write_text(text, encoding="utf-8", newline="")  # keep the CSV's \r\n as is
    except OSError as exc:
        raise RuntimeFailure(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
