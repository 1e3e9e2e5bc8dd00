"""The per-second time series: what counts where, in flight, exact merge."""

from __future__ import annotations

import random

import attrs
import pytest

from loadtest.metrics import Second, SeriesRecorder, StageRecorder, TurnRecord, merge_series
from loadtest.metrics._timeseries import LIVE_S

from .test_recorder import freeze, turn


def test_a_turn_starts_and_finishes_in_the_wall_clock_seconds_it_spans() -> None:
    """Started at 10.5 s for 2 s: started in second 10, finished in 12, in
    flight through 10 and 11; its counters land in the second it ended."""
    recorder = SeriesRecorder()
    recorder.record(turn(start_unix_s=10.5, latency_us=2_000_000, completion_tokens=7))
    series = recorder.series()
    assert [attrs.evolve(s, histograms={}) for s in series] == [
        Second(t=10, started=1, in_flight=1),
        Second(t=11, in_flight=1),
        Second(t=12, finished=1, requests=1, ok=1, output_tokens=7),
    ]
    assert series[0].histograms == series[1].histograms == {}
    latency = series[2].histogram("latency")
    assert (latency.count, latency.significant_figures) == (1, 2)
    assert latency.percentiles([50])[50] == pytest.approx(2_000_000, rel=0.01)
    assert series[2].histogram("ttft").count == 1
    assert series[2].histogram("itl").count == 5  # two gaps and three zero gaps
    assert series[0].histogram("itl").count == 0


def test_a_late_turn_for_an_encoded_second_is_still_counted() -> None:
    """Seconds behind the newest by more than LIVE_S are encoded; a turn
    that ends in one afterwards decodes it and is counted, exactly."""
    recorder = SeriesRecorder()
    recorder.record(turn(start_unix_s=100.1, latency_us=1000))
    recorder.record(turn(start_unix_s=100.2 + LIVE_S + 1, latency_us=1000))
    assert recorder._buckets[100].hists is None  # encoded and freed
    late = turn(start_unix_s=100.3, latency_us=3000, ttft_us=None, itl_gaps_us=(), itl_zeros=0)
    recorder.record(late)
    first = recorder.series()[0]
    assert first.ok == 2
    assert first.histogram("latency").count == 2
    assert first.histogram("ttft").count == 1
    assert first.histogram("itl").count == 5


def test_warmup_and_interrupted_turns_count_only_as_started_and_finished() -> None:
    """They are in flight like any turn, but not in the steady counters."""
    recorder = SeriesRecorder()
    recorder.record(turn(start_unix_s=3.2, warmup=True))
    recorder.record(turn(start_unix_s=3.4, outcome="interrupted", latency_us=None))
    assert recorder.series() == (Second(t=3, started=2, finished=2),)


def test_errors_count_by_class_with_no_tokens() -> None:
    recorder = SeriesRecorder()
    recorder.record(turn(start_unix_s=5.0, outcome="error", error_class="http_5xx"))
    recorder.record(turn(start_unix_s=5.1, outcome="error", error_class=None))
    (second,) = recorder.series()
    assert (second.requests, second.ok, second.output_tokens) == (2, 0, 0)
    assert second.errors == {"http_5xx": 1, "unknown": 1}


def test_an_empty_series_has_no_seconds() -> None:
    assert SeriesRecorder().series() == ()
    assert merge_series([(), ()]) == ()


def _turns(seed: int, count: int) -> list[TurnRecord]:
    rng = random.Random(seed)
    outcomes = ("ok", "ok", "ok", "error", "interrupted")
    return [
        turn(
            start_unix_s=100 + rng.random() * 20,
            latency_us=rng.randrange(1, 5_000_000),
            outcome=(outcome := rng.choice(outcomes)),
            error_class="http_429" if outcome == "error" else None,
            warmup=rng.random() < 0.1,
            completion_tokens=rng.randrange(50),
        )
        for _ in range(count)
    ]


def test_shards_merge_to_the_series_of_one_recorder_fed_every_turn() -> None:
    """Turns split over three recorders (shards): their merged series equals
    the series of one recorder that saw every turn, in flight included."""
    turns = _turns(seed=7, count=600)
    whole = SeriesRecorder()
    shards = [SeriesRecorder() for _ in range(3)]
    for index, one in enumerate(turns):
        whole.record(one)
        shards[index % 3].record(one)
    merged, expected = merge_series(shard.series() for shard in shards), whole.series()
    assert merged == expected
    for got, want in zip(merged, expected, strict=True):
        for name in ("latency", "ttft", "itl"):
            assert got.histogram(name) == want.histogram(name)
    assert sum(s.histogram("latency").count for s in merged) == sum(s.ok for s in merged)


def test_the_stage_snapshot_series_adds_up_to_the_stage_totals() -> None:
    recorder = StageRecorder(["a"])
    for one in _turns(seed=3, count=300):
        recorder.record(one)
    stage = freeze(recorder)
    series = stage.timeseries
    total = stage.total
    assert sum(s.requests for s in series) == total.requests
    assert sum(s.ok for s in series) == total.ok
    assert sum(s.output_tokens for s in series) == total.completion_tokens
    assert sum(s.errors.get("http_429", 0) for s in series) == total.errors["http_429"]
    assert sum(s.started for s in series) == sum(s.finished for s in series) == 300
    assert series[-1].in_flight == 0
    assert [s.t for s in series] == list(range(series[0].t, series[-1].t + 1))
