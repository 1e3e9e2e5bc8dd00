"""Keys echoed by a server never reach the JSONL: every value sent in a
secret header is scrubbed from `err_detail`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest.engine import MemorySink, open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Received, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio

BEARER = "sk-BEARERSECRET-123"
PORTKEY = "pk-PORTKEYSECRET-456"


def _echo(received: Received) -> Script:
    """A 401 whose message quotes every header it was sent, as some gateways do."""
    sent = ", ".join(f"{k}={v}" for k, v in received.headers.items())
    return Script(ttft_s=0.1, status=401, error_message=f"invalid credentials: {sent}")


async def test_echoed_keys_are_scrubbed_from_err_detail(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Authorization, x-portkey-api-key and a redact_headers name echoed in an
    error body show as *** in err_detail; the rest of the message stays."""
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        redact_headers=["x-tenant"],
        defaults={
            "headers": {
                "Authorization": f"Bearer {BEARER}",
                "x-portkey-api-key": PORTKEY,
                "x-tenant": "tenant-SECRET-789",
                "x-trace": "visible-trace",
            }
        },
    )
    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway(_echo).serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        await engine.run()
    details = [r.error_detail or "" for r in sink.records]
    assert details
    for detail in details:
        assert "invalid credentials" in detail
        assert "visible-trace" in detail
        for secret in (BEARER, PORTKEY, "tenant-SECRET-789"):
            assert secret not in detail
        assert "authorization=***" in detail
