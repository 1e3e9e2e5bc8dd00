"""Failed turns on the mock clock: each failure lands in its taxonomy class."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from loadtest.engine import MemorySink, open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio


async def first_records(
    nursery: trio.Nursery, script: Script, *, refuse: bool = False, **changes: Any
) -> tuple[list[Any], Any]:
    plan = make_plan(**{"stages": ["1:1s"], "warmup": "0s", **changes})
    gateway = FakeGateway(script)
    sink = MemorySink()
    backend = MemoryBackend(nursery, gateway.serve, refuse=refuse)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    return sink.records, result.stages[0]


@pytest.mark.parametrize(
    ("status", "error_class"), [(500, "http_5xx"), (429, "http_429"), (404, "http_4xx")]
)
async def test_http_status_errors(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, status: int, error_class: str
) -> None:
    """A non-2xx answer fails the turn with its status class and the server's message."""
    records, stage = await first_records(nursery, Script(ttft_s=0.25, status=status))
    assert records[0].error_class == error_class
    assert records[0].status == status
    assert "scripted failure" in (records[0].error_detail or "")
    assert stage.total.errors == {error_class: 4}
    assert stage.total.status_codes == {status: 4}
    assert stage.total.histogram("latency").count == 0


async def test_disconnect_mid_stream_is_truncation(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A connection closed mid-stream fails the turn as stream_truncated."""
    records, _ = await first_records(nursery, Script(ttft_s=0.25, itl_s=0.01, disconnect_after=3))
    assert records[0].error_class == "stream_truncated"
    assert records[0].chunks == 3


async def test_refused_connection_backs_off(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """conn_refused is a failed turn; the VU waits 125 ms before retrying
    instead of spinning (8 attempts, 125 ms apart, in a 1 s stage)."""
    records, stage = await first_records(nursery, Script(), refuse=True)
    assert {r.error_class for r in records} == {"conn_refused"}
    assert stage.total.errors == {"conn_refused": 8}


async def test_total_timeout(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    """A turn longer than timeouts.total fails as timeout_total at that time."""
    records, _ = await first_records(
        nursery, Script(ttft_s=0.1, itl_s=0.5), timeouts={"total": "2s"}, stages=["1:3s"]
    )
    assert records[0].error_class == "timeout_total"
    assert records[0].latency_us == 2_000_000


async def test_read_timeout(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    """A silence longer than timeouts.read mid-stream fails as timeout_read."""
    records, _ = await first_records(
        nursery,
        Script(ttft_s=0.1, itl_s=0.01, stall_s=5.0),
        timeouts={"read": "1s"},
        stages=["1:3s"],
    )
    assert records[0].error_class == "timeout_read"
    assert records[0].latency_us == pytest.approx(1_100_000, abs=20_000)


async def test_a_stream_longer_than_the_read_timeout_is_not_cut(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Gaps under timeouts.read keep a stream alive well past that timeout:
    the read deadline runs from the last read, not from the request."""
    records, _ = await first_records(
        nursery,
        Script(ttft_s=0.1, itl_s=0.3, output_tokens=10),
        timeouts={"read": "1s"},
        stages=["1:3s"],
    )
    assert records[0].outcome == "ok"
    assert records[0].latency_us == pytest.approx(2_800_000, abs=20_000)


async def test_read_timeout_counts_from_the_last_read(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A silence after many reads fails exactly timeouts.read after the last one."""
    records, _ = await first_records(
        nursery,
        Script(ttft_s=0.1, itl_s=0.3, output_tokens=10, done_delay_s=5.0),
        timeouts={"read": "1s"},
        stages=["1:6s"],
    )
    assert records[0].error_class == "timeout_read"
    assert records[0].chunks == 10
    assert records[0].latency_us == pytest.approx(3_800_000, abs=20_000)


async def test_empty_completion(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """HTTP 200 without any content is a silent failure: empty_completion."""
    records, _ = await first_records(nursery, Script(ttft_s=0.25, output_tokens=0))
    assert records[0].error_class == "empty_completion"
    assert records[0].status == 200


async def test_non_streamed_turn(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A non-streamed turn: latency = the whole generation time, no TTFT or ITL."""
    records, stage = await first_records(
        nursery, Script(ttft_s=0.125, itl_s=1 / 64), defaults={"stream": False}
    )
    assert records[0].latency_us == 265_625
    assert records[0].ttft_us is None
    assert records[0].itl_gaps_us == ()
    assert stage.total.histogram("ttft").count == 0
    assert records[0].completion_tokens == 10


async def test_missing_usage_is_estimated_and_flagged(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Without usage from the server, token counts are estimated and flagged."""
    records, stage = await first_records(nursery, Script(ttft_s=0.25, usage=False))
    assert records[0].tokens_estimated
    assert records[0].completion_tokens == 10
    assert stage.total.estimated_turns == stage.total.ok


async def test_multi_token_chunks_add_zero_gaps(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """5 chunks of 2 tokens: 4 measured gaps plus 5 zero gaps (10 tokens - 1)."""
    records, stage = await first_records(
        nursery, Script(ttft_s=0.25, itl_s=0.05, tokens_per_chunk=2)
    )
    assert records[0].chunks == 5
    assert records[0].itl_gaps_us == (50_000,) * 4
    assert records[0].itl_zeros == 5
    assert stage.total.histogram("itl").count == stage.total.ok * 9
