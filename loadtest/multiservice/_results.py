"""What a multi-service comparison found: per gateway per round, and over rounds.

Rules:
- A gateway's figures for a round come from its `loadtest run` summary with
  every stage's total merged exactly: the HDR histograms are decoded and
  added count for count (`stats_from_json` + `merge_stats`), never averaged
  percentile by percentile. Rates are requests over the summed steady windows.
- The compared metric is the TTFT p50 when the profile streams (some scenario
  has `stream = true`), else the latency p50 (non-streamed answers have no
  TTFT). A gateway's delta is its value minus the round's lowest value among
  gateways that have one; the fastest gets exactly 0.0.
- A gateway's generator CPU for a round is its run's process CPU share
  (CPU time / elapsed, from each stage's health figures), averaged over its
  stages weighted by their length: the cores its `loadtest run` used. A
  round's generator CPU is the sum over its gateways: what the generator's
  processes together took from the host.
- A gateway that FAILED in a round (its process did not give a summary, or
  not one of its steady turns succeeded) keeps its row with the reason; it
  has no delta for that round, and the summary over rounds says in which
  rounds it failed. RPS is the rate of successful turns (`ok_rps`): a dead
  gateway's fast refusals are not throughput.

Pure: builds values from summary documents; no I/O.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from loadtest.metrics import merge_stats
from loadtest.report import SCHEMA, stats_from_json

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "Figures",
    "GatewaySummary",
    "Metric",
    "RoundResult",
    "ServiceRound",
    "figures_from_summary",
    "no_success_reason",
    "summarize",
    "with_deltas",
]

Metric = Literal["ttft", "latency"]
_VERDICT_ORDER = ("ok", "suspect", "generator-bound")


def _ms(value_us: int) -> float:
    return value_us / 1000


@attrs.frozen
class Figures:
    """One gateway's figures for one round: every stage of its run merged."""

    stages: int
    requests: int
    ok: int
    steady_s: float
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    errors: Mapping[str, int]
    started_unix_s: float
    stopped_early: bool = False
    generator: str = "ok"
    #: Cores the run's process used (CPU time / elapsed); None if not reported.
    cpu_share: float | None = None

    @property
    def rps(self) -> float:
        """Completed steady requests per second of steady window."""
        return self.requests / self.steady_s if self.steady_s > 0 else 0.0

    @property
    def ok_rps(self) -> float:
        """Successful steady turns per second of steady window."""
        return self.ok / self.steady_s if self.steady_s > 0 else 0.0

    @property
    def error_rate(self) -> float | None:
        """Failed share of completed steady turns; None when none completed."""
        return (self.requests - self.ok) / self.requests if self.requests else None

    def p50_ms(self, metric: Metric) -> float | None:
        return self.ttft_p50_ms if metric == "ttft" else self.latency_p50_ms

    def to_json(self) -> dict[str, Any]:
        doc = attrs.asdict(self)
        doc.update(
            rps=round(self.rps, 3),
            ok_rps=round(self.ok_rps, 3),
            error_rate=None if self.error_rate is None else round(self.error_rate, 6),
        )
        doc["errors"] = dict(self.errors)
        return doc


def figures_from_summary(doc: Mapping[str, Any]) -> Figures:
    """The figures of a `loadtest.summary/1` document; ValueError if it is not one."""
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document (schema: {doc.get('schema')!r})")
    try:
        stages = list(doc["stages"])
        merged = merge_stats("all", (stats_from_json(stage["total"]) for stage in stages))
        steady_s = sum(float(stage["steady_s"]) for stage in stages)
        verdicts = [str(stage.get("health", {}).get("verdict", "ok")) for stage in stages]
        cpu_share = _cpu_share(stages)
        run = doc["run"]
        started, stopped = float(run["started_unix_s"]), bool(run["stopped_early"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed {SCHEMA} document: {exc!r}") from None
    ttft = merged.histogram("ttft")
    latency = merged.histogram("latency")
    ttft_ps = ttft.percentiles([50.0, 95.0])
    latency_ps = latency.percentiles([50.0, 95.0])
    return Figures(
        stages=len(stages),
        requests=merged.requests,
        ok=merged.ok,
        steady_s=steady_s,
        ttft_p50_ms=_ms(ttft_ps[50.0]) if ttft.count else None,
        ttft_p95_ms=_ms(ttft_ps[95.0]) if ttft.count else None,
        latency_p50_ms=_ms(latency_ps[50.0]) if latency.count else None,
        latency_p95_ms=_ms(latency_ps[95.0]) if latency.count else None,
        errors=dict(sorted(merged.errors.items(), key=lambda item: -item[1])),
        started_unix_s=started,
        stopped_early=stopped,
        generator=max(verdicts, key=_verdict_rank, default="ok"),
        cpu_share=cpu_share,
    )


def _cpu_share(stages: Sequence[Mapping[str, Any]]) -> float | None:
    """The stages' CPU shares averaged, weighted by stage length (None if
    no stage reports one)."""
    weighted, total_s = 0.0, 0.0
    for stage in stages:
        figures = stage.get("health", {}).get("figures") or {}
        if "cpu_share" in figures:
            length_s = float(stage.get("duration_s", stage["steady_s"]))
            weighted += float(figures["cpu_share"]) * length_s
            total_s += length_s
    return round(weighted / total_s, 3) if total_s > 0 else None


def no_success_reason(figures: Figures) -> str | None:
    """Why a run that gave a summary still FAILED: no steady turn succeeded."""
    if figures.ok:
        return None
    if not figures.requests:
        return "no successful turn: no steady turn completed"
    top = ", ".join(f"{kind} {count}" for kind, count in list(figures.errors.items())[:3])
    return f"no successful turn: {figures.requests:,} failed ({top})"


def _verdict_rank(verdict: str) -> int:
    return _VERDICT_ORDER.index(verdict) if verdict in _VERDICT_ORDER else 1


@attrs.frozen
class ServiceRound:
    """One gateway in one round: where its run wrote, and what it gave.

    `failure` is None when the run gave a summary (exit 0; 3 failed
    thresholds; 130 stopped early); otherwise it says why the row is FAILED."""

    name: str
    directory: Path
    exit_code: int | None
    summary_path: Path | None = None
    figures: Figures | None = None
    failure: str | None = None
    delta_ms: float | None = None
    start_skew_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": "ok" if self.failure is None else "failed",
            "failure": self.failure,
            "exit_code": self.exit_code,
            "directory": str(self.directory),
            "summary": str(self.summary_path) if self.summary_path else None,
            "start_skew_ms": _round3(self.start_skew_ms),
            "delta_ms": _round3(self.delta_ms),
            "figures": self.figures.to_json() if self.figures else None,
        }


def _round3(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@attrs.frozen
class RoundResult:
    """Every gateway's outcome in one round, which all started at `start_at_unix_s`."""

    number: int
    of: int
    start_at_unix_s: float
    metric: Metric
    stage_plan: tuple[str, ...]
    services: tuple[ServiceRound, ...]
    interrupted: bool = False
    #: The generator host's cores (`os.cpu_count()`), None when unknown.
    host_cores: int | None = None

    @property
    def generator_cpu(self) -> float | None:
        """Cores the generator's processes used together (None if none reported)."""
        shares = [
            s.figures.cpu_share
            for s in self.services
            if s.figures is not None and s.figures.cpu_share is not None
        ]
        return round(sum(shares), 3) if shares else None

    @property
    def start_spread_ms(self) -> float | None:
        """Latest minus earliest actual start among the gateways' runs."""
        skews = [s.start_skew_ms for s in self.services if s.start_skew_ms is not None]
        return max(skews) - min(skews) if skews else None

    def to_json(self) -> dict[str, Any]:
        return {
            "round": self.number,
            "start_at_unix_s": round(self.start_at_unix_s, 3),
            "start_spread_ms": _round3(self.start_spread_ms),
            "interrupted": self.interrupted,
            "generator_cpu_cores": self.generator_cpu,
            "host_cores": self.host_cores,
            "services": [s.to_json() for s in self.services],
        }


def with_deltas(services: Sequence[ServiceRound], metric: Metric) -> tuple[ServiceRound, ...]:
    """`services` with each one's delta against the round's fastest set."""
    values = {s.name: s.figures.p50_ms(metric) for s in services if s.figures and not s.failure}
    known = [v for v in values.values() if v is not None]
    fastest = min(known, default=None)
    out = []
    for service in services:
        value = values.get(service.name)
        delta = None if value is None or fastest is None else value - fastest
        out.append(attrs.evolve(service, delta_ms=delta))
    return tuple(out)


@attrs.frozen
class GatewaySummary:
    """One gateway over every round: its deltas and values where it had them."""

    name: str
    rounds: int
    deltas_ms: tuple[float, ...]
    values_ms: tuple[float, ...]
    failed_rounds: tuple[int, ...]
    no_data_rounds: tuple[int, ...]

    @property
    def median_delta_ms(self) -> float | None:
        return statistics.median(self.deltas_ms) if self.deltas_ms else None

    @property
    def median_value_ms(self) -> float | None:
        return statistics.median(self.values_ms) if self.values_ms else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rounds": self.rounds,
            "rounds_with_delta": len(self.deltas_ms),
            "median_p50_ms": _round3(self.median_value_ms),
            "median_delta_ms": _round3(self.median_delta_ms),
            "min_delta_ms": _round3(min(self.deltas_ms, default=None)),
            "max_delta_ms": _round3(max(self.deltas_ms, default=None)),
            "deltas_ms": [round(d, 3) for d in self.deltas_ms],
            "failed_rounds": list(self.failed_rounds),
            "no_data_rounds": list(self.no_data_rounds),
        }


def summarize(names: Sequence[str], rounds: Sequence[RoundResult]) -> tuple[GatewaySummary, ...]:
    """Per gateway, in `names` order, its figures across `rounds`."""
    out = []
    for name in names:
        deltas, values, failed, no_data = [], [], [], []
        for round_ in rounds:
            row = next(s for s in round_.services if s.name == name)
            value = row.figures.p50_ms(round_.metric) if row.figures else None
            if row.failure is not None:
                failed.append(round_.number)
            elif row.delta_ms is None or value is None:
                no_data.append(round_.number)
            else:
                deltas.append(row.delta_ms)
                values.append(value)
        out.append(
            GatewaySummary(
                name, len(rounds), tuple(deltas), tuple(values), tuple(failed), tuple(no_data)
            )
        )
    return tuple(out)
