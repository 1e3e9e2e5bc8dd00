"""render_csv: the CSV report read back with the csv module."""

from __future__ import annotations

import csv
import io
import re

from loadtest.report import CSV_COLUMNS, render_csv
from tests.unit.report.builders import SECRET, snapshot, summary, turn, two_stage_summary

TEXT = {"run_started", "profile", "mode", "scenario", "status_codes", "errors", "ended_by"}
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_one_row_per_stage_and_scenario_plus_the_total() -> None:
    """Header is CSV_COLUMNS; rows are stage x (scenarios, then total), stage 1-based."""
    text = render_csv(two_stage_summary())
    rows = read(text)
    assert tuple(next(csv.reader(io.StringIO(text)))) == CSV_COLUMNS
    assert [(r["stage"], r["scenario"]) for r in rows] == [
        ("1", "chat"),
        ("1", "batch"),
        ("1", "total"),
        ("2", "chat"),
        ("2", "batch"),
        ("2", "total"),
    ]
    assert text.endswith("\r\n")


def test_values_read_back_equal_the_summary() -> None:
    """Counters, rates, percentiles and error/status counts survive the round trip."""
    doc = two_stage_summary()
    rows = read(render_csv(doc))
    total = doc["stages"][0]["total"]
    row = rows[2]
    assert row["profile"] == "unit"
    assert row["run_started"] == doc["run"]["started_at"]
    assert (row["mode"], row["concurrency"], row["rate"]) == ("closed", "4", "")
    assert int(row["requests"]) == total["requests"] == 52
    assert int(row["failed"]) == 2
    assert float(row["error_rate"]) == total["error_rate"]
    assert float(row["throughput_rps"]) == total["throughput_rps"] == 5.2
    assert float(row["latency_p95_ms"]) == total["latency_ms"]["p95"]
    assert float(row["ttft_p50_ms"]) == total["ttft_ms"]["p50"]
    assert row["errors"] == "http_429=1;http_5xx=1"
    assert row["status_codes"] == "200=50;429=1;503=1"
    open_total = rows[5]
    assert (open_total["mode"], open_total["concurrency"], open_total["rate"]) == (
        "open",
        "",
        "5.0",
    )
    assert open_total["errors"] == "gen_dropped=1"
    assert float(open_total["schedule_lag_p99_ms"]) == 1.5


def test_a_ramp_and_a_request_count_have_their_cells() -> None:
    """A ramp's other end, the stage's request count and what ended it; a
    summary written before those fields reads as a plain timed stage."""
    doc = two_stage_summary()
    doc["stages"][0] |= {"ramp_to": 8, "requests": 30, "ended_by": "requests"}
    del doc["stages"][1]["ended_by"]
    rows = read(render_csv(doc))
    assert (rows[0]["ramp_to"], rows[0]["stage_requests"], rows[0]["ended_by"]) == (
        "8",
        "30",
        "requests",
    )
    assert (rows[-1]["ramp_to"], rows[-1]["stage_requests"], rows[-1]["ended_by"]) == (
        "",
        "",
        "duration",
    )


def test_missing_values_are_empty_cells() -> None:
    """A scenario with no streamed turns has empty TTFT/ITL cells; a closed stage no lag."""
    row = read(render_csv(two_stage_summary()))[1]
    assert row["scenario"] == "batch"
    assert row["ttft_p50_ms"] == row["itl_p99_ms"] == row["schedule_lag_p99_ms"] == ""
    assert row["errors"] == "http_429=1"


def test_every_cell_has_its_column_type() -> None:
    """Numbers are plain (no separators, no exponent), booleans true/false, text as text."""
    doc = two_stage_summary()
    doc["stages"][0]["total"]["error_rate"] = 1e-06
    doc["stages"][0]["total"]["completion_tokens"] = 12_345_678
    rows = read(render_csv(doc))
    assert rows[2]["error_rate"] == "0.000001"
    assert rows[2]["completion_tokens"] == "12345678"
    for row in rows:
        assert row["stopped_early"] in ("true", "false")
        for column, value in row.items():
            if column in TEXT or column == "stopped_early" or value == "":
                continue
            assert PLAIN_NUMBER.fullmatch(value), (column, value)


def test_quoting_follows_rfc_4180() -> None:
    """Commas, quotes and newlines in names survive; a stage stopped early says true."""
    doc = summary([snapshot([turn(0)], stopped_early=True)])
    doc["run"]["profile"] = 'a,"b"\nc'
    text = render_csv(doc)
    assert '"a,""b""\nc"' in text
    rows = read(text)
    assert rows[0]["profile"] == 'a,"b"\nc'
    assert rows[0]["stopped_early"] == "true"


def test_no_header_value_reaches_the_csv() -> None:
    """The profile's Authorization header never appears in the CSV."""
    assert SECRET not in render_csv(two_stage_summary())
