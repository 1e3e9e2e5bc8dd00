"""Request shapes on the mock clock: extra_body on the wire, tool calls,
embeddings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import pytest

from loadtest.engine import MemorySink, open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio
    import trio.testing


async def run(
    nursery: trio.Nursery, plan: Any, script: Script | None = None
) -> tuple[FakeGateway, MemorySink]:
    gateway = FakeGateway(script or Script(ttft_s=0.25, itl_s=0.01, output_tokens=3))
    sink = MemorySink()
    async with open_engine(
        plan, sink=sink, backend=MemoryBackend(nursery, gateway.serve)
    ) as engine:
        await engine.run()
    return gateway, sink


EXTRA = {
    "top_p": 0.5,
    "response_format": {"type": "json_object"},
    "provider": {"order": ["a", "b"], "allow_fallbacks": False},
}


@pytest.mark.parametrize("protocol", ["openai-chat", "anthropic", "openai-responses"])
async def test_extra_body_is_sent_byte_for_byte(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, protocol: str
) -> None:
    """A scenario's extra_body, merged over the defaults' (the scenario's
    value wins), ends every request body exactly as orjson encodes it."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        defaults={"protocol": protocol, "extra_body": {"top_p": 0.9, "seed": 7}},
        scenarios=[{"name": "s", "extra_body": EXTRA}],
    )
    gateway, sink = await run(nursery, plan)
    assert gateway.received
    merged = {"top_p": 0.5, "seed": 7, **EXTRA}
    for received in gateway.received:
        assert received.body.endswith(orjson.dumps(merged)[1:])
        assert orjson.loads(received.body)["model"] == "m"
    assert all(r.outcome == "ok" for r in sink.records)
