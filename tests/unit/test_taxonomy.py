"""The error taxonomy as a type: `ErrorClass` members are the old string
values, and error counts written from them stay plain JSON."""

from __future__ import annotations

import orjson

from loadtest import taxonomy
from loadtest.metrics import StageRecorder
from loadtest.taxonomy import ErrorClass
from tests.unit.report.builders import NAMES, snapshot, summary, turn


def test_values_are_the_documented_strings() -> None:
    assert [str(cls) for cls in taxonomy.ALL_CLASSES] == [
        "http_429",
        "http_4xx",
        "http_5xx",
        "timeout_connect",
        "timeout_read",
        "timeout_total",
        "conn_refused",
        "conn_reset",
        "stream_truncated",
        "dns",
        "tls",
        "bad_response",
        "empty_completion",
        "response_too_large",
        "gen_port_exhaustion",
        "gen_fd_exhaustion",
        "gen_dropped",
        "gen_tls_setup",
    ]
    assert set(ErrorClass) == set(taxonomy.ALL_CLASSES)
    assert taxonomy.HTTP_429 is ErrorClass.HTTP_429 == "http_429"
    assert taxonomy.class_for_status(503) is ErrorClass.HTTP_5XX
    assert f"{ErrorClass.GEN_DROPPED}" == "gen_dropped"


def test_counts_by_enum_members_are_keyed_by_plain_strings() -> None:
    """Turns failed with `ErrorClass` members and dropped arrivals: the
    counts are keyed by `str` (orjson refuses any other key) and the summary
    serialises, values unchanged."""
    turns = [
        turn(0, outcome="error", error_class=ErrorClass.HTTP_5XX, status=503, latency_us=None),
        turn(1, outcome="error", error_class=taxonomy.TIMEOUT_READ, status=None, latency_us=None),
    ]
    stage = snapshot(turns, mode="open", dropped=[0])
    assert all(type(key) is str for key in stage.total.errors)
    recorder = StageRecorder(NAMES)
    recorder.record(turns[0])
    assert [type(key) for key in recorder.statistics().errors] == [str]
    doc = summary([stage])
    assert doc["stages"][0]["total"]["errors"] == {
        "gen_dropped": 1,
        "http_5xx": 1,
        "timeout_read": 1,
    }
    assert b'"gen_dropped":1' in orjson.dumps(doc)
