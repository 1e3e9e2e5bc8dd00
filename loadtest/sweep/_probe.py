"""One probe's verdict, read from its frozen stage snapshot.

Rules (docs/sweep.md):
- A probe's **goodput** is good turns / (judged turns + steady turns cut
  off by the stage's end + dropped arrivals): an arrival the gateway never
  answered within the stage is a miss, so a saturated gateway cannot pass
  by finishing only the turns it got to. Null when the denominator is 0.
- It **passes** when the generator was not `generator-bound` and its
  goodput is at least the target. A failed probe's reason: `generator-bound`
  (whatever its goodput: its numbers describe the generator), else
  `errors` when failed turns are at least half of the misses (or nothing
  was judged), else `slo`.
- Its figures: offered rate (open probes: the stage's rate), achieved rate
  (completed steady turns per steady second), TTFT p50/p99 and latency
  p99 of ok turns; open probes report them **corrected** (from the
  intended start), as goodput judges them.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest.metrics import Metric
from loadtest.report import ProbeDoc
from loadtest.sweep._search import Kind, ProbeResult

if TYPE_CHECKING:
    from loadtest.metrics import StageSnapshot

__all__ = ["judge_probe", "probe_doc", "probe_goodput"]


def probe_goodput(stage: StageSnapshot) -> float | None:
    """Good turns / (judged + interrupted + dropped), None with none of them."""
    total = stage.total
    offered = total.judged + total.interrupted + total.dropped
    return total.good / offered if offered else None


def judge_probe(stage: StageSnapshot, kind: Kind, goodput_target: float) -> ProbeResult:
    """Whether the probe passed, and why not (see the module rules)."""
    total = stage.total
    verdict = stage.health.verdict if stage.health is not None else "ok"
    goodput = probe_goodput(stage)
    achieved = total.requests / stage.steady_s if stage.steady_s > 0 else None
    offered = stage.rate if stage.mode == "open" else None
    if verdict == "generator-bound":
        return ProbeResult(kind, False, "generator-bound", achieved, offered)
    if goodput is not None and goodput >= goodput_target:
        return ProbeResult(kind, True, None, achieved, offered)
    misses = total.judged + total.interrupted + total.dropped - total.good
    if not total.judged or 2 * total.failed >= misses:
        return ProbeResult(kind, False, "errors", achieved, offered)
    return ProbeResult(kind, False, "slo", achieved, offered)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def probe_doc(stage: StageSnapshot, result: ProbeResult) -> ProbeDoc:
    """The summary's record of one probe."""
    total = stage.total
    open_loop = stage.mode == "open"
    ttft = Metric.TTFT_CORRECTED if open_loop else Metric.TTFT
    latency = Metric.LATENCY_CORRECTED if open_loop else Metric.LATENCY
    goodput = probe_goodput(stage)
    return ProbeDoc(
        stage=stage.index,
        kind=result.kind,
        offered_rps=result.offered_rps,
        achieved_rps=_round(result.achieved_rps),
        goodput=_round(goodput, 6),
        ttft_p50_ms=_round(total.percentile_ms(ttft, 50.0)),
        ttft_p99_ms=_round(total.percentile_ms(ttft, 99.0)),
        latency_p99_ms=_round(total.percentile_ms(latency, 99.0)),
        health=stage.health.verdict if stage.health is not None else "-",
        passed=result.passed,
        reason=result.reason,
    )
