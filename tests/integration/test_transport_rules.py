"""Transport rules on the mock clock: a written request is never resent, a
failed write is resent once and counted, TTFB ignores `100 Continue`, and a
stream is complete when its protocol says so, body end or not."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.engine import MemorySink, open_engine
from loadtest.report import RunInfo, build_summary
from loadtest.testing import FakeGateway, MemoryBackend, Received, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio
    import trio.testing

TTFT_S = 0.125
ITL_S = 1 / 64


async def run(
    nursery: trio.Nursery, gateway: FakeGateway, **changes: Any
) -> tuple[list[Any], Any, Any]:
    plan = make_plan(**{"warmup": "0s", **changes})
    sink = MemorySink()
    backend = MemoryBackend(nursery, gateway.serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    return sink.records, result.stages[0], build_summary(plan, result.stages, RunInfo(0.0, 1.0))


async def test_requests_dropped_after_reading_are_errors_and_never_resent(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A server that reads every 5th request and closes the connection without
    answering: exactly that share of turns fails (conn_reset), and the server
    receives every request once, though most were on reused connections."""
    numbers = itertools.count(1)

    def every_fifth(received: Received) -> Script:
        return Script(ttft_s=TTFT_S, itl_s=ITL_S, drop=next(numbers) % 5 == 0)

    gateway = FakeGateway(every_fifth)
    records, stage, summary = await run(nursery, gateway, stages=["4:20s"])
    ids = Counter(r.headers["x-request-id"] for r in gateway.received)
    assert ids.most_common(1)[0][1] == 1  # no request arrived twice
    assert len(gateway.received) == len(records)  # one request per turn
    dropped = len(gateway.received) // 5
    assert stage.total.errors == {"conn_reset": dropped}
    assert stage.total.requests > 300
    assert abs(stage.total.error_rate - 0.20) <= 0.02
    assert stage.total.retries == 0
    assert summary["run"]["retries"] == 0


async def test_failed_write_on_a_reused_connection_is_resent_once_and_counted(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A server that closes each connection after answering (without saying
    so): every later request's write fails on the reused connection, never
    reached the server, and is resent once on a new connection, counted in
    the record, the statistics and the summary."""
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S, close_after=True))
    records, stage, summary = await run(nursery, gateway, stages=["1:2s"])
    assert {r.outcome for r in records} == {"ok"}
    assert [r.retries for r in records[:3]] == [0, 1, 1]
    assert len(gateway.received) == len(records)  # nothing arrived twice
    assert stage.total.retries == len(records) - 1
    assert summary["stages"][0]["total"]["retries"] == len(records) - 1
    assert summary["run"]["retries"] == len(records) - 1


@pytest.mark.parametrize("stream", [False, True])
async def test_response_over_max_response_bytes_fails_and_closes(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, stream: bool
) -> None:
    """A body over `http.max_response_bytes` (a 3000-token answer against a
    1 KiB cap) fails as response_too_large; its connection is not reused."""
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=0.0, output_tokens=3000))
    records, stage, _ = await run(
        nursery,
        gateway,
        stages=["1:1s"],
        http={"max_response_bytes": 1024},
        defaults={"stream": stream, "max_tokens": 3000},
    )
    assert records[0].error_class == "response_too_large"
    assert "1024" in (records[0].error_detail or "")
    assert set(stage.total.errors) == {"response_too_large"}
    assert gateway.connections == len(records)


async def test_ttfb_is_the_final_response_not_100_continue(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """`100 Continue` at once, the answer 0.5 s later: TTFB is 0.5 s."""
    gateway = FakeGateway(Script(ttft_s=0.5, itl_s=0.0, send_continue=True))
    records, _, _ = await run(nursery, gateway, stages=["1:1s"], defaults={"stream": False})
    assert records[0].outcome == "ok"
    assert records[0].ttfb_us == 500_000


@pytest.mark.parametrize("protocol", ["openai-chat", "anthropic", "openai-responses"])
async def test_stream_complete_by_protocol_though_the_body_never_ends(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, protocol: str
) -> None:
    """The terminal event arrives but the HTTP body never ends: the turn is
    ok, its latency ends at the terminal event, and the connection is closed
    after the 1 s grace (each turn opens a new one)."""
    gateway = FakeGateway(Script(ttft_s=TTFT_S, itl_s=ITL_S, end_body=False))
    defaults = {"protocol": protocol}
    records, stage, _ = await run(nursery, gateway, stages=["1:4s"], defaults=defaults)
    assert {r.outcome for r in records} == {"ok"}
    assert records[0].latency_us == round((TTFT_S + 9 * ITL_S) * 1e6)
    assert records[0].completion_tokens == 10
    # each turn: its answer, then the 1 s grace before the connection is closed
    assert len(records) == 4
    assert gateway.connections == 4
    assert stage.total.errors == {}


async def test_in_stream_error_decides_the_turn_though_the_body_never_ends(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """An in-stream error event, then a body that never ends: the turn fails
    with the error's class at once, not as a timeout or an interruption."""
    script = Script(ttft_s=TTFT_S, itl_s=ITL_S, stream_error="rate_limit_error", end_body=False)
    records, stage, _ = await run(nursery, FakeGateway(script), stages=["1:2s"])
    assert records[0].error_class == "http_429"
    assert records[0].latency_us == round((TTFT_S + 9 * ITL_S) * 1e6)
    assert set(stage.total.errors) == {"http_429"}
