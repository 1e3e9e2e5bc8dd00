"""Probes: one scenario's first turn, sent outside any stage (the pre-flight).

Rules:
- A probe is the turn a stage would send first for that scenario: the same
  adapter, request template, headers and correlation header, the same
  content and cache-mode rules (`user_message`, `new_conversation`), sent by
  the same `run_turn` through a `ConnectionPool` with the plan's transport
  settings and timeouts. So a probe tests exactly what the run will send.
- Probes never reach a recorder or a sink: they are no part of the run's
  statistics or JSONL. Their pool is their own, closed before returning.
- Several probes run at once; results come back in the order asked.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

import trio

from loadtest.engine._content import TextPool, conversation_rng, first_system, random_uuid
from loadtest.engine._engine import transport_config
from loadtest.engine._scenario import build_runtime
from loadtest.engine._stage import new_conversation, user_message
from loadtest.engine._transport import ConnectionPool
from loadtest.engine._turn import TurnSpec, run_turn
from loadtest.protocol import Message

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpcore

    from loadtest.config import RunPlan
    from loadtest.metrics import TurnRecord

__all__ = ["probe_scenarios"]


async def probe_scenarios(
    plan: RunPlan,
    indices: Sequence[int],
    *,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> list[TurnRecord]:
    """Send the first turn of each scenario in `indices` (at once) and return
    their records, in that order. `backend` replaces the network (tests)."""
    pool = ConnectionPool(transport_config(plan), backend=backend)
    text_pool = TextPool(plan.seed)
    records: dict[int, TurnRecord] = {}
    try:
        async with trio.open_nursery() as nursery:
            for index in dict.fromkeys(indices):
                nursery.start_soon(_probe, plan, index, pool, text_pool, records)
    finally:
        with trio.CancelScope(shield=True):
            await pool.aclose()
    return [records[index] for index in indices]


async def _probe(
    plan: RunPlan,
    index: int,
    pool: ConnectionPool,
    text_pool: TextPool,
    records: dict[int, TurnRecord],
) -> None:
    scenario = plan.scenarios[index]
    runtime = build_runtime(
        index,
        scenario,
        correlation_header=plan.correlation.header,
        total_timeout_s=plan.timeouts.total.seconds,
        keepalive=plan.http.keepalive,
    )
    conversation_id = random_uuid(random.Random())
    rng = conversation_rng(plan.seed, "preflight", index)
    text = user_message(plan, scenario, 0, rng, text_pool, conversation_id)
    system = first_system(scenario.system, plan.cache_mode, conversation_id)
    conversation = new_conversation(scenario, system, [Message("user", text)])
    spec = TurnSpec(
        stage=0,
        scenario_index=index,
        conversation_id=conversation_id,
        turn=1,
        warmup=False,
        start_unix_s=time.time(),
    )
    result = await run_turn(pool, runtime, conversation, spec, _ignore)
    records[index] = result.record


def _ignore(record: TurnRecord) -> None:
    del record
