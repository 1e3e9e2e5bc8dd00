"""The summary document: frozen stage snapshots -> plain JSON data, and back.

Rules:
- Counters are exact; rates are per second of each stage's steady window
  (`steady_s`: its duration minus warm-up), and null when that window is
  empty. `error_rate` is null when no steady turn completed: "0 errors of
  0 turns" is no data, never a clean 0.
- `unanswered` counts interrupted turns that had no response byte (warm-up
  included); `unanswered_wait_ms` is how long they had waited.
- `prompt_tokens_dist` and `completion_tokens_dist` are the realised tokens
  per ok turn (mean, p50/p90/p99, extremes), from their HDR histograms
  (embedded like the others): the server's usage, else estimates
  (`estimated_turns` counts those turns).
- Each latency-type statistic holds min, mean, p50..p99.9, max and count in
  milliseconds, computed from its HDR histogram; the histogram itself is
  embedded in the standard compressed HDR encoding, so summaries of several
  shards merge exactly (`stats_from_json` decodes them back).
- `timeseries` holds one bucket per wall-clock second of the stage
  (metrics/_timeseries.py): counters that add up to the stage's totals,
  and p50/p90/p99 of latency, TTFT and ITL from the second's 2-figure HDR
  histograms, embedded (encoded) so shards merge exactly.
- `goodput` (a run with SLOs, `run.slo`): the turns judged, the good
  ones, their share and good turns per steady second (docs/metrics.md,
  "Goodput"); absent from runs without SLOs.
- `cache` splits the prompt cache's figures into first turns of
  conversations and later turns: turns, prompt and cached tokens, the
  cached share (cached / prompt tokens, null without prompt tokens) and the
  turns that reported any cached token.
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
from loadtest.metrics import (
    HISTOGRAMS,
    Histogram,
    Metric,
    Second,
    StageSnapshot,
    StatsSnapshot,
)
from loadtest.report._document import (
    SHARED_COUNTERS,
    CacheDoc,
    CachePart,
    GoodputDoc,
    LimitsDoc,
    MetricDoc,
    RunDoc,
    SecondDoc,
    SecondMetricDoc,
    StageDoc,
    StatsDoc,
    SummaryDoc,
    SweepDoc,
    TargetDoc,
    TokensDoc,
    read_stats,
    summary_converter,
)
from loadtest.report._schema import PERCENTILE_KEYS, PERCENTILES, SCHEMA, SUMMARY_METRICS
from loadtest.report._thresholds import evaluate_thresholds
from loadtest.taxonomy import GEN_DROPPED

if TYPE_CHECKING:
    from loadtest.config import RunPlan, Thresholds

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


def _ms(value_us: float) -> float:
    return round(value_us / 1000, 3)


def _metric_doc(hist: Histogram) -> MetricDoc:
    if hist.count == 0:
        return MetricDoc(**(dict.fromkeys(PERCENTILE_KEYS) | {"count": 0}))
    values = hist.percentiles(list(PERCENTILES))
    return MetricDoc(
        min=_ms(hist.min),
        mean=_ms(hist.mean),
        max=_ms(hist.max),
        count=hist.count,
        **{key: _ms(values[p]) for p, key in PERCENTILES.items()},
    )


def _tokens_doc(hist: Histogram) -> TokensDoc:
    if hist.count == 0:
        none = dict.fromkeys(("mean", "min", "p50", "p90", "p99", "max"))
        return TokensDoc(**none, count=0)
    values = hist.percentiles([50, 90, 99])
    return TokensDoc(
        mean=round(hist.mean, 1),
        min=hist.min,
        p50=values[50],
        p90=values[90],
        p99=values[99],
        max=hist.max,
        count=hist.count,
    )


def metric_json(hist: Histogram) -> dict[str, Any]:
    """min, mean, percentiles, max (ms) and count of one histogram."""
    data: dict[str, Any] = summary_converter.unstructure(_metric_doc(hist))
    return data


def _cache_part(turns: int, prompt: int, cached: int, cached_turns: int) -> CachePart:
    return CachePart(
        turns=turns,
        prompt_tokens=prompt,
        cached_tokens=cached,
        cached_share=round(cached / prompt, 6) if prompt else None,
        cached_turns=cached_turns,
    )


def _cache_doc(stats: StatsSnapshot) -> CacheDoc:
    first_prompt, first_cached = stats.first_turn_prompt_tokens, stats.first_turn_cached_tokens
    return CacheDoc(
        first_turns=_cache_part(
            stats.first_turns, first_prompt, first_cached, stats.first_turns_cached
        ),
        later_turns=_cache_part(
            stats.ok - stats.first_turns,
            stats.prompt_tokens - first_prompt,
            stats.cached_tokens - first_cached,
            stats.cached_turns - stats.first_turns_cached,
        ),
    )


def stats_json(stats: StatsSnapshot, steady_s: float, *, goodput: bool = False) -> dict[str, Any]:
    """One statistics object of the summary (a scenario or a stage total)."""
    data: dict[str, Any] = summary_converter.unstructure(
        stats_doc(stats, steady_s, goodput=goodput)
    )
    return data


def sweep_json(sweep: SweepDoc) -> dict[str, Any]:
    """A sweep's section of the summary (`summary["sweep"]`), as plain data."""
    data: dict[str, Any] = summary_converter.unstructure(sweep)
    return data


def stats_doc(stats: StatsSnapshot, steady_s: float, *, goodput: bool = False) -> StatsDoc:
    """The statistics document of a snapshot, rates over `steady_s`;
    `goodput`: the run had SLOs (its turns were judged)."""

    def per_s(count: int) -> float | None:
        return round(count / steady_s, 3) if steady_s > 0 else None

    errors = dict(sorted(stats.errors.items()))
    if stats.dropped:
        errors[GEN_DROPPED.value] = stats.dropped
    hists = {name.value: stats.histogram(name) for name in HISTOGRAMS}
    metrics: dict[str, Any] = {
        key: _metric_doc(stats.histogram(name)) for name, key in SUMMARY_METRICS.items()
    }
    doc = StatsDoc(
        label=stats.label,
        failed=stats.failed,
        error_rate=round(stats.error_rate, 6) if stats.requests else None,
        throughput_rps=per_s(stats.requests),
        ok_rps=per_s(stats.ok),
        output_tokens_per_s=per_s(stats.completion_tokens),
        cache=_cache_doc(stats),
        errors=errors,
        status_codes={str(code): n for code, n in sorted(stats.status_codes.items())},
        unanswered_wait_ms=_metric_doc(stats.histogram(Metric.UNANSWERED)),
        prompt_tokens_dist=_tokens_doc(stats.histogram(Metric.PROMPT_TOKENS)),
        completion_tokens_dist=_tokens_doc(stats.histogram(Metric.COMPLETION_TOKENS)),
        goodput=(
            GoodputDoc(
                judged=stats.judged,
                good=stats.good,
                share=round(stats.good / stats.judged, 6) if stats.judged else None,
                good_per_s=per_s(stats.good),
            )
            if goodput
            else None
        ),
        histograms={name: h.encode() for name, h in hists.items() if h.count},
        overflow={name: h.overflow for name, h in hists.items() if h.overflow},
        **metrics,
        **{name: getattr(stats, name) for name in SHARED_COUNTERS},
    )
    return doc


#: What a summary written before the cache split holds for it: nothing.
_NO_CACHE = CachePart(turns=0, prompt_tokens=0, cached_tokens=0, cached_turns=0)


def stats_from_json(doc: Mapping[str, Any]) -> StatsSnapshot:
    """The snapshot a statistics object was built from (histograms decoded;
    `overflow` restored); ValueError naming each problem of a malformed one."""
    stats = read_stats(doc)
    hists = {name: Histogram.decode(text) for name, text in stats.histograms.items()}
    for name, count in stats.overflow.items():
        hists.setdefault(name, Histogram()).merge(_overflow_only(count))
    first, later = (
        (stats.cache.first_turns, stats.cache.later_turns)
        if stats.cache
        else (
            _NO_CACHE,
            _NO_CACHE,
        )
    )
    return StatsSnapshot(
        label=stats.label,
        errors={k: v for k, v in stats.errors.items() if k != GEN_DROPPED},
        status_codes={int(code): n for code, n in stats.status_codes.items()},
        cached_turns=first.cached_turns + later.cached_turns,
        first_turns=first.turns,
        first_turns_cached=first.cached_turns,
        first_turn_prompt_tokens=first.prompt_tokens,
        first_turn_cached_tokens=first.cached_tokens,
        histograms=hists,
        judged=stats.goodput.judged if stats.goodput else 0,
        good=stats.goodput.good if stats.goodput else 0,
        **{name: getattr(stats, name) for name in SHARED_COUNTERS},
    )


def _overflow_only(count: int) -> Histogram:
    hist = Histogram()
    hist.record(-1, count)  # out of range on purpose: counted in `overflow`
    return hist


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


def series_docs(series: Sequence[Second]) -> list[SecondDoc]:
    """A stage's time series as the summary holds it."""
    return [
        SecondDoc(
            t=second.t,
            started=second.started,
            finished=second.finished,
            in_flight=second.in_flight,
            requests=second.requests,
            ok=second.ok,
            errors=dict(sorted(second.errors.items())),
            output_tokens=second.output_tokens,
            good=second.good,
            latency_ms=_second_metric(second.histogram("latency")),
            ttft_ms=_second_metric(second.histogram("ttft")),
            itl_ms=_second_metric(second.histogram("itl")),
            histograms=dict(second.histograms),
        )
        for second in series
    ]


def _second_metric(hist: Histogram) -> SecondMetricDoc:
    if not hist.count:
        return SecondMetricDoc(p50=None, p90=None, p99=None, count=0)
    values = hist.percentiles([50, 90, 99])
    return SecondMetricDoc(
        p50=_ms(values[50]), p90=_ms(values[90]), p99=_ms(values[99]), count=hist.count
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
