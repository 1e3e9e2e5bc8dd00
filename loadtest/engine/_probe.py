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
- A dataset scenario's probe draws its record from the probe's own RNG (it
  leaves the run's record order alone) and sends the record's first turn.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

import trio

from loadtest.config import load_datasets
from loadtest.engine._content import (
    TextPool,
    conversation_rng,
    draw_max_tokens,
    first_system,
    pick_record,
    random_uuid,
)
from loadtest.engine._engine import transport_config
from loadtest.engine._scenario import build_runtime
from loadtest.engine._stage import conversation_system, new_conversation, user_message
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
    plan = load_datasets(plan)
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
    record = pick_record(scenario.dataset.records, rng) if scenario.dataset else None
    text = user_message(plan, scenario, 0, rng, text_pool, conversation_id, record)
    system = first_system(conversation_system(scenario, record), plan.cache_mode, conversation_id)
    messages = [Message("user", text)]
    conversation = new_conversation(scenario, system, messages, draw_max_tokens(scenario, rng))
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
