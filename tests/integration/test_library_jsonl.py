"""docs/library.md's JSONL recipe: a sink for the block, its counts in the
summary as the CLI puts them (in-memory gateway, trio's mock clock)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import loadtest
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    from pathlib import Path

    import trio
    import trio.testing


async def test_the_jsonl_recipe_fills_the_summary(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    backend = MemoryBackend(nursery, FakeGateway(Script(ttft_s=0.1, itl_s=0.01)).serve)
    plan = make_plan(stages=["2:2s"], warmup="0s")
    async with (
        loadtest.open_jsonl_sink(tmp_path / "run.jsonl") as sink,
        loadtest.open_engine(plan, sink=sink, backend=backend) as engine,
    ):
        result = await engine.run()
    info = loadtest.run_info(
        result, jsonl_lines=sink.lines, sink_overflow=sink.overflow, jsonl_lost_lines=sink.lost
    )
    summary = loadtest.build_summary(plan, result, info)
    lines = (tmp_path / "run.jsonl").read_bytes().splitlines()
    assert sink.lines == len(lines) == result.stages[0].total.requests > 0
    assert summary["run"]["jsonl_lines"] == len(lines)
