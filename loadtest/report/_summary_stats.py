"""The summary's statistics objects: a frozen `StatsSnapshot` -> `StatsDoc`
-> plain JSON data, and back; and a stage's time series.

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

Pure: builds the documents (report/_document.py) and writes them as plain
data through the one summary converter; reads them back. report/_summary.py
puts them into the whole summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loadtest.metrics import (
    HISTOGRAMS,
    Histogram,
    Metric,
    Second,
    StatsSnapshot,
)
from loadtest.report._document import (
    SHARED_COUNTERS,
    CacheDoc,
    CachePart,
    GoodputDoc,
    MetricDoc,
    SecondDoc,
    SecondMetricDoc,
    StatsDoc,
    TokensDoc,
    read_stats,
    summary_converter,
)
from loadtest.report._schema import PERCENTILE_KEYS, PERCENTILES, SUMMARY_METRICS
from loadtest.taxonomy import GEN_DROPPED

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "metric_json",
    "series_docs",
    "stats_doc",
    "stats_from_json",
    "stats_json",
]


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
