"""One stage's time series: a bucket of counters per wall-clock second.

Rules:
- Buckets are aligned on wall-clock seconds (`t` is a whole Unix second,
  the floor of the time), never on the stage's start: shards of one run
  then share every bucket boundary whatever their start, so merging adds
  bucket `t` to bucket `t`, exactly.
- `started` counts every turn at the second it started, `finished` at the
  second it ended (start plus latency), any outcome, warm-up and
  interrupted turns included: `in_flight` (at the end of a second) is the
  running sum of started minus finished, so it is derived, never stored
  in the recorder, and a merge recomputes it exactly.
- `requests`, `ok`, `errors` (by class) and `output_tokens` count steady
  turns only, at the second they ended, as the stage's totals count them:
  the buckets add up to the stage's `requests`, `ok`, `errors` and
  `completion_tokens` exactly; `good` counts the good steady turns (a run
  with SLOs: metrics/_goodput.py), as the stage's `good`. Dropped arrivals are not turns and are not
  in the series (the stage's `dropped` counts them).
- Percentiles per second: the ok steady turns that ended in a second
  also go into that second's HDR histograms of `latency`, `ttft` and `itl`
  (per token, as the stage's), at 2 significant figures (values within
  1%: 128 slots per power of two instead of 1,024). A second's histograms
  stay live while the newest second seen is at most `LIVE_S` later (turns
  are recorded as they end, so nearly in order); then they are encoded
  (compressed HDR, a few hundred bytes) and freed. A late turn for an
  encoded second decodes it again: exact, only slower.
- Memory: one bucket per second that saw a turn start or end, so bounded
  by the stage's length plus its longest turn; `series()` fills the gaps
  with empty buckets so the series is dense from its first second to its
  last.

Pure; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from loadtest.metrics._histogram import Histogram

if TYPE_CHECKING:
    from loadtest.metrics._turn import TurnRecord

__all__ = ["LIVE_S", "SECOND_FIGURES", "SECOND_METRICS", "Second", "SeriesRecorder", "merge_series"]

#: The significant figures of a second's histograms.
SECOND_FIGURES = 2
#: The histograms kept per second (ok steady turns).
SECOND_METRICS = ("latency", "ttft", "itl")
#: Seconds a bucket's histograms stay live behind the newest second seen.
LIVE_S = 2


def _histogram() -> Histogram:
    return Histogram(significant_figures=SECOND_FIGURES)


@attrs.frozen
class Second:
    """The turns of one wall-clock second `t` (see the module rules)."""

    t: int
    started: int = 0
    finished: int = 0
    in_flight: int = 0
    requests: int = 0
    ok: int = 0
    errors: Mapping[str, int] = attrs.field(factory=dict)
    output_tokens: int = 0
    #: Good steady turns (a run with SLOs), at the second they ended.
    good: int = 0
    #: Compressed HDR encodings of the second's non-empty histograms.
    histograms: Mapping[str, str] = attrs.field(factory=dict)

    def histogram(self, name: str) -> Histogram:
        """One of the second's histograms, decoded (empty if it has none);
        ValueError if its encoding is malformed."""
        text = self.histograms.get(name)
        return _histogram() if text is None else Histogram.decode(text)


class _Bucket:
    """Mutable counters of one second while the stage runs; `hists` is
    None while the histograms are encoded (in `encoded`)."""

    __slots__ = (
        "encoded",
        "errors",
        "finished",
        "good",
        "hists",
        "ok",
        "output_tokens",
        "requests",
        "started",
    )

    def __init__(self) -> None:
        self.started = self.finished = self.requests = self.ok = self.output_tokens = 0
        self.good = 0
        self.errors: dict[str, int] = {}
        self.hists: dict[str, Histogram] | None = None
        self.encoded: dict[str, str] = {}

    def open(self) -> dict[str, Histogram]:
        """Make the histograms live (new, or decoded if they were encoded)."""
        hists = {name: _histogram() for name in SECOND_METRICS}
        for name, text in self.encoded.items():
            hists[name] = Histogram.decode(text)
        self.hists, self.encoded = hists, {}
        return hists

    def encode(self) -> dict[str, str]:
        """Encode and free the live histograms; the encodings."""
        if self.hists is not None:
            self.encoded = {n: h.encode() for n, h in self.hists.items() if h.count}
            self.hists = None
        return self.encoded


class SeriesRecorder:
    """Counts turns into per-second buckets (sync, lock-free, as the stage
    recorder that owns it)."""

    def __init__(self) -> None:
        self._buckets: dict[int, _Bucket] = {}
        self._live: set[int] = set()
        self._newest = -math.inf

    def _bucket(self, t: int) -> _Bucket:
        bucket = self._buckets.get(t)
        if bucket is None:
            bucket = self._buckets[t] = _Bucket()
        return bucket

    def record(self, turn: TurnRecord, *, good: bool = False) -> None:
        """Count one turn, of any outcome (see the module rules); `good`:
        it met every SLO."""
        start = turn.start_unix_s
        self._bucket(math.floor(start)).started += 1
        end = start + turn.latency_us / 1e6 if turn.latency_us is not None else start
        bucket = self._bucket(math.floor(end))
        bucket.finished += 1
        if turn.warmup or turn.outcome == "interrupted":
            return
        bucket.requests += 1
        if turn.outcome == "ok":
            bucket.ok += 1
            bucket.good += good
            bucket.output_tokens += turn.completion_tokens or 0
            self._record_ok(math.floor(end), bucket, turn)
        else:
            error = str(turn.error_class or "unknown")
            bucket.errors[error] = bucket.errors.get(error, 0) + 1

    def _record_ok(self, t: int, bucket: _Bucket, turn: TurnRecord) -> None:
        if t > self._newest:
            self._newest = t
            for old in [o for o in self._live if o < t - LIVE_S]:
                self._buckets[old].encode()
                self._live.discard(old)
        hists = bucket.hists if bucket.hists is not None else bucket.open()
        self._live.add(t)
        if turn.latency_us is not None:
            hists["latency"].record(turn.latency_us)
        if turn.ttft_us is not None:
            hists["ttft"].record(turn.ttft_us)
        if turn.itl_gaps_us:
            record = hists["itl"].record
            for gap_us in turn.itl_gaps_us:
                record(gap_us)
        if turn.itl_zeros:
            hists["itl"].record(0, turn.itl_zeros)

    def series(self) -> tuple[Second, ...]:
        """The dense series so far, `in_flight` computed, histograms encoded."""
        return dense(
            Second(
                t=t,
                started=b.started,
                finished=b.finished,
                requests=b.requests,
                ok=b.ok,
                errors=dict(b.errors),
                output_tokens=b.output_tokens,
                good=b.good,
                histograms=dict(b.encode()),
            )
            for t, b in self._buckets.items()
        )


def dense(seconds: Iterable[Second]) -> tuple[Second, ...]:
    """Seconds sorted, each gap filled with an empty second, and `in_flight`
    recomputed as the running sum of started minus finished."""
    by_t = {second.t: second for second in seconds}
    if not by_t:
        return ()
    filled = []
    in_flight = 0
    for t in range(min(by_t), max(by_t) + 1):
        second = by_t.get(t) or Second(t=t)
        in_flight += second.started - second.finished
        filled.append(attrs.evolve(second, in_flight=in_flight))
    return tuple(filled)


def _merged_histograms(a: Second, b: Second) -> dict[str, str]:
    merged = dict(a.histograms)
    for name, text in b.histograms.items():
        if name in merged:
            hist = a.histogram(name)
            hist.merge(b.histogram(name))
            merged[name] = hist.encode()
        else:
            merged[name] = text
    return merged


def merge_series(parts: Iterable[Iterable[Second]]) -> tuple[Second, ...]:
    """The exact sum of several series (shards): counters of the same
    second added, histograms added count for count, `in_flight`
    recomputed. ValueError if a histogram's encoding is malformed or of
    other parameters."""
    sums: dict[int, Second] = {}
    for part in parts:
        for second in part:
            have = sums.get(second.t)
            if have is None:
                sums[second.t] = second
                continue
            errors = dict(have.errors)
            for name, count in second.errors.items():
                errors[name] = errors.get(name, 0) + count
            sums[second.t] = Second(
                t=second.t,
                started=have.started + second.started,
                finished=have.finished + second.finished,
                requests=have.requests + second.requests,
                ok=have.ok + second.ok,
                errors=errors,
                output_tokens=have.output_tokens + second.output_tokens,
                good=have.good + second.good,
                histograms=_merged_histograms(have, second),
            )
    return dense(sums.values())
