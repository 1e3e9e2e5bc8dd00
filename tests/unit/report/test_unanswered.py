"""A gateway that answers nothing: rates of nothing are null, never 0; turns cut
off with no response byte are counted, shown in the verdict, and exported."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from loadtest.errors import ConfigError
from loadtest.report import (
    check_summary,
    compare_summaries,
    render_csv,
    render_prometheus,
    render_text,
)
from loadtest.report._text import verdict_lines
from tests.unit.report.builders import failed, snapshot, summary, turn


def joined(lines: list[str]) -> str:
    """Verdict lines with their wrapping undone."""
    return " ".join(line.strip() for line in lines)


def hung(count: int = 12, **options: Any) -> dict[str, Any]:
    """A stage whose every turn was cut off with no response byte (waits 1..count s)."""
    turns = [
        turn(0, outcome="interrupted", ttfb_us=None, latency_us=(i + 1) * 1_000_000)
        for i in range(count)
    ]
    return summary([snapshot(turns, **options)])


def test_no_completed_turn_has_no_error_rate_and_a_window_none_has_no_rates() -> None:
    """error_rate is null with no completed turn; rates are null over an empty window."""
    total = hung()["stages"][0]["total"]
    assert (total["requests"], total["error_rate"], total["throughput_rps"]) == (0, None, 0.0)
    empty = summary([snapshot([], steady_s=0.0)])["stages"][0]["total"]
    assert (empty["throughput_rps"], empty["ok_rps"], empty["output_tokens_per_s"]) == (
        None,
        None,
        None,
    )
    check_summary(hung())
    check_summary(summary([snapshot([], steady_s=0.0)]))
    text = render_text(summary([snapshot([], steady_s=0.0)]))
    row = next(line for line in text.splitlines() if line.startswith("total"))
    assert row.split()[1:4] == ["0", "-", "-"]  # requests, rps, ok%
    stream_row = [line for line in text.splitlines() if line.startswith("total")][1]
    assert stream_row.split()[7] == "-"  # output tokens/s


def test_unanswered_turns_and_their_wait_are_in_the_summary() -> None:
    """The count and the wait (ms) of turns cut off with no response byte."""
    total = hung()["stages"][0]["total"]
    assert total["unanswered"] == 12
    wait = total["unanswered_wait_ms"]
    assert wait["count"] == 12
    assert wait["max"] == pytest.approx(12_000, rel=0.001)
    assert wait["p50"] == pytest.approx(6_000, rel=0.001)
    assert "unanswered" in total["histograms"]


def test_the_verdict_says_the_gateway_may_be_hung() -> None:
    """Nothing succeeded: FAIL, and the unanswered turns with how long they waited."""
    lines = verdict_lines(hung())
    assert lines[0] == "verdict: FAIL"
    assert lines[1] == "  no steady turn succeeded in any stage: the gateway was not measured"
    assert joined(lines[2:]) == (
        "stage 1: 12 turns were cut off by the stage end with no response byte after "
        "waiting up to 12.0 s (p50 6.0 s): the gateway may be hung"
    )
    assert all(len(line) <= 100 for line in lines)
    text = render_text(hung())
    assert "12 cut off unanswered" in text
    row = next(line for line in text.splitlines() if line.startswith("total"))
    assert row.split()[1:4] == ["0", "-", "-"]  # requests, rps, ok%: none completed, no data


def test_an_early_stop_is_named_and_one_turn_reads_singular() -> None:
    """Cut off by Ctrl-C: the cause is the stop, and no hang is suggested."""
    text = joined(verdict_lines(hung(1, stopped_early=True, steady_s=0.0)))
    assert text.endswith(
        "stage 1: 1 turn was cut off by the early stop with no response byte after "
        "waiting up to 1.0 s (p50 1.0 s*) * fewer than 10 samples"  # one wait: marked
    )
    no_wait = summary([snapshot([turn(0, outcome="interrupted", ttfb_us=None, latency_us=None)])])
    assert joined(verdict_lines(no_wait)).endswith(
        "stage 1: 1 turn was cut off by the stage end with no response byte: the gateway "
        "may be hung"
    )


def test_a_healthy_run_has_no_such_lines() -> None:
    """Some ok turns and nothing unanswered: no extra verdict lines."""
    doc = summary([snapshot([turn(0)] * 3 + [failed(0)])])
    assert [line for line in verdict_lines(doc) if "succeeded" in line or "cut off" in line] == []


def test_csv_and_prometheus_leave_a_rate_of_nothing_out() -> None:
    """CSV: an empty error_rate cell; Prometheus: no error-ratio sample, no NaN; the
    unanswered count is exported in both."""
    doc = hung()
    rows = [line.split(",") for line in render_csv(doc).splitlines()]
    cells = dict(zip(rows[0], rows[-1], strict=True))
    assert (cells["error_rate"], cells["unanswered"]) == ("", "12")
    assert float(cells["unanswered_wait_max_ms"]) == pytest.approx(12_000, rel=0.001)
    prom = render_prometheus(doc)
    assert "loadtest_error_ratio{" not in prom
    assert "NaN" not in prom
    assert 'loadtest_unanswered_total{run="' in prom
    assert 'scenario="total"} 12' in prom
    empty = render_prometheus(summary([snapshot([], steady_s=0.0)]))
    assert "loadtest_throughput_requests_per_second{" not in empty


def test_compare_marks_a_missing_rate_n_a() -> None:
    """A null error rate or RPS on a side is n/a, never a regression or a crash."""
    old = summary([snapshot([turn(0)] * 20)])
    new = copy.deepcopy(old)
    new["stages"][0]["total"]["error_rate"] = None
    new["stages"][0]["total"]["throughput_rps"] = None
    deltas = {d.metric: d for d in compare_summaries(old, new).scopes[0].deltas}
    assert (deltas["error rate"].note, deltas["rps"].note) == ("n/a", "n/a")
    assert not compare_summaries(old, new).regressed


def test_the_unanswered_keys_are_optional_but_typed() -> None:
    """Older summaries lack them; present, they must have the right type."""
    doc = hung()
    del doc["stages"][0]["total"]["unanswered"]
    del doc["stages"][0]["total"]["unanswered_wait_ms"]
    check_summary(doc)
    doc["stages"][0]["total"]["unanswered"] = "12"
    with pytest.raises(
        ConfigError, match=r"\$\.stages\[0\]\.total\.unanswered: expected an integer, got '12'"
    ):
        check_summary(doc)
