"""The engine: stages, virtual users, open-loop schedules, and the transport.

`open_engine(plan)` gives an `Engine`; `await engine.run_stage(stage)` runs
one stage (an index into the plan, a stage object or a stage string) in its
own nursery and returns its frozen `StageSnapshot`; `engine.live` reads the
running stage (`LiveView`); `await engine.run()` runs every stage of the
plan and returns a `RunResult`.
`JsonlSink` writes one line per turn (`open_jsonl_sink(path)` serves one
for a block). `probe_scenarios(plan, indices)` sends
each scenario's first turn outside any stage (the pre-flight).
`serve_metrics(engine, port)` serves the live Prometheus exposition from
your nursery (`listen_metrics` binds its socket first). The transport
(`_transport`) is the only module that connects to a target; the metrics
endpoint (`_metrics_endpoint`) the only one that listens.
"""

from __future__ import annotations

from loadtest.engine._engine import (
    Engine,
    EngineStats,
    RecordSink,
    RunResult,
    open_engine,
    transport_config,
)
from loadtest.engine._live import LiveView
from loadtest.engine._metrics_endpoint import MetricsExporter, listen_metrics, serve_metrics
from loadtest.engine._probe import probe_scenarios
from loadtest.engine._schedule import (
    ScenarioPicker,
    VuSlot,
    arrival_offsets,
    ramp_offsets,
    vu_plan,
)
from loadtest.engine._sink import JsonlSink, MemorySink, open_jsonl_sink
from loadtest.engine._stage import StageStats
from loadtest.engine._transport import ConnectionPool, TransportConfig, TransportFailure

__all__ = [
    "ConnectionPool",
    "Engine",
    "EngineStats",
    "JsonlSink",
    "LiveView",
    "MemorySink",
    "MetricsExporter",
    "RecordSink",
    "RunResult",
    "ScenarioPicker",
    "StageStats",
    "TransportConfig",
    "TransportFailure",
    "VuSlot",
    "arrival_offsets",
    "listen_metrics",
    "open_engine",
    "open_jsonl_sink",
    "probe_scenarios",
    "ramp_offsets",
    "serve_metrics",
    "transport_config",
    "vu_plan",
]
