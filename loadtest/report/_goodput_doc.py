"""The summary's goodput and sweep documents (registered with the one
summary converter in report/_document.py, which holds the rules).

- `GoodputDoc`: a statistics object's goodput, present when the run had
  SLOs (docs/metrics.md, "Goodput"): `judged` turns, `good` turns, their
  `share` (null when none was judged) and `good_per_s` (per steady second,
  null when the window is empty).
- `SweepDoc`: what `loadtest sweep` found (docs/sweep.md): one `ProbeDoc`
  per probe stage and the `KneeDoc`.

Pure; no I/O.
"""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["GoodputDoc", "KneeDoc", "ProbeDoc", "ProbeKind", "SweepDoc"]

Number = int | float
ProbeKind = Literal["baseline", "ceiling", "rate"]


@attrs.frozen(kw_only=True)
class GoodputDoc:
    """Turns judged against the SLOs, the good ones, and their rates."""

    judged: int
    good: int
    share: Number | None
    good_per_s: Number | None


@attrs.frozen(kw_only=True)
class ProbeDoc:
    """One probe of a sweep: a stage of the run, and how it went."""

    stage: int
    kind: ProbeKind
    offered_rps: Number | None
    achieved_rps: Number | None
    goodput: Number | None
    ttft_p50_ms: Number | None
    ttft_p99_ms: Number | None
    latency_p99_ms: Number | None
    health: str
    passed: bool
    reason: str | None = None


@attrs.frozen(kw_only=True)
class KneeDoc:
    """The highest rate that passed, and why the next probe did not."""

    rate_rps: Number | None
    stage: int | None
    next_failed_because: str | None
    note: str


@attrs.frozen(kw_only=True)
class SweepDoc:
    """A sweep's SLOs, goodput target, probes in the order they ran, and knee."""

    slo: list[str]
    goodput_target: Number
    probes: list[ProbeDoc]
    knee: KneeDoc
