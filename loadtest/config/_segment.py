"""Execution segments: shard K of N of one plan (`loadtest run --segment K/N`).

K is 0-based (0 to N-1), as Kubernetes' `JOB_COMPLETION_INDEX` and k6's
execution segments count. The N shards of a plan, run together (one shared
start time), are exactly the one-process plan:

- Closed stages: the plan's virtual users are numbered as one process
  numbers them (scenario by scenario, in profile order); VU `v` runs in
  shard `v mod N`. So each scenario's VUs are split over the shards by
  largest remainder (ties go round-robin, continuing from the previous
  scenario, so the shards' totals differ by at most one), the global split
  over scenarios is unchanged, and each VU keeps its seed and its place in
  `start_spread`.
- Open stages: every shard draws the whole seeded schedule (arrival times
  and scenario picks, whatever the arrival process) and runs arrival `j`
  only if `j mod N` is K: together the shards run that schedule, arrival
  for arrival.
- Per-run limits (`max_in_flight`, `http.max_connections`, and any count
  that bounds a whole run, such as a request-count stop) are split by
  largest remainder: shard K gets `floor(total / N)`, plus one when
  K < total mod N. A limit below N cannot be split (a `ConfigError`).

Pure; no I/O.
"""

from __future__ import annotations

import re

import attrs

from loadtest.config import _limits as limit
from loadtest.errors import ConfigError

__all__ = ["Segment", "parse_segment"]

_SEGMENT = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@attrs.frozen
class Segment:
    """Shard `index` (0-based) of `count`; `Segment()` is the whole plan."""

    index: int = 0
    count: int = 1

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.count <= limit.MAX_SEGMENTS:
            raise ConfigError(
                f"segment {self.index}/{self.count}: the count is 1 to {limit.MAX_SEGMENTS:,}"
            )
        if not 0 <= self.index < self.count:
            raise ConfigError(
                f"segment {self.index}/{self.count}: K is 0-based, 0 to {self.count - 1}"
            )

    @property
    def whole(self) -> bool:
        """True for the one-process plan (1 shard)."""
        return self.count == 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, number: int) -> bool:
        """Whether item `number` (a VU, an arrival; 0-based) runs in this shard."""
        return number % self.count == self.index

    def share(self, total: int) -> int:
        """This shard's part of `total` units split by largest remainder."""
        whole, left = divmod(total, self.count)
        return whole + (1 if self.index < left else 0)

    def limit(self, total: int | None, name: str) -> int | None:
        """This shard's part of a per-run limit (None: no limit); a limit
        below the number of shards cannot be split."""
        if total is None:
            return None
        if total < self.count:
            raise ConfigError(
                f"{name} {total} cannot be split over {self.count} segments "
                f"(each needs at least 1): raise it to {self.count} or more"
            )
        return self.share(total)


def parse_segment(text: str) -> Segment:
    """`K/N` (0-based K) as given to `--segment`; ConfigError if malformed."""
    match = _SEGMENT.fullmatch(text)
    if match is None:
        raise ConfigError(f"--segment {text!r}: expected K/N, e.g. 0/4 (K is 0-based)")
    try:
        return Segment(int(match[1]), int(match[2]))
    except ConfigError as exc:
        raise ConfigError(f"--{exc.problems[0]}") from None
