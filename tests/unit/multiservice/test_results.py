"""The comparison's math: figures from a summary (exact histogram merges), deltas
against each round's fastest, and the summary over rounds."""

from __future__ import annotations

import pytest

from loadtest.metrics import Histogram
from loadtest.multiservice import figures_from_summary, summarize, with_deltas
from tests.unit.multiservice.helpers import histogram, round_of, row, stage, summary

MS = 1000


def test_stages_merge_through_their_histograms_not_by_averaging_percentiles() -> None:
    """TTFT p50 over two stages is the p50 of the merged histogram, which the mean
    of the stages' p50s is not."""
    fast = [100 * MS] * 30
    slow = [200 * MS] * 10
    doc = summary(stage(fast, steady_s=10.0), stage(slow, steady_s=5.0))
    figures = figures_from_summary(doc)
    merged = Histogram()
    merged.merge(histogram(fast))
    merged.merge(histogram(slow))
    assert figures.ttft_p50_ms == merged.percentiles([50.0])[50.0] / MS
    assert figures.ttft_p50_ms == pytest.approx(100.0, abs=0.1)
    assert figures.ttft_p95_ms == pytest.approx(200.0, abs=0.2)
    mean_of_p50s = (doc["stages"][0]["total"]["ttft_ms"]["p50"] + 200.0) / 2
    assert abs(figures.ttft_p50_ms - mean_of_p50s) > 40
    assert figures.stages == 2


def test_rates_are_over_the_summed_steady_windows() -> None:
    """RPS is all requests over all steady seconds; the error rate counts failures."""
    doc = summary(
        stage([50 * MS] * 90, failed=10, steady_s=10.0), stage([50 * MS] * 20, steady_s=10.0)
    )
    figures = figures_from_summary(doc)
    assert figures.requests == 120
    assert figures.ok == 110
    assert figures.rps == pytest.approx(6.0)
    assert figures.ok_rps == pytest.approx(5.5)
    assert figures.to_json()["ok_rps"] == 5.5
    assert figures.error_rate == pytest.approx(10 / 120)
    assert figures.errors == {"conn_refused": 10}


def test_a_run_without_ttft_or_successes_has_no_figures_but_counts() -> None:
    """Non-streamed turns give no TTFT; all-failed stages give no latency either."""
    plain = figures_from_summary(summary(stage([], latency_us=[80 * MS] * 5)))
    assert plain.ttft_p50_ms is None
    assert plain.latency_p50_ms == pytest.approx(80.0, abs=0.1)
    down = figures_from_summary(summary(stage([], latency_us=[], failed=7)))
    assert (down.requests, down.ok, down.latency_p95_ms, down.error_rate) == (7, 0, None, 1.0)


def test_the_worst_generator_verdict_and_the_run_facts_are_kept() -> None:
    """Health verdicts reduce to the worst; start time and early stop come from `run`."""
    doc = summary(
        stage([MS], verdict="suspect"),
        stage([MS], verdict="generator-bound"),
        started=123.5,
        stopped=True,
    )
    figures = figures_from_summary(doc)
    assert (figures.generator, figures.started_unix_s, figures.stopped_early) == (
        "generator-bound",
        123.5,
        True,
    )


def test_generator_cpu_is_the_stages_cpu_share_weighted_by_length() -> None:
    """A 30 s stage at 40% and a 10 s one at 80% of a core: 50% over the run;
    a stage without figures is left out; none at all gives None."""
    doc = summary(
        stage([MS], cpu_share=0.4, duration_s=30.0),
        stage([MS], cpu_share=0.8, duration_s=10.0),
        stage([MS]),
    )
    assert figures_from_summary(doc).cpu_share == 0.5
    assert figures_from_summary(summary(stage([MS]))).cpu_share is None


def test_a_document_of_another_kind_is_refused() -> None:
    """Another schema, or a broken document, is a ValueError naming the problem."""
    with pytest.raises(ValueError, match=r"not a loadtest.summary/1 document"):
        figures_from_summary({"schema": "other/1"})
    doc = summary(stage([MS]))
    del doc["stages"][0]["total"]["requests"]
    with pytest.raises(ValueError, match=r"malformed loadtest\.summary/1 document"):
        figures_from_summary(doc)


def test_deltas_are_against_the_rounds_fastest() -> None:
    """The fastest gets exactly 0.0; FAILED rows and rows without a value get none."""
    rows = with_deltas(
        [row("b", 131.5), row("a", 101.25), row("x", failure="exit 1: boom"), row("n", None)],
        "ttft",
    )
    assert [r.delta_ms for r in rows] == [pytest.approx(30.25), 0.0, None, None]
    assert [r.name for r in rows] == ["b", "a", "x", "n"]


def test_deltas_can_use_latency_and_can_be_absent() -> None:
    """The latency metric reads latency p50; with no values at all nobody has a delta."""
    rows = with_deltas([row("a", 100.0, latency_p50_ms=150.0), row("b", 90.0)], "latency")
    assert [r.delta_ms for r in rows] == [pytest.approx(30.0), 0.0]
    assert [r.delta_ms for r in with_deltas([row("a", None), row("b", failure="x")], "ttft")] == [
        None,
        None,
    ]


def test_summary_over_rounds_gives_median_range_and_failed_rounds() -> None:
    """Median and min..max of each gateway's deltas; failed and no-data rounds listed."""
    rounds = [
        round_of(1, *with_deltas([row("a", 100.0), row("b", 130.0)], "ttft")),
        round_of(2, *with_deltas([row("a", 105.0), row("b", failure="exit 1")], "ttft")),
        round_of(3, *with_deltas([row("a", 102.0), row("b", 140.0)], "ttft")),
        round_of(4, *with_deltas([row("a", 101.0), row("b", None)], "ttft")),
    ]
    a, b = summarize(["a", "b"], rounds)
    assert (a.median_delta_ms, a.deltas_ms, a.failed_rounds) == (0.0, (0.0, 0.0, 0.0, 0.0), ())
    assert a.median_value_ms == pytest.approx(101.5)
    assert b.deltas_ms == (pytest.approx(30.0), pytest.approx(38.0))
    assert b.median_delta_ms == pytest.approx(34.0)
    assert (b.failed_rounds, b.no_data_rounds) == ((2,), (4,))
    doc = b.to_json()
    assert (doc["min_delta_ms"], doc["max_delta_ms"], doc["rounds_with_delta"]) == (30.0, 38.0, 2)
