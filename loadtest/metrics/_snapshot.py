"""Frozen statistics: what a stage measured, per scenario and in total.

A `StatsSnapshot` holds counters and HDR histograms (integer µs) for one
scenario of one stage, or for the stage total; a `StageSnapshot` holds the
stage's plan and timing beside them. Snapshots are built once, when the
stage ends, and never change afterwards: reports, summaries and `compare`
read them, and merging two shards' snapshots is exact (counters add,
histograms add count for count).

Pure; no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Literal, TypeVar

import attrs

from loadtest.metrics._health import Health
from loadtest.metrics._histogram import Histogram
from loadtest.metrics._percentiles import ReadsPercentiles
from loadtest.metrics._timeseries import Second

__all__ = [
    "COUNTERS",
    "HISTOGRAMS",
    "EndedBy",
    "Metric",
    "StageSnapshot",
    "StatsSnapshot",
    "merge_stats",
]

K = TypeVar("K")
#: What ended a stage's time (StageSnapshot.ended_by).
EndedBy = Literal["duration", "requests", "run-requests", "stopped"]


class Metric(enum.StrEnum):
    """The histograms kept per (stage, scenario): integer microseconds, but
    for the two token histograms (`prompt_tokens`, `completion_tokens`:
    tokens per ok turn).

    A member is its name as a string (`Metric.TTFT == "ttft"`), so either
    spelling reads a histogram; the enum is what scripts and type checkers use.
    """

    LATENCY = "latency"
    TTFB = "ttfb"
    TTFT = "ttft"
    ITL = "itl"
    TPOT = "tpot"
    #: Open loop: actual start minus intended start (schedule lag).
    LAG = "lag"
    LATENCY_CORRECTED = "latency_corrected"
    TTFT_CORRECTED = "ttft_corrected"
    CHUNK_GAP = "chunk_gap"
    STREAM_TAIL = "stream_tail"
    #: The wait of turns cut off with no response byte.
    UNANSWERED = "unanswered"
    #: Tokens per ok turn (not µs): the prompt's, and the answer's.
    PROMPT_TOKENS = "prompt_tokens"
    COMPLETION_TOKENS = "completion_tokens"


#: Every histogram kept per (stage, scenario), in the order reports list them.
HISTOGRAMS: tuple[Metric, ...] = tuple(Metric)


@attrs.frozen
class StatsSnapshot(ReadsPercentiles):
    """Counters and histograms of one scenario (or of a whole stage).

    `requests` counts turns that started in the steady window and completed
    (ok or failed); `interrupted` the steady turns cut off by the stage's
    end; `warmup_turns` the turns that started during warm-up (all
    outcomes), kept out of everything else; `retries` the requests the
    completed steady turns resent. Histograms hold ok turns only,
    except `lag`, which holds every steady turn's schedule lag, and
    `unanswered`. `prompt_tokens` and `completion_tokens` hold each ok
    turn's token counts (reported by the server, else estimated: see
    `estimated_turns`).

    Prompt cache, over ok turns: `cached_turns` counts those that reported
    any cached token; `first_turns` the ok first turns of conversations, of
    which `first_turns_cached` reported cached tokens, with their own
    `first_turn_prompt_tokens` and `first_turn_cached_tokens` (later turns
    are the rest of the totals).

    `unanswered` counts the interrupted turns that had received no response
    byte when they were cut off, warm-up ones included (a hung gateway
    hangs from its first turn); the `unanswered` histogram holds how long
    each had waited. They are the trace of a gateway that accepts requests
    and never answers.

    `judged` counts the completed steady turns judged against the run's
    SLOs (all of them when it has any, else none), `good` those that were
    ok and met every SLO (metrics/_goodput.py).
    """

    label: str
    requests: int = 0
    ok: int = 0
    interrupted: int = 0
    warmup_turns: int = 0
    dropped: int = 0
    errors: Mapping[str, int] = attrs.field(factory=dict)
    status_codes: Mapping[int, int] = attrs.field(factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    estimated_turns: int = 0
    cached_turns: int = 0
    first_turns: int = 0
    first_turns_cached: int = 0
    first_turn_prompt_tokens: int = 0
    first_turn_cached_tokens: int = 0
    retries: int = 0
    unanswered: int = 0
    #: Goodput (a run with SLOs): completed steady turns judged, and the good ones.
    judged: int = 0
    good: int = 0
    histograms: Mapping[str, Histogram] = attrs.field(factory=dict)

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    @property
    def error_rate(self) -> float:
        """Failed share of the completed steady turns (0 when there were none)."""
        return self.failed / self.requests if self.requests else 0.0

    def histogram(self, name: Metric | str) -> Histogram:
        found = self.histograms.get(name)
        return found if found is not None else Histogram()


#: The integer counters of a `StatsSnapshot`, in field order (they add when merged).
COUNTERS: tuple[str, ...] = tuple(
    field.name for field in attrs.fields(StatsSnapshot) if field.type in ("int", int)
)


def merge_stats(label: str, parts: Iterable[StatsSnapshot]) -> StatsSnapshot:
    """The exact sum of several snapshots (scenarios into a total, or shards)."""
    errors: dict[str, int] = {}
    codes: dict[int, int] = {}
    hists: dict[str, Histogram] = {}
    sums = dict.fromkeys(COUNTERS, 0)
    for part in parts:
        for name in COUNTERS:
            sums[name] += getattr(part, name)
        _add_counts(errors, part.errors)
        _add_counts(codes, part.status_codes)
        for name, hist in part.histograms.items():
            if name in hists:
                hists[name].merge(hist)
            else:
                hists[name] = hist.copy()
    return StatsSnapshot(label=label, errors=errors, status_codes=codes, histograms=hists, **sums)


def _add_counts(into: dict[K, int], counts: Mapping[K, int]) -> None:
    for key, count in counts.items():
        into[key] = into.get(key, 0) + count


@attrs.frozen
class StageSnapshot:
    """One finished stage: its load, its windows, and what was measured.

    `steady_s` is the window RPS and tokens/s are computed over: the stage's
    duration minus its warm-up. `started_unix_s`/`ended_unix_s` are wall
    clock (the end includes the graceful stop). `stopped_early` is set when
    Ctrl-C or SIGTERM ended the stage before its time. `timeseries` holds
    one bucket per wall-clock second (metrics/_timeseries.py). `ramp_to` is
    a ramp's other end (VUs or rate, beside `concurrency` or `rate`);
    `requests` the stage's request cap; `ended_by` what ended its time:
    "duration", "requests" (its cap), "run-requests" (the run's
    `max_requests`) or "stopped" (Ctrl-C, SIGTERM, `stop_stage`).
    """

    index: int
    mode: Literal["closed", "open"]
    duration_s: float
    warmup_s: float
    steady_s: float
    started_unix_s: float
    ended_unix_s: float
    scenarios: tuple[StatsSnapshot, ...]
    total: StatsSnapshot
    concurrency: int | None = None
    rate: float | None = None
    vus: tuple[int, ...] = ()
    stopped_early: bool = False
    #: The generator's verdict on itself in this stage (None: not assessed).
    health: Health | None = None
    timeseries: tuple[Second, ...] = ()
    ramp_to: float | None = None
    requests: int | None = None
    ended_by: EndedBy = "duration"
    #: The SLOs its turns were judged against, canonical (empty: no goodput).
    slo: tuple[str, ...] = ()
