"""The JSONL line of a turn, written out field by field (`TurnRecord.to_json`,
`Phases.to_json`, the sink's line): byte for byte the line of the general
version it replaced (kept below as the reference), for fuzzed records."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from loadtest.engine._sink import JsonlSink
from loadtest.metrics import Phases, TurnRecord


def _ms(value_us: int | None) -> float | None:
    return None if value_us is None else value_us / 1000


def reference_phases(phases: Phases) -> dict[str, float]:
    pairs = (
        ("dns_ms", phases.dns_us),
        ("connect_ms", phases.connect_us),
        ("tls_ms", phases.tls_us),
        ("write_ms", phases.write_us),
        ("wait_ms", phases.wait_us),
        ("transfer_ms", phases.transfer_us),
    )
    return {name: value / 1000 for name, value in pairs if value is not None}


def reference_line(r: TurnRecord) -> dict[str, Any]:
    """`TurnRecord.to_json` as it was written before (helpers and generators)."""
    gaps = r.itl_gaps_us
    tokens_after_first = len(gaps) + r.itl_zeros
    return {
        "ts": round(r.start_unix_s, 6),
        "stage": r.stage,
        "scenario": r.scenario,
        "conv_uuid": r.conversation,
        "turn": r.turn,
        "request_id": r.request_id,
        "stream": r.stream,
        "warmup": r.warmup,
        "outcome": r.outcome,
        "status": r.status,
        "err": r.error_class,
        "err_detail": r.error_detail,
        "latency_ms": _ms(r.latency_us),
        "ttfb_ms": _ms(r.ttfb_us),
        "ttft_ms": _ms(r.ttft_us),
        "tpot_ms": _ms(r.tpot_us),
        "itl_mean_ms": (sum(gaps) / tokens_after_first / 1000) if tokens_after_first else None,
        "itl_max_ms": (max(gaps, default=0) / 1000) if tokens_after_first else None,
        "chunk_gap_mean_ms": (sum(gaps) / len(gaps) / 1000) if gaps else None,
        "chunk_gap_max_ms": (max(gaps) / 1000) if gaps else None,
        "stream_tail_ms": _ms(r.tail_us),
        "chunks": r.chunks,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "cached_tokens": r.cached_tokens,
        "tokens_estimated": r.tokens_estimated,
        "content_chars": r.content_chars,
        "phases": reference_phases(r.phases) if r.phases is not None else None,
        "lag_ms": _ms(r.lag_us),
        "retries": r.retries,
    }


us = st.none() | st.integers(0, 10**12)
phases = st.none() | st.builds(
    Phases, dns_us=us, connect_us=us, tls_us=us, write_us=us, wait_us=us, transfer_us=us
)
records = st.builds(
    TurnRecord,
    stage=st.integers(0, 50),
    scenario=st.text(max_size=10),
    scenario_index=st.integers(0, 5),
    conversation=st.text(max_size=40),
    turn=st.integers(1, 100),
    stream=st.booleans(),
    start_unix_s=st.floats(0, 2e9),
    warmup=st.booleans(),
    outcome=st.sampled_from(["ok", "error", "interrupted"]),
    request_id=st.text(max_size=44),
    error_class=st.none() | st.sampled_from(["timeout_read", "http_5xx"]),
    error_detail=st.none() | st.text(max_size=30),
    status=st.none() | st.integers(100, 599),
    latency_us=us,
    ttfb_us=us,
    ttft_us=us,
    tpot_us=us,
    itl_gaps_us=st.lists(st.integers(0, 10**9), max_size=20).map(tuple),
    itl_zeros=st.integers(0, 50),
    tail_us=us,
    chunks=st.integers(0, 500),
    prompt_tokens=st.none() | st.integers(0, 10**6),
    completion_tokens=st.none() | st.integers(0, 10**6),
    cached_tokens=st.none() | st.integers(0, 10**6),
    tokens_estimated=st.booleans(),
    content_chars=st.integers(0, 10**6),
    phases=phases,
    lag_us=st.none() | st.integers(-(10**6), 10**9),
    retries=st.integers(0, 1),
)


@given(records)
def test_line_is_the_reference_line(record: TurnRecord) -> None:
    line = record.to_json()
    expected = reference_line(record)
    assert line == expected
    assert list(line) == list(expected)  # the same key order on the line
    assert orjson.dumps(line) == orjson.dumps(expected)


@given(records)
def test_sink_line_is_the_encoded_record_and_a_newline(record: TurnRecord) -> None:
    sink = JsonlSink(Path("/nonexistent/never-opened.jsonl"))  # write() only queues
    sink.write(record)
    assert sink._buffer == [orjson.dumps(reference_line(record)) + b"\n"]


def test_a_queued_line_holds_about_its_own_size() -> None:
    """orjson's output keeps its working buffer (~16 KB) allocated: a line
    kept as orjson returned it would hold that for as long as it waits in
    the batch (thousands of lines)."""
    record = TurnRecord(
        stage=0,
        scenario="chat",
        scenario_index=0,
        conversation="c",
        turn=1,
        stream=False,
        start_unix_s=1.0,
        warmup=False,
        outcome="ok",
        latency_us=812,
        phases=Phases(write_us=12, wait_us=700, transfer_us=20),
    )
    sink = JsonlSink(Path("/nonexistent/never-opened.jsonl"), batch_lines=10**6)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(500):
            sink.write(record)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    line = len(sink._buffer[0])
    assert held / 500 < line + 200
