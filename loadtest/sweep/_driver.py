"""`run_sweep`: the sweep's probes run on an engine, through the library API.

Each probe is one stage decided at run time (`engine.run_stage(...)` with
a `closed_stage` or `open_stage`), so it is snapshotted, recorded and
reported like any stage; the search (sweep/_search.py) decides the next
one from the results so far (sweep/_probe.py). A script can do the same
with its own search: this module is the whole driver.

A stop (`engine.request_stop()`, Ctrl-C) ends the probe running: it is
reported, not judged, and the knee is the highest rate that passed so far.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from loadtest.config import Duration, Stage, closed_stage, open_stage, parse_duration
from loadtest.metrics import StageSnapshot
from loadtest.report import KneeDoc, ProbeDoc, SweepDoc
from loadtest.sweep._probe import judge_probe, probe_doc
from loadtest.sweep._search import Done, Probe, ProbeResult, SweepSearch, SweepSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from loadtest.engine import Engine

__all__ = ["SweepOutcome", "run_sweep"]


@attrs.frozen
class SweepOutcome:
    """The probes' stage snapshots, in order, and the summary's `sweep`."""

    stages: tuple[StageSnapshot, ...]
    sweep: SweepDoc
    stopped_early: bool = False


def _stage(probe: Probe, duration: Duration) -> Stage:
    if probe.kind == "rate":
        assert probe.rate is not None
        return open_stage(probe.rate, duration)
    assert probe.vus is not None
    return closed_stage(probe.vus, duration)


async def run_sweep(
    engine: Engine,
    settings: SweepSettings,
    probe_duration: Duration | str,
    *,
    on_probe: Callable[[ProbeDoc], None] | None = None,
) -> SweepOutcome:
    """Probe until the search is done (or a stop); `on_probe` hears each
    probe's record as it ends. The engine's plan must have SLOs."""
    if not engine.plan.slo:
        raise ValueError("a sweep needs SLOs: set the profile's slo, or pass them")
    duration = (
        probe_duration if isinstance(probe_duration, Duration) else parse_duration(probe_duration)
    )
    search = SweepSearch(settings)
    stages: list[StageSnapshot] = []
    probes: list[ProbeDoc] = []
    stopped = False
    step = search.next()
    while isinstance(step, Probe):
        if engine.stop_requested:
            stopped = True
            break
        snapshot = await engine.run_stage(_stage(step, duration))
        stages.append(snapshot)
        if snapshot.stopped_early or engine.stop_requested:
            stopped = True
            unjudged = ProbeResult(step.kind, False, None, None, snapshot.rate)
            probes.append(probe_doc(snapshot, unjudged))
            if on_probe is not None:
                on_probe(probes[-1])
            break
        result = judge_probe(snapshot, step.kind, settings.goodput_target)
        search.record(result)
        probes.append(probe_doc(snapshot, result))
        if on_probe is not None:
            on_probe(probes[-1])
        step = search.next()
    done = search.stopped() if stopped else step
    assert isinstance(done, Done)
    return SweepOutcome(
        stages=tuple(stages),
        sweep=SweepDoc(
            slo=[str(slo) for slo in engine.plan.slo],
            goodput_target=settings.goodput_target,
            probes=probes,
            knee=KneeDoc(
                rate_rps=done.rate,
                stage=_knee_stage(probes, done.rate),
                next_failed_because=done.next_failed_because,
                note=done.note,
            ),
        ),
        stopped_early=stopped,
    )


def _knee_stage(probes: list[ProbeDoc], rate: float | None) -> int | None:
    for probe in probes:
        if probe.kind == "rate" and probe.passed and probe.offered_rps == rate:
            return probe.stage
    return None
