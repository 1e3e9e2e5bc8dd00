"""Was the generator itself the bottleneck? Figures of one stage -> a verdict.

A load generator that is short of CPU, or whose event loop runs late, takes
its time stamps late and sends less than it was asked to: its numbers then
describe itself, not the gateway. Each stage gets one verdict:

- `generator-bound`: the figures show the generator limited the run.
- `suspect`: something the generator should have delivered was not
  (drops, lost JSONL lines), or its margins were thin enough that tail
  figures may be distorted.
- `ok`: none of the rules below fired.

Rules (thresholds in `LIMITS`, with why):
- CPU share (process CPU time / wall time of the stage): one process drives
  one core; at >= 90% the loop has no headroom and every timestamp queues
  behind other work -> generator-bound; >= 75% -> suspect.
- Event-loop lag p99 (a 10 ms ticker's lateness): > 50 ms -> generator-bound
  (timestamps late by a whole typical inter-token gap); > 10 ms -> suspect
  (comparable to inter-token gaps of fast models, so ITL tails are blurred).
- Open loop, achieved rate (arrivals the scheduler handled within the
  stage — conversations started, plus arrivals dropped at their time — /
  its duration) below 90% of the target (the arrivals its seeded schedule
  planned / duration) -> generator-bound (the scheduler
  could not keep time); below 97% -> suspect. Any dropped arrival -> suspect
  (the requested load was not offered: max_in_flight was reached, usually
  because the server is slower than the rate needs). Schedule lag p99
  > 50 ms -> generator-bound (arrivals leave late by more than a typical
  TTFT budget: the offered load is not the planned one); > 10 ms ->
  suspect. (bench/open_loop.py: just past the ceiling, arrivals are late,
  not lost, so the achieved rate barely moves while schedule lag jumps.)
- Generator-side errors (port or file-descriptor exhaustion) ->
  generator-bound. JSONL lines dropped (sink overflow) -> suspect.

Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

__all__ = ["LIMITS", "Health", "HealthFigures", "Verdict", "assess", "judge"]

Verdict = Literal["ok", "suspect", "generator-bound"]

LIMITS: Mapping[str, float] = {
    "cpu_share_bound": 0.90,
    "cpu_share_suspect": 0.75,
    "loop_lag_p99_bound_ms": 50.0,
    "loop_lag_p99_suspect_ms": 10.0,
    "rate_bound": 0.90,
    "rate_suspect": 0.97,
    "schedule_lag_p99_bound_ms": 50.0,
    "schedule_lag_p99_suspect_ms": 10.0,
}


@attrs.frozen
class HealthFigures:
    """What the generator measured about itself during one stage."""

    cpu_share: float
    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    peak_in_flight: int
    target_in_flight: int | None = None
    target_rate: float | None = None
    achieved_rate: float | None = None
    schedule_lag_p99_ms: float | None = None
    dropped: int = 0
    sink_overflow: int = 0
    generator_errors: Mapping[str, int] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in attrs.asdict(self).items() if v is not None}


def _pct(share: float) -> str:
    return f"{share:.0%}"


def _ms(value: float) -> str:
    return f"{value:g} ms"


def _rules(f: HealthFigures) -> list[tuple[Verdict, str]]:
    found: list[tuple[Verdict, str]] = []
    cpu_bound, cpu_suspect = LIMITS["cpu_share_bound"], LIMITS["cpu_share_suspect"]
    if f.cpu_share >= cpu_bound:
        found.append(("generator-bound", f"CPU share {f.cpu_share:.0%} >= {_pct(cpu_bound)}"))
    elif f.cpu_share >= cpu_suspect:
        found.append(("suspect", f"CPU share {f.cpu_share:.0%} >= {_pct(cpu_suspect)}"))
    found.extend(_lag_rules("event-loop lag", f.loop_lag_p99_ms, "loop_lag"))
    found.extend(_open_loop_rules(f))
    errors = sum(f.generator_errors.values())
    if errors:
        names = ", ".join(f"{k} {v}" for k, v in sorted(f.generator_errors.items()))
        found.append(("generator-bound", f"generator-side errors: {names}"))
    if f.sink_overflow:
        found.append(("suspect", f"{f.sink_overflow} JSONL lines dropped (buffer full)"))
    return found


def _lag_rules(what: str, lag_ms: float | None, limit: str) -> list[tuple[Verdict, str]]:
    """A p99 lag against its `<limit>_p99_bound_ms` and `_suspect_ms` limits."""
    bound, suspect = LIMITS[f"{limit}_p99_bound_ms"], LIMITS[f"{limit}_p99_suspect_ms"]
    if lag_ms is not None and lag_ms > bound:
        return [("generator-bound", f"{what} p99 {lag_ms:.1f} ms > {_ms(bound)}")]
    if lag_ms is not None and lag_ms > suspect:
        return [("suspect", f"{what} p99 {lag_ms:.1f} ms > {_ms(suspect)}")]
    return []


def _open_loop_rules(f: HealthFigures) -> list[tuple[Verdict, str]]:
    found: list[tuple[Verdict, str]] = []
    if f.target_rate and f.achieved_rate is not None:
        share = f.achieved_rate / f.target_rate
        text = f"achieved rate {f.achieved_rate:.1f}/s = {share:.1%} of {f.target_rate:g}/s"
        if share < LIMITS["rate_bound"]:
            found.append(("generator-bound", f"{text} (< {_pct(LIMITS['rate_bound'])})"))
        elif share < LIMITS["rate_suspect"]:
            found.append(("suspect", f"{text} (< {_pct(LIMITS['rate_suspect'])})"))
    if f.dropped:
        found.append(("suspect", f"{f.dropped} arrivals dropped at max_in_flight"))
    found.extend(_lag_rules("schedule lag", f.schedule_lag_p99_ms, "schedule_lag"))
    return found


@attrs.frozen
class Health:
    """One stage's verdict, every reason behind it (worst first), and the
    figures it was judged on."""

    verdict: Verdict
    reasons: tuple[str, ...]
    figures: HealthFigures

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def to_json(self) -> dict[str, Any]:
        """The stage's `health` object in the summary."""
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "figures": self.figures.to_json(),
        }


def assess(figures: HealthFigures) -> Health:
    """The verdict on `figures`, with its reasons (see the module rules)."""
    verdict, reasons = judge(figures)
    return Health(verdict, tuple(reasons), figures)


def judge(figures: HealthFigures) -> tuple[Verdict, list[str]]:
    """The stage's verdict and every reason behind it (worst first)."""
    found = _rules(figures)
    if any(v == "generator-bound" for v, _ in found):
        verdict: Verdict = "generator-bound"
    elif found:
        verdict = "suspect"
    else:
        verdict = "ok"
    order = {"generator-bound": 0, "suspect": 1}
    return verdict, [reason for _, reason in sorted(found, key=lambda item: order[item[0]])]
