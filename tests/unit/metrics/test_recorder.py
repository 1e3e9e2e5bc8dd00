"""StageRecorder: what counts where, and exact totals."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.metrics import Phases, StageRecorder, TurnRecord, merge_stats


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
    assert line["itl_mean_ms"] == 0.015
    assert line["lag_ms"] is None


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
