"""A CA bundle that breaks after validation is the generator's failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest.engine import MemorySink, open_engine
from loadtest.taxonomy import GEN_TLS_SETUP, is_generator_class
from loadtest.testing import FakeGateway, MemoryBackend

from .conftest import make_plan

if TYPE_CHECKING:
    from pathlib import Path

    import trio


async def test_unloadable_ca_bundle_is_gen_tls_setup(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """An https target whose http.ca_bundle is gone fails every turn as
    gen_tls_setup (a generator class), never as conn_refused or tls."""
    missing = tmp_path / "gone.pem"
    plan = make_plan(
        stages=["1:1s"],
        warmup="0s",
        http={"ca_bundle": str(missing)},
        defaults={"target": "https://gw.test/v1"},
    )
    sink = MemorySink()
    backend = MemoryBackend(nursery, FakeGateway().serve)
    async with open_engine(plan, sink=sink, backend=backend) as engine:
        result = await engine.run()
    classes = {r.error_class for r in sink.records}
    assert classes == {GEN_TLS_SETUP}
    assert is_generator_class(GEN_TLS_SETUP)
    assert "http.ca_bundle" in (sink.records[0].error_detail or "")
    assert result.stages[0].total.errors == {GEN_TLS_SETUP: 8}  # backs off 125 ms
