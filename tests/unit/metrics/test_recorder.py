"""StageRecorder: what counts where, and exact totals."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.metrics import Metric, Phases, StageRecorder, TurnRecord, merge_stats


def turn(**changes: Any) -> TurnRecord:
    fields: dict[str, Any] = {
        "stage": 0,
        "scenario": "a",
        "scenario_index": 0,
        "conversation": "c",
        "turn": 1,
        "stream": True,
        "start_unix_s": 1.0,
        "warmup": False,
        "outcome": "ok",
        "status": 200,
        "latency_us": 1000,
        "ttfb_us": 100,
        "ttft_us": 200,
        "tpot_us": 50,
        "itl_gaps_us": (10, 20),
        "itl_zeros": 3,
        "prompt_tokens": 5,
        "completion_tokens": 6,
        "cached_tokens": 1,
    }
    fields.update(changes)
    return TurnRecord(**fields)


def freeze(recorder: StageRecorder) -> Any:
    return recorder.freeze(
        index=0,
        mode="closed",
        duration_s=10,
        warmup_s=0,
        steady_s=10,
        started_unix_s=0,
        ended_unix_s=10,
    )


def test_ok_turns_fill_histograms_and_tokens() -> None:
    """An ok turn records each timing, its ITL gaps plus zero gaps, and its tokens."""
    recorder = StageRecorder(["a"])
    recorder.record(turn())
    stats = freeze(recorder).scenarios[0]
    assert (stats.requests, stats.ok, stats.failed) == (1, 1, 0)
    assert stats.histogram("latency").count == 1
    assert stats.histogram("itl").count == 5
    assert stats.histogram("itl").percentiles([0])[0] == 0
    assert (stats.prompt_tokens, stats.completion_tokens, stats.cached_tokens) == (5, 6, 1)
    assert stats.status_codes == {200: 1}


def test_token_histograms_hold_each_ok_turns_counts() -> None:
    """prompt_tokens and completion_tokens: one value per ok turn that has
    its count (in tokens, not µs); failed turns and missing counts add none."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(prompt_tokens=5, completion_tokens=6))
    recorder.record(turn(prompt_tokens=700, completion_tokens=80))
    recorder.record(turn(prompt_tokens=None, completion_tokens=None))
    recorder.record(turn(outcome="error", error_class="http_5xx", status=500))
    stats = freeze(recorder).scenarios[0]
    prompt, completion = stats.histogram(Metric.PROMPT_TOKENS), stats.histogram("completion_tokens")
    assert (prompt.count, prompt.min, prompt.max) == (2, 5, 700)
    assert (completion.count, completion.min, completion.max) == (2, 6, 80)


def test_warmup_and_interrupted_turns_are_only_counted() -> None:
    """Warm-up and interrupted turns stay out of requests, errors and histograms."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(warmup=True))
    recorder.record(turn(warmup=True, outcome="error", error_class="http_5xx"))
    recorder.record(turn(outcome="interrupted"))
    stats = freeze(recorder).scenarios[0]
    assert (stats.warmup_turns, stats.interrupted, stats.requests) == (2, 1, 0)
    assert stats.errors == {}
    assert stats.histogram("latency").count == 0


def test_errors_count_by_class_and_stay_out_of_latency() -> None:
    """A failed turn counts its class and status, not its timings."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(outcome="error", error_class="http_429", status=429))
    recorder.record(turn())
    stats = freeze(recorder).scenarios[0]
    assert stats.errors == {"http_429": 1}
    assert stats.error_rate == 0.5
    assert stats.status_codes == {429: 1, 200: 1}
    assert stats.histogram("latency").count == 1


def test_open_loop_lag_and_corrected_latency() -> None:
    """With a schedule lag, corrected latency = measured + lag; lag counts failed turns too."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(lag_us=5000))
    recorder.record(turn(lag_us=7000, outcome="error", error_class="http_5xx"))
    stats = freeze(recorder).scenarios[0]
    assert stats.histogram("lag").count == 2
    assert stats.histogram("latency_corrected").max == 6000 + 3  # HDR bucket edge at 3 figures
    assert stats.histogram("ttft_corrected").count == 1


def test_total_is_the_exact_sum_of_scenarios() -> None:
    """The stage total equals merging the scenario snapshots."""
    recorder = StageRecorder(["a", "b"])
    recorder.record(turn())
    recorder.record(turn(scenario="b", scenario_index=1, latency_us=9000))
    recorder.record_dropped(1)
    snapshot = freeze(recorder)
    assert snapshot.total.requests == 2
    assert snapshot.total.dropped == 1
    assert snapshot.total == merge_stats("total", snapshot.scenarios)
    assert snapshot.total.histogram("latency").count == 2


def test_live_statistics() -> None:
    """statistics() sums counters across scenarios without touching histograms."""
    recorder = StageRecorder(["a", "b"])
    recorder.record(turn())
    recorder.record(turn(scenario_index=1, outcome="error", error_class="bad_response"))
    live = recorder.statistics()
    assert (live.completed, live.ok, live.failed) == (2, 1, 1)
    assert live.errors == {"bad_response": 1}
    assert recorder.live_histogram("latency").count == 1


def test_jsonl_line_has_the_documented_fields() -> None:
    """to_json() gives milliseconds, phases and the correlation id."""
    line = turn(request_id="c-t1", phases=Phases(connect_us=1500, write_us=20)).to_json()
    assert line["latency_ms"] == 1.0
    assert line["phases"] == {"connect_ms": 1.5, "write_ms": 0.02}
    assert line["request_id"] == "c-t1"
    assert line["lag_ms"] is None


def test_jsonl_itl_is_per_token_and_chunk_gap_per_chunk() -> None:
    """Gaps (10, 20) µs plus 3 zero gaps: ITL per token averages 30 µs over 5
    gaps, as the summary's ITL histogram does; the chunk gap over 2 chunks."""
    record = turn(tail_us=400)
    line = record.to_json()
    recorder = StageRecorder(["a"])
    recorder.record(record)
    stats = freeze(recorder).scenarios[0]
    assert line["itl_mean_ms"] == 0.006 == stats.histogram("itl").mean / 1000
    assert line["itl_max_ms"] == 0.02
    assert line["chunk_gap_mean_ms"] == 0.015 == stats.histogram("chunk_gap").mean / 1000
    assert line["chunk_gap_max_ms"] == 0.02
    assert line["stream_tail_ms"] == 0.4
    assert stats.histogram("stream_tail").count == 1


def test_jsonl_itl_of_one_chunk_of_several_tokens_is_zero() -> None:
    """One content chunk of 4 tokens: three zero gaps, no chunk gap."""
    line = turn(itl_gaps_us=(), itl_zeros=3).to_json()
    assert (line["itl_mean_ms"], line["itl_max_ms"]) == (0.0, 0.0)
    assert (line["chunk_gap_mean_ms"], line["chunk_gap_max_ms"]) == (None, None)
    empty = turn(itl_gaps_us=(), itl_zeros=0).to_json()
    assert (empty["itl_mean_ms"], empty["stream_tail_ms"]) == (None, None)


def test_cache_split_into_first_and_later_turns() -> None:
    """Cached tokens are tallied apart for first turns; a turn without cached
    tokens is not a cached turn."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(turn=1, prompt_tokens=10, cached_tokens=4))
    recorder.record(turn(turn=1, prompt_tokens=10, cached_tokens=0))
    recorder.record(turn(turn=2, prompt_tokens=30, cached_tokens=20))
    recorder.record(turn(turn=2, prompt_tokens=30, cached_tokens=None))
    stats = freeze(recorder).scenarios[0]
    assert (stats.first_turns, stats.first_turns_cached, stats.cached_turns) == (2, 1, 2)
    assert (stats.first_turn_prompt_tokens, stats.first_turn_cached_tokens) == (20, 4)
    assert (stats.prompt_tokens, stats.cached_tokens) == (80, 24)
    merged = merge_stats("t", [stats, stats])
    assert (merged.first_turns, merged.first_turn_cached_tokens) == (4, 8)


def test_turns_cut_off_before_any_response_byte_are_unanswered() -> None:
    """Interrupted with no first byte, warm-up or steady: counted unanswered with its wait;
    one that had its first byte, or any finished turn, is not."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(outcome="interrupted", ttfb_us=None, latency_us=9_000_000))
    recorder.record(turn(outcome="interrupted", ttfb_us=None, latency_us=3_000_000, warmup=True))
    recorder.record(turn(outcome="interrupted", ttfb_us=None, latency_us=None))
    recorder.record(turn(outcome="interrupted", ttfb_us=500))
    recorder.record(turn(outcome="error", error_class="timeout_read", ttfb_us=None))
    recorder.record(turn())
    stats = freeze(recorder).total
    assert (stats.unanswered, stats.interrupted, stats.warmup_turns) == (3, 3, 1)
    waits = stats.histogram("unanswered")
    assert waits.count == 2
    assert waits.max == pytest.approx(9_000_000, rel=0.001)
    assert merge_stats("x", [stats, stats]).unanswered == 6


def test_percentiles_are_read_by_unit_and_none_without_a_value() -> None:
    """A snapshot's percentile by Metric or by name, in µs or ms; None for an
    empty histogram (no data is never 0)."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(ttft_us=200_000))
    stats = freeze(recorder).total
    assert stats.percentile_us(Metric.TTFT, 99.0) == pytest.approx(200_000, rel=1e-3)
    assert stats.percentile_ms("ttft", 50.0) == pytest.approx(200.0, rel=1e-3)
    assert stats.percentile_us(Metric.UNANSWERED, 99.0) is None
    assert stats.percentile_ms(Metric.UNANSWERED, 99.0) is None
    assert Metric.TTFT == "ttft"


def test_a_snapshot_reads_several_percentiles_as_the_live_view_does() -> None:
    """`percentiles_us` / `percentiles_ms` on a frozen snapshot, as on a
    `LiveView`: a dict by percentile, None for every one without a value."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(ttft_us=200_000))
    stats = freeze(recorder).total
    us = stats.percentiles_us(Metric.TTFT, [50.0, 99.9])
    assert list(us) == [50.0, 99.9]
    assert us[99.9] == pytest.approx(200_000, rel=1e-3)
    assert stats.percentiles_ms("ttft", [50.0])[50.0] == pytest.approx(200.0, rel=1e-3)
    assert stats.percentiles_us(Metric.UNANSWERED, [50.0, 99.0]) == {50.0: None, 99.0: None}
    assert stats.percentiles_ms(Metric.UNANSWERED, [99.0]) == {99.0: None}
