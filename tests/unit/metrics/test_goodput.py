"""Goodput per turn: which turns are judged, what each SLO reads, open-loop
correction, and the counters a stage keeps (totals and per second)."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.config import parse_slos
from loadtest.metrics import StageRecorder, is_good, turn_gap_percentile_us
from tests.unit.metrics.test_recorder import freeze, turn

# The base turn: latency 1000 µs, ttfb 100, ttft 200, tpot 50, gaps (10, 20) + 3 zeros.


def good(slo: str, **changes: Any) -> bool:
    return is_good(parse_slos([slo]), turn(**changes))


@pytest.mark.parametrize(
    ("metric", "met_at_us", "missed_at_us"),
    [
        ("latency", 1000, 999),
        ("ttfb", 100, 99),
        ("ttft", 200, 199),
        ("tpot", 50, 49),
        ("itl_max", 20, 19),
        ("itl_p99", 20, 19),  # gaps sorted: 0 0 0 10 20; rank 5 of 5
        ("itl_p90", 20, 19),  # rank ceil(4.5) = 5
        ("itl_p50", 0, 0),  # rank 3: a zero gap
    ],
)
def test_each_slo_reads_its_own_figure_of_the_turn(
    metric: str, met_at_us: int, missed_at_us: int
) -> None:
    assert good(f"{metric}<={max(met_at_us, 1)}us")
    if missed_at_us:
        assert not good(f"{metric}<={missed_at_us}us")


def test_gap_percentiles_are_nearest_rank_over_the_turns_own_gaps() -> None:
    record = turn(itl_gaps_us=(40, 10, 30, 20), itl_zeros=0)
    assert [turn_gap_percentile_us(record, p) for p in (50, 75, 90, 99)] == [20, 30, 40, 40]
    assert turn_gap_percentile_us(turn(itl_gaps_us=(), itl_zeros=0), 99) is None
    assert turn_gap_percentile_us(turn(itl_gaps_us=(7,), itl_zeros=3), 75) == 0
    assert turn_gap_percentile_us(turn(itl_gaps_us=(7,), itl_zeros=3), 76) == 7


def test_every_slo_must_hold() -> None:
    slos = parse_slos(["ttft<=1ms,latency<=999us"])
    assert not is_good(slos, turn())
    assert is_good(parse_slos(["ttft<=1ms,latency<=1ms"]), turn())


def test_failed_and_interrupted_turns_are_never_good() -> None:
    slos = parse_slos(["latency<=1h"])
    assert not is_good(slos, turn(outcome="error", error_class="http_5xx"))
    assert not is_good(slos, turn(outcome="interrupted"))


def test_open_loop_times_are_judged_from_the_intended_start() -> None:
    """latency, ttfb and ttft add the schedule lag; gaps do not."""
    assert good("latency<=1000us", lag_us=0)
    assert not good("latency<=1000us", lag_us=1)
    assert not good("ttft<=250us", lag_us=51)
    assert not good("ttfb<=150us", lag_us=51)
    assert good("itl_max<=20us", lag_us=10_000)
    assert good("tpot<=50us", lag_us=10_000)


def test_a_missing_start_time_fails_and_a_missing_gap_passes() -> None:
    """No TTFT (not streamed) fails a ttft SLO; no gap (one token) meets gap SLOs."""
    plain: dict[str, Any] = {"ttft_us": None, "tpot_us": None, "itl_gaps_us": (), "itl_zeros": 0}
    assert not good("ttft<=1h", **plain)
    assert good("latency<=1h", **plain)
    for metric in ("tpot", "itl_p50", "itl_p99", "itl_max"):
        assert good(f"{metric}<=1us", **plain)
    assert not good("latency<=1h", latency_us=None)
    assert not good("ttfb<=1h", ttfb_us=None)


def test_the_recorder_judges_each_completed_steady_turn() -> None:
    """judged = completed steady turns (errors included), good = ok ones within the SLOs;
    warm-up and interrupted turns are not judged; per scenario and in total."""
    recorder = StageRecorder(["a", "b"], parse_slos(["latency<=1ms"]))
    recorder.record(turn())  # good
    recorder.record(turn(latency_us=1001))  # too slow
    recorder.record(turn(outcome="error", error_class="http_5xx", latency_us=None))
    recorder.record(turn(warmup=True))  # not judged
    recorder.record(turn(outcome="interrupted"))  # not judged
    recorder.record(turn(scenario="b", scenario_index=1))  # good, scenario b
    stage = freeze(recorder)
    a, b = stage.scenarios
    assert (a.judged, a.good, a.requests) == (3, 1, 3)
    assert (b.judged, b.good) == (1, 1)
    assert (stage.total.judged, stage.total.good) == (4, 2)
    assert stage.slo == ("latency<=1ms",)
    assert sum(second.good for second in stage.timeseries) == 2


def test_without_slos_nothing_is_judged() -> None:
    recorder = StageRecorder(["a"])
    recorder.record(turn())
    stage = freeze(recorder)
    assert (stage.total.judged, stage.total.good, stage.slo) == (0, 0, ())
    assert sum(second.good for second in stage.timeseries) == 0


def test_good_turns_land_in_the_second_they_ended() -> None:
    recorder = StageRecorder(["a"], parse_slos(["latency<=2s"]))
    recorder.record(turn(start_unix_s=10.5, latency_us=1_000_000))  # ends in second 11
    recorder.record(turn(start_unix_s=10.1, latency_us=100_000))  # ends in second 10
    recorder.record(turn(start_unix_s=10.1, latency_us=3_000_000))  # too slow
    series = {second.t: second.good for second in freeze(recorder).timeseries}
    assert series == {10: 1, 11: 1, 12: 0, 13: 0}
