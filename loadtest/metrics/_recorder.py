"""Recording finished turns into one stage's counters and histograms.

Rules:
- `record()` is sync and never waits: trio never interleaves sync code, so
  every task of a stage records into the same recorder without locks.
  Nothing in it grows with the number of turns: counters, dicts
  keyed by status or error class, and HDR histograms.
- A turn counts in the stage (and window) in which it started: the engine
  hands each turn the recorder of its stage, and marks warm-up turns.
- Warm-up turns are only counted (`warmup_turns`); interrupted turns are
  only counted (`interrupted`); latency-type histograms take ok turns only.
  `retries` sums the resends of the completed steady turns.
  An interrupted turn that had no response byte, warm-up or steady, is
  also counted `unanswered`, with its wait (the signature of a hung
  gateway).
- With SLOs, every completed steady turn is judged (`judged`) and the ok
  ones within every SLO counted `good` (metrics/_goodput.py), in the
  totals and in the time series.
- Every turn also goes into the stage's time series (one bucket per
  wall-clock second, metrics/_timeseries.py).
- `freeze()` copies everything into a `StageSnapshot`; after it, the
  recorder is not used again.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from loadtest.metrics._goodput import SloLike, is_good
from loadtest.metrics._histogram import Histogram
from loadtest.metrics._snapshot import (
    COUNTERS,
    HISTOGRAMS,
    StageSnapshot,
    StatsSnapshot,
    merge_stats,
)
from loadtest.metrics._timeseries import SeriesRecorder

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from loadtest.metrics._turn import TurnRecord

__all__ = ["LiveStats", "StageRecorder"]


class _Tally:
    """Mutable counters of one scenario while its stage runs."""

    __slots__ = (*COUNTERS, "errors", "hists", "status_codes")

    def __init__(self) -> None:
        self.requests = self.ok = self.interrupted = self.warmup_turns = self.dropped = 0
        self.prompt_tokens = self.completion_tokens = self.cached_tokens = 0
        self.estimated_turns = self.cached_turns = self.retries = 0
        self.first_turns = self.first_turns_cached = 0
        self.first_turn_prompt_tokens = self.first_turn_cached_tokens = 0
        self.unanswered = self.judged = self.good = 0
        self.errors: dict[str, int] = {}
        self.status_codes: dict[int, int] = {}
        self.hists: dict[str, Histogram] = {name.value: Histogram() for name in HISTOGRAMS}

    def snapshot(self, label: str, histograms: Iterable[str] | None = None) -> StatsSnapshot:
        """A copy of everything; of the named `histograms` only, if given."""
        names = self.hists if histograms is None else histograms
        return StatsSnapshot(
            label=label,
            errors=dict(self.errors),
            status_codes=dict(self.status_codes),
            histograms={name: self.hists[name].copy() for name in names},
            **{name: getattr(self, name) for name in COUNTERS},
        )


@attrs.frozen
class LiveStats:
    """A stage so far, for progress displays (cheap: no percentiles)."""

    completed: int
    ok: int
    failed: int
    interrupted: int
    warmup_turns: int
    dropped: int
    completion_tokens: int
    errors: dict[str, int]


class StageRecorder:
    """Tallies the turns of one stage, per scenario."""

    def __init__(self, scenario_names: Sequence[str], slo: Sequence[SloLike] = ()) -> None:
        self.scenario_names = tuple(scenario_names)
        self.slo = tuple(slo)
        self._tallies = [_Tally() for _ in self.scenario_names]
        self._series = SeriesRecorder()

    def record(self, turn: TurnRecord) -> None:
        """Count one finished turn (see the module rules)."""
        tally = self._tallies[turn.scenario_index]
        good = bool(self.slo) and not turn.warmup and is_good(self.slo, turn)
        self._series.record(turn, good=good)
        if turn.outcome == "interrupted" and turn.ttfb_us is None:
            tally.unanswered += 1
            if turn.latency_us is not None:
                tally.hists["unanswered"].record(turn.latency_us)
        if turn.warmup:
            tally.warmup_turns += 1
            return
        if turn.outcome == "interrupted":
            tally.interrupted += 1
            return
        tally.requests += 1
        tally.retries += turn.retries
        if self.slo:
            tally.judged += 1
            tally.good += good
        if turn.status is not None:
            tally.status_codes[turn.status] = tally.status_codes.get(turn.status, 0) + 1
        hists = tally.hists
        if turn.lag_us is not None:
            hists["lag"].record(turn.lag_us)
        if turn.outcome != "ok":
            # a plain str key (not an `ErrorClass`): orjson writes only str keys
            error = str(turn.error_class or "unknown")
            tally.errors[error] = tally.errors.get(error, 0) + 1
            return
        tally.ok += 1
        self._record_ok(tally, turn)

    @staticmethod
    def _record_ok(tally: _Tally, turn: TurnRecord) -> None:
        hists = tally.hists
        if turn.latency_us is not None:
            hists["latency"].record(turn.latency_us)
            if turn.lag_us is not None:
                hists["latency_corrected"].record(turn.latency_us + turn.lag_us)
        if turn.ttfb_us is not None:
            hists["ttfb"].record(turn.ttfb_us)
        if turn.ttft_us is not None:
            hists["ttft"].record(turn.ttft_us)
            if turn.lag_us is not None:
                hists["ttft_corrected"].record(turn.ttft_us + turn.lag_us)
        if turn.tpot_us is not None:
            hists["tpot"].record(turn.tpot_us)
        if turn.itl_gaps_us:
            record = hists["itl"].record
            record_chunk = hists["chunk_gap"].record
            for gap_us in turn.itl_gaps_us:
                record(gap_us)
                record_chunk(gap_us)
        if turn.itl_zeros:
            hists["itl"].record(0, turn.itl_zeros)
        if turn.tail_us is not None:
            hists["stream_tail"].record(turn.tail_us)
        if turn.prompt_tokens is not None:
            hists["prompt_tokens"].record(turn.prompt_tokens)
        if turn.completion_tokens is not None:
            hists["completion_tokens"].record(turn.completion_tokens)
        prompt, cached = turn.prompt_tokens or 0, turn.cached_tokens or 0
        tally.prompt_tokens += prompt
        tally.completion_tokens += turn.completion_tokens or 0
        tally.cached_tokens += cached
        if cached:
            tally.cached_turns += 1
        if turn.turn == 1:
            tally.first_turns += 1
            tally.first_turn_prompt_tokens += prompt
            tally.first_turn_cached_tokens += cached
            if cached:
                tally.first_turns_cached += 1
        if turn.tokens_estimated:
            tally.estimated_turns += 1

    def record_dropped(self, scenario_index: int) -> None:
        """Count an open-loop arrival that was dropped (max_in_flight reached)."""
        self._tallies[scenario_index].dropped += 1

    def statistics(self) -> LiveStats:
        """Totals so far across scenarios."""
        errors: dict[str, int] = {}
        for tally in self._tallies:
            for name, count in tally.errors.items():
                errors[name] = errors.get(name, 0) + count
        return LiveStats(
            completed=sum(t.requests for t in self._tallies),
            ok=sum(t.ok for t in self._tallies),
            failed=sum(t.requests - t.ok for t in self._tallies),
            interrupted=sum(t.interrupted for t in self._tallies),
            warmup_turns=sum(t.warmup_turns for t in self._tallies),
            dropped=sum(t.dropped for t in self._tallies),
            completion_tokens=sum(t.completion_tokens for t in self._tallies),
            errors=errors,
        )

    def live_histogram(self, name: str) -> Histogram:
        """One histogram merged over scenarios, for a progress display."""
        merged = Histogram()
        for tally in self._tallies:
            merged.merge(tally.hists[name])
        return merged

    def scenario_stats(self, histograms: Iterable[str]) -> tuple[StatsSnapshot, ...]:
        """Each scenario so far: copies of its counters and of the named
        histograms only (a live exposition needs a few, and copying one
        costs tens of µs)."""
        return tuple(
            tally.snapshot(name, histograms)
            for tally, name in zip(self._tallies, self.scenario_names, strict=True)
        )

    def freeze(self, **stage: Any) -> StageSnapshot:
        """Copy everything into a `StageSnapshot`; `stage` gives its plan and timing."""
        scenarios = tuple(
            tally.snapshot(name)
            for tally, name in zip(self._tallies, self.scenario_names, strict=True)
        )
        return StageSnapshot(
            scenarios=scenarios,
            total=merge_stats("total", scenarios),
            timeseries=self._series.series(),
            slo=tuple(str(slo) for slo in self.slo),
            **stage,
        )
