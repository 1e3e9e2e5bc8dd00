"""Goodput, SLOs and a sweep's probes, read from a summary for the HTML page.

Rules:
- These keys are written by runs with SLOs (`stats.goodput`, `run.slo`) and
  by `loadtest sweep` (the summary's `sweep`); a summary without them (an
  older one, or a run without SLOs) reads as None / empty here, and the
  page leaves their charts and columns out.
- They are read defensively from the plain summary dict: a value of the
  wrong type reads as absent (the page shows less, it never fails), since
  `check_summary` owns the summary's validation.

Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Goodput", "Knee", "Probe", "Sweep", "goodput_of", "slo_of", "sweep_of"]

Doc = Mapping[str, Any]


def _number(value: object) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _object(value: object) -> Doc:
    return value if isinstance(value, Mapping) else {}


@attrs.frozen(kw_only=True)
class Goodput:
    """A statistics object's goodput: turns judged against the SLOs, how
    many met them, their share and rate."""

    judged: int
    good: int
    share: float | None
    good_per_s: float | None


def goodput_of(stats: Doc) -> Goodput | None:
    """`stats["goodput"]`, or None when absent or malformed."""
    doc = stats.get("goodput")
    if not isinstance(doc, Mapping):
        return None
    judged, good = _number(doc.get("judged")), _number(doc.get("good"))
    if judged is None or good is None:
        return None
    return Goodput(
        judged=int(judged),
        good=int(good),
        share=_number(doc.get("share")),
        good_per_s=_number(doc.get("good_per_s")),
    )


def slo_of(summary: Doc) -> tuple[str, ...]:
    """The run's SLOs as written (`run.slo`), empty when none."""
    slo = _object(summary.get("run")).get("slo")
    return tuple(s for s in slo if isinstance(s, str)) if isinstance(slo, list) else ()


@attrs.frozen(kw_only=True)
class Probe:
    """One probe of a sweep: a stage at one offered rate, and its verdict."""

    stage: int | None
    kind: str
    offered_rps: float | None
    achieved_rps: float | None
    goodput: float | None
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    latency_p99_ms: float | None
    health: str
    passed: bool
    reason: str | None


@attrs.frozen(kw_only=True)
class Knee:
    """Where the sweep found the knee: the highest rate that passed."""

    rate_rps: float | None
    stage: int | None
    next_failed_because: str | None
    note: str


@attrs.frozen(kw_only=True)
class Sweep:
    slo: tuple[str, ...]
    goodput_target: float | None
    probes: tuple[Probe, ...]
    knee: Knee


def _stage(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _probe(doc: Doc) -> Probe:
    return Probe(
        stage=_stage(doc.get("stage")),
        kind=_text(doc.get("kind")) or "rate",
        offered_rps=_number(doc.get("offered_rps")),
        achieved_rps=_number(doc.get("achieved_rps")),
        goodput=_number(doc.get("goodput")),
        ttft_p50_ms=_number(doc.get("ttft_p50_ms")),
        ttft_p99_ms=_number(doc.get("ttft_p99_ms")),
        latency_p99_ms=_number(doc.get("latency_p99_ms")),
        health=_text(doc.get("health")) or "-",
        passed=doc.get("passed") is True,
        reason=_text(doc.get("reason")),
    )


def sweep_of(summary: Doc) -> Sweep | None:
    """The summary's `sweep`, or None when absent or not an object."""
    doc = summary.get("sweep")
    if not isinstance(doc, Mapping):
        return None
    probes = doc.get("probes")
    knee = _object(doc.get("knee"))
    return Sweep(
        slo=slo_of({"run": {"slo": doc.get("slo")}}),
        goodput_target=_number(doc.get("goodput_target")),
        probes=tuple(_probe(p) for p in probes if isinstance(p, Mapping))
        if isinstance(probes, list)
        else (),
        knee=Knee(
            rate_rps=_number(knee.get("rate_rps")),
            stage=_stage(knee.get("stage")),
            next_failed_because=_text(knee.get("next_failed_because")),
            note=_text(knee.get("note")) or "",
        ),
    )
