"""One meaning per metric, on the mock clock: per-token ITL in the JSONL line
and in the summary alike; the stream tail (last token to end of stream) of a
gateway that holds its closing events; TPOT ending at the last token; the
cache-busting warning.

Times are dyadic fractions so every sum is exact in binary floating point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from loadtest.engine import MemorySink, open_engine
from loadtest.report import RunInfo, build_summary, render_text
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio

TTFT_S = 0.125
ITL_S = 1 / 64


async def run(nursery: trio.Nursery, plan: Any, script: Script) -> tuple[dict[str, Any], Any]:
    """The summary document of one run against the fake gateway, and the records."""
    gateway = FakeGateway(script)
    sink = MemorySink()
    async with open_engine(
        plan, sink=sink, backend=MemoryBackend(nursery, gateway.serve)
    ) as engine:
        result = await engine.run()
    summary = build_summary(plan, result.stages, RunInfo(started_unix_s=0.0, ended_unix_s=10.0))
    return summary, sink.records


async def test_a_chunk_of_k_tokens_gives_one_itl_in_jsonl_and_summary(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """16 tokens in chunks of 4: 3 gaps of 1/64 s between chunks, 12 zero gaps.
    ITL per token is 3/64 s over 15 gaps in the JSONL line and in the
    summary alike; the chunk gap is 1/64 s in both."""
    plan = make_plan(stages=["1:2s"], warmup="0s", defaults={"max_tokens": 16})
    summary, records = await run(
        nursery, plan, Script(ttft_s=TTFT_S, itl_s=ITL_S, tokens_per_chunk=4)
    )
    line = records[0].to_json()
    total = summary["stages"][0]["total"]
    assert line["itl_mean_ms"] == pytest.approx(3 * 15.625 / 15)
    assert total["itl_ms"]["mean"] == pytest.approx(line["itl_mean_ms"], rel=1e-3)
    assert line["chunk_gap_mean_ms"] == 15.625
    assert total["chunk_gap_ms"]["mean"] == pytest.approx(15.625, rel=1e-3)
    assert total["itl_ms"]["p50"] == 0.0  # most per-token gaps are zero, by design


async def test_stream_tail_shows_a_held_end_of_stream(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A gateway that holds the closing events (and `[DONE]`) 0.3 s after the
    last token: every turn's stream tail is exactly 0.3 s, TPOT does not
    absorb it, latency does."""
    plan = make_plan(stages=["1:4s"], warmup="0s")
    script = Script(ttft_s=TTFT_S, itl_s=ITL_S, done_delay_s=0.3)
    summary, records = await run(nursery, plan, script)
    steady = [r for r in records if r.outcome == "ok"]
    assert steady
    assert {r.tail_us for r in steady} == {300_000}
    assert {r.tpot_us for r in steady} == {15_625}
    assert {r.latency_us for r in steady} == {int((TTFT_S + 9 * ITL_S + 0.3) * 1e6)}
    tail = summary["stages"][0]["total"]["stream_tail_ms"]
    assert tail["p50"] == pytest.approx(300, rel=1e-3)
    assert tail["count"] == len(steady)
    assert steady[0].to_json()["stream_tail_ms"] == 300.0


async def test_stream_tail_is_zero_when_the_stream_ends_with_its_last_token(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Without a hold, the closing events follow the last token at once."""
    plan = make_plan(stages=["1:1s"], warmup="0s")
    _, records = await run(nursery, plan, Script(ttft_s=TTFT_S, itl_s=ITL_S))
    assert {r.tail_us for r in records} == {0}


async def test_non_streamed_turns_have_no_stream_tail(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A non-streamed answer has no tokens to time: no tail, no TPOT."""
    plan = make_plan(stages=["1:1s"], warmup="0s", defaults={"stream": False})
    summary, records = await run(nursery, plan, Script(ttft_s=TTFT_S, itl_s=ITL_S))
    assert {(r.tail_us, r.tpot_us) for r in records} == {(None, None)}
    assert summary["stages"][0]["total"]["stream_tail_ms"]["count"] == 0


BUST_PLAN: dict[str, Any] = {
    "stages": ["1:2s"],
    "warmup": "0s",
    "cache_mode": "bust",
    "defaults": {"turns": 2, "content": {"mode": "scripted", "script": ["one", "two"]}},
}


async def test_cache_busting_that_did_not_hold_is_a_warning(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A gateway whose cache hits on first turns despite the busting UUID:
    the verdict warns with the number of first turns served from cache, and
    the summary splits the cached share into first and later turns."""
    plan = make_plan(**BUST_PLAN)
    script = Script(ttft_s=0.25, itl_s=0.0, output_tokens=3, cached_tokens=2)
    summary, records = await run(nursery, plan, script)
    firsts = [r for r in records if r.turn == 1 and r.outcome == "ok"]
    cache = summary["stages"][0]["total"]["cache"]
    assert cache["first_turns"]["cached_turns"] == cache["first_turns"]["turns"] == len(firsts)
    assert cache["first_turns"]["cached_tokens"] == 2 * len(firsts)
    assert cache["later_turns"]["cached_turns"] == cache["later_turns"]["turns"] > 0
    text = render_text(summary)
    assert f"cache busting did not hold: {len(firsts)} first turns were served from cache" in text


async def test_cache_busting_that_held_is_no_warning(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A normal `bust` run: no first turn cached, no warning."""
    plan = make_plan(**BUST_PLAN)
    summary, _ = await run(nursery, plan, Script(ttft_s=0.25, itl_s=0.0, output_tokens=3))
    assert summary["stages"][0]["total"]["cache"]["first_turns"]["cached_turns"] == 0
    assert "cache busting did not hold" not in render_text(summary)
