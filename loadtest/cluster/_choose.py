"""Pure decisions of a `--cluster` run: which Dask workers run the shards,
how far each worker's clock is from the submitting host's, and how late
each shard started.

Rules:
- One shard per worker, never two on one worker: a run needs at least as
  many workers as shards (a `ConfigError` otherwise, naming both counts).
  Workers are taken host by host in turn (sorted by address), so shards
  spread over as many hosts as the cluster has before any host gets two.
- A worker's clock offset is measured from one round trip: the worker's
  time minus the midpoint of the request's send and receipt on the
  submitting host, known within half the round trip.
- A shard's start skew is how late its first stage started after the
  shared start time, on the submitting host's clock: its own lateness
  (its clock) minus its clock's offset. A skew beyond `SKEW_WARN_MS`
  (either way), or an offset beyond it, is a warning.

No I/O.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "SKEW_WARN_MS",
    "ClockOffset",
    "ShardStart",
    "choose_workers",
    "clock_offsets",
    "skew_report",
]

#: A start skew or clock offset beyond this (ms, either way) is a warning:
#: the shards' stages, and their per-second buckets, no longer line up.
SKEW_WARN_MS = 100.0


def _host(address: str) -> str:
    return urlsplit(address).hostname or address


def choose_workers(workers: Sequence[str], count: int) -> list[str]:
    """`count` distinct worker addresses, spread over hosts; ConfigError if
    the cluster has fewer workers than shards."""
    if len(workers) < count:
        raise ConfigError(
            f"--workers {count}: the cluster has {len(workers)} worker"
            f"{'' if len(workers) == 1 else 's'}; each shard needs its own "
            "(start one `dask worker --nthreads 1` per shard)"
        )
    by_host: dict[str, list[str]] = {}
    for address in sorted(workers):
        by_host.setdefault(_host(address), []).append(address)
    spread = [
        address
        for group in itertools.zip_longest(*by_host.values())
        for address in group
        if address is not None
    ]
    return spread[:count]


@attrs.frozen
class ClockOffset:
    """A worker's clock against the submitting host's, in ms."""

    offset_ms: float
    #: Half the round trip: the offset is known within ± this.
    error_ms: float


def clock_offsets(
    worker_times: Mapping[str, float], sent_unix_s: float, received_unix_s: float
) -> dict[str, ClockOffset]:
    """Each worker's clock offset from its time read during one round trip
    that left at `sent_unix_s` and came back at `received_unix_s`."""
    middle = (sent_unix_s + received_unix_s) / 2
    error_ms = round((received_unix_s - sent_unix_s) * 500, 3)
    return {
        address: ClockOffset(round((worker_s - middle) * 1000, 3), error_ms)
        for address, worker_s in worker_times.items()
    }


@attrs.frozen
class ShardStart:
    """One shard's start, as the report gives it."""

    segment: str
    worker: str
    #: How late its first stage started, on its own clock (ms).
    late_ms: float
    #: Its clock's offset from the submitting host's (None: not measured).
    offset: ClockOffset | None


def skew_report(starts: Sequence[ShardStart]) -> tuple[list[str], list[str]]:
    """Lines reporting each shard's start skew on the submitting host's
    clock, and the warnings (skew or clock offset beyond SKEW_WARN_MS)."""
    lines, warnings = [], []
    for start in starts:
        offset_ms = start.offset.offset_ms if start.offset is not None else 0.0
        skew_ms = start.late_ms - offset_ms
        clock = (
            f"clock {start.offset.offset_ms:+.1f} ms ± {start.offset.error_ms:.1f}"
            if start.offset is not None
            else "clock not measured"
        )
        lines.append(
            f"segment {start.segment} on {start.worker}: started {skew_ms:+.1f} ms "
            f"after the shared start ({clock})"
        )
        if abs(skew_ms) > SKEW_WARN_MS:
            warnings.append(
                f"segment {start.segment} started {skew_ms:+.0f} ms after the shared "
                "start: its stages do not line up with the others' (a busy worker, or "
                "too little lead time: --start-at)"
            )
        if abs(offset_ms) > SKEW_WARN_MS:
            warnings.append(
                f"segment {start.segment}: the clock of {start.worker} is "
                f"{offset_ms:+.0f} ms off this host's: synchronise the clocks (NTP)"
            )
    return lines, warnings
