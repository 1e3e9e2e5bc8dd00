"""Summary documents and rows for multi-service tests, built with the report's
own `stats_json`, so they look exactly like what `loadtest run` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtest.metrics import Histogram, StatsSnapshot
from loadtest.multiservice import Figures, RoundResult, ServiceRound
from loadtest.report import SCHEMA, stats_json

START = 1_795_831_110.5


def histogram(values_us: list[int]) -> Histogram:
    """A histogram holding `values_us`."""
    hist = Histogram()
    for value in values_us:
        hist.record(value)
    return hist


def stage(
    ttft_us: list[int],
    *,
    latency_us: list[int] | None = None,
    failed: int = 0,
    steady_s: float = 10.0,
    verdict: str = "ok",
    cpu_share: float | None = None,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """One stage of a summary: `len(ttft_us)` ok turns plus `failed` errors."""
    hists = {"ttft": histogram(ttft_us)} if ttft_us else {}
    hists["latency"] = histogram(latency_us if latency_us is not None else ttft_us)
    ok = hists["latency"].count
    stats = StatsSnapshot(
        label="total",
        requests=ok + failed,
        ok=ok,
        errors={"conn_refused": failed} if failed else {},
        histograms=hists,
    )
    health: dict[str, Any] = {"verdict": verdict}
    if cpu_share is not None:
        health["figures"] = {"cpu_share": cpu_share}
    doc = {"steady_s": steady_s, "total": stats_json(stats, steady_s), "health": health}
    if duration_s is not None:
        doc["duration_s"] = duration_s
    return doc


def summary(
    *stages: dict[str, Any], started: float = START, stopped: bool = False
) -> dict[str, Any]:
    """A `loadtest.summary/1` document with `stages`."""
    return {
        "schema": SCHEMA,
        "run": {"started_unix_s": started, "stopped_early": stopped},
        "stages": list(stages),
    }


def figures(ttft_p50_ms: float | None, **changes: Any) -> Figures:
    """Figures of a clean run with the given TTFT p50."""
    fields: dict[str, Any] = {
        "stages": 1,
        "requests": 100,
        "ok": 100,
        "steady_s": 10.0,
        "ttft_p50_ms": ttft_p50_ms,
        "ttft_p95_ms": None if ttft_p50_ms is None else ttft_p50_ms + 5,
        "latency_p50_ms": None if ttft_p50_ms is None else ttft_p50_ms + 30,
        "latency_p95_ms": None if ttft_p50_ms is None else ttft_p50_ms + 40,
        "errors": {},
        "started_unix_s": START,
    }
    fields.update(changes)
    return Figures(**fields)


def row(name: str, ttft_p50_ms: float | None = None, **changes: Any) -> ServiceRound:
    """A gateway's row; FAILED when `failure` is given, else with figures."""
    failure = changes.pop("failure", None)
    if failure is not None:
        return ServiceRound(name, Path("runs") / name, 1, failure=failure)
    return ServiceRound(name, Path("runs") / name, 0, figures=figures(ttft_p50_ms, **changes))


def round_of(number: int, *rows: ServiceRound, of: int = 3) -> RoundResult:
    """A round of `rows`, TTFT compared, one stage."""
    return RoundResult(number, of, START, "ttft", ("4:10s",), tuple(rows))
