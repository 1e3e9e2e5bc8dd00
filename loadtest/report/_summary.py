"""The summary document: frozen stage snapshots -> plain JSON data, and back.

Rules:
- Each statistics object (a scenario of a stage, or the stage total) and
  each stage's time series follow report/_summary_stats.py, which holds
  their rules (exact counters, rates per steady second, latency from HDR
  histograms embedded so shards merge exactly, goodput, the cache split).
- Secrets never enter the document: targets are masked.
- The document is complete: `thresholds` holds the verdict of every limit
  of the plan in every stage (`evaluate_thresholds`); a caller adds nothing.

Pure: builds the summary's documents (report/_document.py) and writes them
as plain data through the one summary converter; reads them back.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from loadtest import __version__
from loadtest.config import ClosedStage, format_stage, mask_url
from loadtest.report._document import (
    LimitsDoc,
    RunDoc,
    StageDoc,
    SummaryDoc,
    SweepDoc,
    TargetDoc,
    summary_converter,
)
from loadtest.report._schema import SCHEMA
from loadtest.report._summary_stats import (
    metric_json,
    series_docs,
    stats_doc,
    stats_from_json,
    stats_json,
)
from loadtest.report._thresholds import evaluate_thresholds

if TYPE_CHECKING:
    from loadtest.config import RunPlan, Thresholds
    from loadtest.metrics import StageSnapshot

__all__ = [
    "RunInfo",
    "RunLike",
    "build_summary",
    "metric_json",
    "run_info",
    "series_docs",
    "stats_doc",
    "stats_from_json",
    "stats_json",
    "sweep_json",
]


def _new_run_id() -> str:
    return uuid.uuid4().hex


@attrs.frozen
class RunInfo:
    """Facts about a run that are not in its stage snapshots. `run_id` is
    new for every run (random), so `merge` can tell a shard from a copy."""

    started_unix_s: float
    ended_unix_s: float
    stopped_early: bool = False
    jsonl_lines: int = 0
    sink_overflow: int = 0
    jsonl_lost_lines: int = 0
    shards: int = 1
    generator: Mapping[str, Any] = attrs.field(factory=dict)
    run_id: str = attrs.field(factory=_new_run_id)


def _iso(unix_s: float) -> str:
    return datetime.datetime.fromtimestamp(unix_s, tz=datetime.UTC).isoformat(
        timespec="milliseconds"
    )


def sweep_json(sweep: SweepDoc) -> dict[str, Any]:
    """A sweep's section of the summary (`summary["sweep"]`), as plain data."""
    data: dict[str, Any] = summary_converter.unstructure(sweep)
    return data


def _stage_doc(stage: StageSnapshot, names: Sequence[str]) -> StageDoc:
    return StageDoc(
        index=stage.index,
        mode=stage.mode,
        concurrency=stage.concurrency,
        rate=stage.rate,
        ramp_to=stage.ramp_to,
        requests=stage.requests,
        duration_s=stage.duration_s,
        warmup_s=stage.warmup_s,
        steady_s=round(stage.steady_s, 6),
        started_at=_iso(stage.started_unix_s),
        ended_at=_iso(stage.ended_unix_s),
        stopped_early=stage.stopped_early,
        ended_by=stage.ended_by,
        vus=dict(zip(names, stage.vus, strict=True)) if stage.vus else None,
        total=stats_doc(stage.total, stage.steady_s, goodput=bool(stage.slo)),
        scenarios=[stats_doc(s, stage.steady_s, goodput=bool(stage.slo)) for s in stage.scenarios],
        health=stage.health.to_json() if stage.health is not None else {},
        timeseries=series_docs(stage.timeseries),
    )


def _limits(thresholds: Thresholds | None) -> dict[str, float]:
    if thresholds is None:
        return {}
    return {k: v for k, v in attrs.asdict(thresholds).items() if v is not None}


def _limits_doc(plan: RunPlan) -> LimitsDoc:
    scenarios = {s.name: _limits(s.thresholds) for s in plan.scenarios}
    return LimitsDoc(
        total=_limits(plan.thresholds),
        scenarios={name: limits for name, limits in scenarios.items() if limits},
    )


class RunLike(Protocol):
    """What `build_summary` reads of a finished run (the engine's `RunResult`)."""

    @property
    def stages(self) -> Sequence[StageSnapshot]: ...
    @property
    def started_unix_s(self) -> float: ...
    @property
    def ended_unix_s(self) -> float: ...
    @property
    def stopped_early(self) -> bool: ...


def run_info(result: RunLike, **facts: Any) -> RunInfo:
    """The `RunInfo` of a run result: its times and stop, its open-file
    limits (under `generator`), and any other fact given (`jsonl_lines`, ...)."""
    fd_limits = getattr(result, "fd_limits", None)
    generator = {"fd_limits": fd_limits.to_json()} if fd_limits is not None else {}
    return RunInfo(
        started_unix_s=result.started_unix_s,
        ended_unix_s=result.ended_unix_s,
        stopped_early=result.stopped_early,
        **{"generator": generator, **facts},
    )


def build_summary(
    plan: RunPlan,
    run: RunLike | Sequence[StageSnapshot],
    info: RunInfo | None = None,
    *,
    thresholds: bool = True,
) -> dict[str, Any]:
    """The whole summary document of a run, threshold verdicts included.

    `run` is the engine's `RunResult` (`info` then defaults to its
    `run_info`) or the stage snapshots (`info` required). `thresholds=False`
    leaves the verdicts out (`thresholds: []`); the limits stay under
    `run.thresholds`."""
    if isinstance(run, Sequence):
        if info is None:
            raise TypeError("build_summary: pass `info` with a sequence of stage snapshots")
        stages: Sequence[StageSnapshot] = run
    else:
        stages = run.stages
        info = info if info is not None else run_info(run)
    doc = _document(plan, stages, info)
    if thresholds:
        doc = attrs.evolve(doc, thresholds=evaluate_thresholds(summary_converter.unstructure(doc)))
    summary: dict[str, Any] = summary_converter.unstructure(
        doc if thresholds else attrs.evolve(doc, thresholds=[])
    )
    return summary


def _is_planned(stage: StageSnapshot, plan: RunPlan) -> bool:
    if not 0 <= stage.index < len(plan.stages):
        return False
    planned = plan.stages[stage.index]
    segment = plan.segment  # a segment ran its share of the load, the ramp's end and the count
    ramp_to: float | None = None
    load: tuple[str, int | None, float | None]
    if isinstance(planned, ClosedStage):
        load = ("closed", sum(plan.segment_vus(planned)), None)
        if planned.ramp_to is not None:
            ramp_to = segment.share(planned.ramp_to)
    else:
        load = ("open", None, planned.rate / segment.count)
        if planned.ramp_to is not None:
            ramp_to = planned.ramp_to / segment.count
    requests = None if planned.requests is None else segment.share(planned.requests)
    return (stage.mode, stage.concurrency, stage.rate, stage.ramp_to, stage.requests) == (
        *load,
        ramp_to,
        requests,
    ) and (planned.duration is None or stage.duration_s == planned.duration.seconds)


def _ran(stage: StageSnapshot) -> str:
    count = f"{stage.requests}x" if stage.requests is not None else ""
    if stage.mode == "closed":
        ramp = f"->{stage.ramp_to:g}" if stage.ramp_to is not None else ""
        load = f"{stage.concurrency}{ramp}"
    else:
        ramp = f"->@{stage.ramp_to:g}" if stage.ramp_to is not None else ""
        load = f"@{stage.rate:g}{ramp}"
    return f"{count}{load}:{stage.duration_s:g}s"


def stage_plan(plan: RunPlan, stages: Sequence[StageSnapshot]) -> list[str]:
    """`run.stage_plan`: the plan's stages when the stages that ran are the
    plan's (all of them or the first few, as after a stop), else the stages
    that ran, in order (a script that decided its stages at run time)."""
    if all(_is_planned(stage, plan) for stage in stages):
        return [format_stage(stage) for stage in plan.stages]
    return [_ran(stage) for stage in stages]


def _document(plan: RunPlan, stages: Sequence[StageSnapshot], info: RunInfo) -> SummaryDoc:
    names = [s.name for s in plan.scenarios]
    run = RunDoc(
        tool="loadtest",
        version=__version__,
        run_id=info.run_id,
        profile=plan.name,
        seed=plan.seed,
        started_at=_iso(info.started_unix_s),
        ended_at=_iso(info.ended_unix_s),
        started_unix_s=round(info.started_unix_s, 6),
        ended_unix_s=round(info.ended_unix_s, 6),
        stopped_early=info.stopped_early or any(stage.stopped_early for stage in stages),
        stage_plan=stage_plan(plan, stages),
        cache_mode=plan.cache_mode,
        warmup_s=plan.warmup_s,
        targets=[
            TargetDoc(
                scenario=s.name,
                protocol=s.protocol,
                model=s.model,
                url=mask_url(s.target.url),
                weight=s.weight,
                stream=s.stream,
            )
            for s in plan.scenarios
        ],
        thresholds=_limits_doc(plan),
        shards=info.shards,
        jsonl_lines=info.jsonl_lines,
        sink_overflow=info.sink_overflow,
        retries=sum(stage.total.retries for stage in stages),
        jsonl_lost_lines=info.jsonl_lost_lines,
        generator=dict(info.generator),
        slo=[str(slo) for slo in plan.slo] or None,
        segment=None if plan.segment.whole else str(plan.segment),
    )
    return SummaryDoc(schema=SCHEMA, run=run, stages=[_stage_doc(stage, names) for stage in stages])
