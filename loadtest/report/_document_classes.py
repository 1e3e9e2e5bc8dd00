"""The summary document's classes, defined once.

Rules:
- `StatsDoc` is one statistics object of the summary (a scenario of a
  stage, or the stage total) as JSON holds it; `MetricDoc` one latency-type
  statistic (ms); `TokensDoc` a distribution of tokens per turn; `CacheDoc`
  the prompt cache split. Their fields, in
  order, are the keys of the JSON object, in order: nothing else spells
  them out.
- `SummaryDoc`, `RunDoc` and `StageDoc` (with `TargetDoc`, `LimitsDoc`)
  are the whole summary. The goodput and sweep documents are in
  report/_goodput_doc.py; the converter that writes and reads them all is
  report/_document.py.
- Counters shared with `StatsSnapshot` (same name, an integer) are copied
  by name (`SHARED_COUNTERS`), never listed.

Pure; no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from loadtest.metrics import COUNTERS
from loadtest.report._goodput_doc import GoodputDoc, SweepDoc

__all__ = [
    "SHARED_COUNTERS",
    "CacheDoc",
    "CachePart",
    "LimitsDoc",
    "MetricDoc",
    "Number",
    "RunDoc",
    "SecondDoc",
    "SecondMetricDoc",
    "StageDoc",
    "StatsDoc",
    "SummaryDoc",
    "TargetDoc",
    "TokensDoc",
]

Number = int | float


@attrs.frozen(kw_only=True)
class MetricDoc:
    """One latency-type statistic in ms: min, mean, percentiles, max; and
    how many values (every figure null when there were none)."""

    min: Number | None
    mean: Number | None
    p50: Number | None
    p90: Number | None
    p95: Number | None
    p99: Number | None
    p999: Number | None
    max: Number | None
    count: Number | None


@attrs.frozen(kw_only=True)
class TokensDoc:
    """Tokens per ok turn (a prompt's, or an answer's): mean, percentiles,
    extremes and how many turns (every figure null when there were none)."""

    mean: Number | None
    min: int | None
    p50: int | None
    p90: int | None
    p99: int | None
    max: int | None
    count: int


@attrs.frozen(kw_only=True)
class CachePart:
    """The prompt cache's figures of first turns, or of later turns."""

    turns: int
    prompt_tokens: int
    cached_tokens: int
    cached_share: Number | None = None
    cached_turns: int


@attrs.frozen(kw_only=True)
class CacheDoc:
    first_turns: CachePart
    later_turns: CachePart


@attrs.frozen(kw_only=True)
class StatsDoc:
    """One statistics object of the summary (docs/reports.md defines each key)."""

    label: str
    requests: int
    ok: int
    failed: int | None = None
    interrupted: int
    warmup_turns: int
    dropped: int
    error_rate: Number | None
    throughput_rps: Number | None
    ok_rps: Number | None
    output_tokens_per_s: Number | None
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    estimated_turns: int
    cache: CacheDoc | None = None
    retries: int = 0
    errors: dict[str, int]
    status_codes: dict[str, int]
    unanswered: int = 0
    latency_ms: MetricDoc
    ttfb_ms: MetricDoc
    ttft_ms: MetricDoc
    itl_ms: MetricDoc
    tpot_ms: MetricDoc
    schedule_lag_ms: MetricDoc
    latency_corrected_ms: MetricDoc
    ttft_corrected_ms: MetricDoc
    chunk_gap_ms: MetricDoc | None = None
    stream_tail_ms: MetricDoc | None = None
    unanswered_wait_ms: MetricDoc | None = None
    prompt_tokens_dist: TokensDoc | None = None
    completion_tokens_dist: TokensDoc | None = None
    goodput: GoodputDoc | None = None
    histograms: dict[str, str] = attrs.Factory(dict)
    overflow: dict[str, int] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class TargetDoc:
    """One scenario's target as the run object lists it (its URL masked)."""

    scenario: str
    protocol: str
    model: str
    url: str
    weight: Number
    stream: bool


@attrs.frozen(kw_only=True)
class LimitsDoc:
    """The limits a run was checked against: on each stage's total, and per
    scenario (only those that set any)."""

    total: dict[str, Any]
    scenarios: dict[str, Any]


@attrs.frozen(kw_only=True)
class RunDoc:
    """The summary's `run` object. A field with a default may be absent
    from a summary written before it existed; `run_ids` and `seeds` are
    written only by `merge`, `segment` only by a shard, `segments`,
    `partial` and `missing_segments` only by a merge of segments (each
    omitted when None)."""

    tool: str = "loadtest"
    version: str = ""
    run_id: str | None = None
    profile: str
    seed: Any = None
    started_at: str
    ended_at: str
    started_unix_s: Number
    ended_unix_s: Number
    stopped_early: bool
    stage_plan: list[Any]
    cache_mode: str | None = None
    warmup_s: Number
    targets: list[TargetDoc] = attrs.Factory(list)
    thresholds: LimitsDoc | None = None
    shards: int
    jsonl_lines: int = 0
    sink_overflow: int = 0
    retries: int = 0
    jsonl_lost_lines: int = 0
    generator: dict[str, Any] = attrs.Factory(dict)
    run_ids: list[Any] | None = None
    seeds: list[Any] | None = None
    slo: list[str] | None = None
    #: A shard's execution segment, "K/N" (0-based K): `run --segment`, a worker.
    segment: str | None = None
    #: A merged run of segments: the segments it holds, in order.
    segments: list[Any] | None = None
    #: A merged run missing some segments (`merge --partial`, a dead worker).
    partial: bool | None = None
    #: Each missing segment ("K/N") and why it is missing.
    missing_segments: dict[str, str] | None = None


@attrs.frozen(kw_only=True)
class SecondMetricDoc:
    """One latency-type statistic of one second, ms (null when no value)."""

    p50: Number | None
    p90: Number | None
    p99: Number | None
    count: int


@attrs.frozen(kw_only=True)
class SecondDoc:
    """One wall-clock second of a stage's time series (docs/reports.md,
    "Time series"); `t` is the whole Unix second it starts at."""

    t: int
    started: int
    finished: int
    in_flight: int
    requests: int
    ok: int
    errors: dict[str, int]
    output_tokens: int
    good: int = 0
    latency_ms: SecondMetricDoc
    ttft_ms: SecondMetricDoc
    itl_ms: SecondMetricDoc
    histograms: dict[str, str] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class StageDoc:
    """One stage of a summary; `vus` (closed stages), `ramp_to` (ramps) and
    `requests` (a request cap) are omitted when None."""

    index: int
    mode: Literal["closed", "open"]
    concurrency: Number | None
    rate: Number | None
    ramp_to: Number | None = None
    requests: int | None = None
    duration_s: Number
    warmup_s: Number
    steady_s: Number
    started_at: str
    ended_at: str
    stopped_early: bool = False
    ended_by: str = "duration"
    vus: dict[str, int] | None = None
    total: StatsDoc
    scenarios: list[StatsDoc]
    health: dict[str, Any] = attrs.Factory(dict)
    timeseries: list[SecondDoc] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class SummaryDoc:
    """The whole summary. `thresholds` (the verdicts) is omitted when None:
    a merged summary has none until they are evaluated again."""

    schema: str
    run: RunDoc
    stages: list[StageDoc]
    thresholds: list[Any] | None = None
    sweep: SweepDoc | None = None


#: The counters of a `StatsSnapshot` that the summary holds under the same name.
SHARED_COUNTERS: tuple[str, ...] = tuple(
    name for name in COUNTERS if name in attrs.fields_dict(StatsDoc)
)
