"""Per-request SLOs: the `slo` strings of a profile and of `--slo`, parsed.

An SLO is `METRIC<=DURATION` (`ttft<=300ms`, `latency<=10s`,
`itl_p99<=50ms`): one limit on one figure of one turn. A turn is *good*
when it is ok and meets every SLO of the run (metrics/_goodput.py judges
it; docs/metrics.md, "Goodput", defines it).

Rules:
- METRIC is one of `SLO_METRICS`; the only comparison is `<=`; DURATION is
  any duration `parse_duration` reads (`ms`, `s`, `us`, ...), above 0.
  Spaces around the parts are allowed; case matters as in every name.
- `str(slo)` is the canonical text (`ttft<=300ms`), the form every output
  writes (`run.slo` of the summary, the sweep's table).
- `parse_slos` takes strings each holding one or more comma-separated SLOs
  (a repeated `--slo`, or one `--slo "ttft<=300ms,latency<=10s"`); a
  metric named twice is an error (which limit would hold?). Errors are
  `ValueError`s naming the bad SLO and what was expected.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from loadtest.config._units import Duration, parse_duration

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["SLO_METRICS", "Slo", "parse_slo", "parse_slos"]

#: What an SLO can name: one figure of one turn (docs/metrics.md, "Goodput").
SLO_METRICS: tuple[str, ...] = (
    "ttft",
    "ttfb",
    "latency",
    "tpot",
    "itl_p50",
    "itl_p90",
    "itl_p99",
    "itl_max",
)


@attrs.frozen
class Slo:
    """One per-turn limit: `metric` (one of `SLO_METRICS`) at most `limit_us`."""

    metric: str
    limit_us: int

    def __str__(self) -> str:
        return f"{self.metric}<={Duration(self.limit_us)}"


def parse_slo(text: str) -> Slo:
    """One SLO (`ttft<=300ms`); ValueError naming it otherwise."""
    metric, sep, limit = text.partition("<=")
    metric, limit = metric.strip(), limit.strip()
    shown = text.strip()
    if not sep:
        raise ValueError(f'SLO "{shown}": expected METRIC<=DURATION, e.g. "ttft<=300ms"')
    if metric not in SLO_METRICS:
        raise ValueError(
            f'SLO "{shown}": unknown metric "{metric}" (known: {", ".join(SLO_METRICS)})'
        )
    try:
        duration = parse_duration(limit)
    except ValueError as exc:
        raise ValueError(f'SLO "{shown}": {exc}') from None
    if duration.us <= 0:
        raise ValueError(f'SLO "{shown}": the limit must be longer than 0')
    return Slo(metric, duration.us)


def parse_slos(texts: Iterable[str]) -> tuple[Slo, ...]:
    """Every SLO of `texts`, each one or more comma-separated; ValueError
    naming the first bad one, or a metric given twice."""
    slos: dict[str, Slo] = {}
    for text in texts:
        for part in text.split(","):
            if not part.strip():
                raise ValueError(f'SLO list "{text.strip()}": an empty SLO between commas')
            slo = parse_slo(part)
            if slo.metric in slos:
                raise ValueError(
                    f'SLO "{slo}": {slo.metric} already has the limit "{slos[slo.metric]}"'
                )
            slos[slo.metric] = slo
    return tuple(slos.values())
