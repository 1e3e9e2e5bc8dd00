"""The round and summary tables: columns, precision, FAILED rows kept visible,
notes that explain a row, and a 100-column limit."""

from __future__ import annotations

import attrs

from loadtest.multiservice import (
    RoundResult,
    ServiceRound,
    render_round,
    render_summary,
    summarize,
    with_deltas,
)
from loadtest.multiservice._results import no_success_reason
from loadtest.multiservice._table import WIDTH, fmt_delta, fmt_table_ms
from tests.unit.multiservice.helpers import round_of, row

LONG_NAME = "a-gateway-name-of-24-chr"


def words(line: str) -> str:
    """A table line with its alignment spaces collapsed."""
    return " ".join(line.split())


def dead_row(name: str) -> ServiceRound:
    """A gateway whose run gave a summary in which no turn succeeded."""
    dead = row(name, None, ok=0, requests=50, errors={"conn_refused": 50})
    assert dead.figures is not None
    return attrs.evolve(dead, failure=no_success_reason(dead.figures))


def sample_round() -> RoundResult:
    rows = with_deltas(
        [
            row(LONG_NAME, 101.234),
            row("slow", 131.5, requests=120, ok=100, errors={"http_5xx": 15, "timeout_read": 5}),
            row("broken", failure="exit 1: loadtest: error: " + "y" * 200),
            dead_row("down"),
        ],
        "ttft",
    )
    skews = (1.0, 2.5, None, 1.5)
    rows = tuple(attrs.evolve(r, start_skew_ms=s) for r, s in zip(rows, skews, strict=True))
    return round_of(2, *rows, of=3)


def test_round_table_shows_every_gateway_with_its_delta() -> None:
    """One row per gateway in file order; the fastest reads +0.0 ms; ms to one decimal."""
    lines = render_round(sample_round()).splitlines()
    assert lines[0] == "round 2/3 · stages 4:10s (1 stage) · runs started within 1.5 ms"
    assert words(lines[1]) == "gateway TTFT p50 TTFT p95 lat p95 ok RPS err % gen CPU Δ TTFT p50"
    assert words(lines[3]) == f"{LONG_NAME} 101.2 106.2 141.2 10.0 0.0% - +0.0 ms"
    assert words(lines[4]) == "slow 131.5 136.5 171.5 10.0 16.7% - +30.3 ms"  # ok turns/s


def test_failed_and_errored_gateways_stay_visible() -> None:
    """A FAILED run keeps its row with the reason; errors and missing figures get notes."""
    text = render_round(sample_round())
    lines = text.splitlines()
    assert lines[5].startswith("broken                   FAILED: exit 1: loadtest: error: yyy")
    assert lines[5].endswith("…")
    assert "  slow: 16.7% errors (http_5xx 15, timeout_read 5)" in lines


def test_a_dead_gateway_is_failed_with_no_throughput() -> None:
    """Every turn refused: 0.0 successful turns/s (not the rate of its refusals), FAILED."""
    lines = render_round(sample_round()).splitlines()
    assert words(lines[6]) == "down - - - 0.0 100.0% - FAILED"
    assert "  down: FAILED: no successful turn: 50 failed (conn_refused 50)" in lines
    assert not [line for line in lines if line.startswith("  down: 100.0% errors")]
    summary = render_summary(summarize(["down"], [sample_round()]), "ttft", 1)
    assert "FAILED in round 2" in summary


def test_a_hung_gateway_has_no_error_rate() -> None:
    """Nothing completed (every turn cut off unanswered): err % is "-", not 0.0%."""
    hung = row("hung", None, ok=0, requests=0)
    assert hung.figures is not None
    hung = attrs.evolve(hung, failure=no_success_reason(hung.figures))
    lines = render_round(round_of(1, hung)).splitlines()
    assert words(lines[3]) == "hung - - - 0.0 - - FAILED"
    assert "  hung: FAILED: no successful turn: no steady turn completed" in lines


def test_every_line_fits_100_columns() -> None:
    """Long names, long reasons and large values never push a line past 100 columns."""
    big = with_deltas([row(LONG_NAME, 12_345.6, requests=50_000), row("b", 1.0)], "ttft")
    texts = [
        render_round(sample_round()),
        render_round(round_of(1, *big)),
        render_summary(summarize([LONG_NAME, "b"], [round_of(1, *big)]), "ttft", 1),
    ]
    for text in texts:
        assert all(len(line) <= WIDTH for line in text.splitlines())
    assert "+12,345 ms" in texts[1]


def test_notes_flag_a_late_start_an_early_stop_and_an_unhealthy_generator() -> None:
    """Rows that are less comparable say why, under the table."""
    rows = with_deltas(
        [row("a", 100.0, stopped_early=True, generator="generator-bound"), row("b", 120.0)],
        "ttft",
    )
    late = attrs.evolve(rows[1], start_skew_ms=400.0)
    early = attrs.evolve(rows[0], start_skew_ms=2.0)
    text = render_round(attrs.evolve(round_of(1, early, late), interrupted=True))
    assert "· INTERRUPTED" in text.splitlines()[0]
    assert "  a: run stopped early" in text
    assert "  a: generator-bound (see its report)" in text
    assert "  runs started 398 ms apart: raise --start-delay for a common start" in text


def test_generator_cpu_per_gateway_and_a_warning_past_the_host_share() -> None:
    """Each row shows the cores its loadtest used; the round sums them against
    the host's cores and warns past HOST_SHARE_WARN of them."""
    rows = with_deltas([row("a", 100.0, cpu_share=0.3), row("b", 120.0, cpu_share=0.25)], "ttft")
    busy = attrs.evolve(round_of(1, *rows), host_cores=2)
    text = render_round(busy)
    assert words(text.splitlines()[3]).split()[6] == "30%"
    assert "generator CPU: 0.55 of 2 cores (28% of this host)" in text
    assert "  warning: the generator used over 25% of this host's cores;" in text
    assert "  gateways on this host had less CPU than in separate runs" in text
    assert all(len(line) <= WIDTH for line in text.splitlines())
    quiet = render_round(attrs.evolve(round_of(1, *rows), host_cores=4))
    assert "generator CPU: 0.55 of 4 cores (14% of this host)" in quiet
    assert "warning" not in quiet
    assert "generator CPU" not in render_round(round_of(1, *rows))  # host cores unknown
    assert busy.to_json()["generator_cpu_cores"] == 0.55
    assert round_of(1, row("c", 1.0)).generator_cpu is None


def test_latency_is_compared_when_the_profile_does_not_stream() -> None:
    """The delta column and the summary name the latency p50 for non-streamed profiles."""
    rows = with_deltas(
        [row("a", None, latency_p50_ms=80.0), row("b", None, latency_p50_ms=95.0)], "latency"
    )
    round_ = attrs.evolve(round_of(1, *rows), metric="latency")
    text = render_round(round_)
    assert "Δ lat p50" in text
    assert "+15.0 ms" in text
    summary = render_summary(summarize(["a", "b"], [round_]), "latency", 1)
    assert summary.splitlines()[1].split()[2:4] == ["lat", "p50"]


def test_summary_table_gives_median_range_and_failures() -> None:
    """Per gateway: rounds with a value, median p50, median delta, min..max, failed rounds."""
    rounds = [
        round_of(1, *with_deltas([row("a", 100.0), row("b", 130.0)], "ttft")),
        round_of(2, *with_deltas([row("a", 100.0), row("b", failure="exit 1")], "ttft")),
        round_of(3, *with_deltas([row("a", 100.0), row("b", 134.0)], "ttft")),
    ]
    lines = render_summary(summarize(["a", "b"], rounds), "ttft", 3).splitlines()
    assert lines[0] == "summary over 3 rounds · Δ TTFT p50 per round"
    assert words(lines[3]) == "a 3/3 100.0 +0.0 ms +0.0 .. +0.0"
    assert words(lines[4]) == "b 2/3 132.0 +32.0 ms +30.0 .. +34.0 FAILED in round 2"


def test_number_formats() -> None:
    """One decimal below 10 s, none (with separators) from there; signed deltas; "-" for none."""
    values = (None, 0.04, 101.25, 9_999.94, 12_345.6)
    assert " | ".join(fmt_table_ms(v) for v in values) == "- | 0.0 | 101.2 | 9999.9 | 12,346"
    deltas = (None, 0.0, 30.04, -1.26)
    assert " | ".join(fmt_delta(v) for v in deltas) == "- | +0.0 ms | +30.0 ms | -1.3 ms"
