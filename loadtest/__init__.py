"""loadtest: a scenario-driven load generator for LLM gateways.

One namespace for scripts (docs/library.md): `import loadtest`, then
`loadtest.load_profile`, `loadtest.resolve`, `loadtest.open_engine`,
`loadtest.closed_stage`, `loadtest.serve_mock`, `loadtest.build_summary`,
`loadtest.render_text`, ... Every name below lives in one of the layer
packages, which stay importable on their own: `loadtest.config` (profiles),
`loadtest.protocol` (sans-IO adapters), `loadtest.metrics` (recording and
HDR histograms), `loadtest.engine` (stages, the transport), `loadtest.report`
(summaries and renderers), `loadtest.mock` (the built-in upstream) and
`loadtest.testing` (fakes for testing your own extensions).

Rule: a name is imported from its package on first use, so `import loadtest`
(and so importing any leaf package: config, protocol, metrics) loads neither
trio nor httpcore.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the package that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "ClosedStage",
            "Duration",
            "OpenStage",
            "Overrides",
            "Profile",
            "RunPlan",
            "Stage",
            "closed_stage",
            "format_stage",
            "load_profile",
            "open_stage",
            "parse_duration",
            "parse_profile",
            "parse_stage",
            "parse_stages",
            "profile_converter",
            "resolve",
            "structure_profile",
        ),
        "loadtest.config",
    ),
    **dict.fromkeys(
        (
            "Engine",
            "JsonlSink",
            "LiveView",
            "MemorySink",
            "RecordSink",
            "RunResult",
            "listen_metrics",
            "open_engine",
            "open_jsonl_sink",
            "serve_metrics",
        ),
        "loadtest.engine",
    ),
    **dict.fromkeys(
        ("Health", "Histogram", "Metric", "StageSnapshot", "StatsSnapshot", "TurnRecord"),
        "loadtest.metrics",
    ),
    **dict.fromkeys(("MockConfig", "run_mock_process", "serve_mock"), "loadtest.mock"),
    **dict.fromkeys(("RunningMock", "open_mock"), "loadtest.mock._running"),
    **dict.fromkeys(
        ("ENTRY_POINT_GROUP", "available", "get_adapter", "register"), "loadtest.protocol"
    ),
    **dict.fromkeys(
        (
            "RunInfo",
            "build_summary",
            "check_summary",
            "compare_summaries",
            "evaluate_thresholds",
            "merge_summaries",
            "render_comparison",
            "render_csv",
            "render_prometheus",
            "render_text",
            "run_info",
        ),
        "loadtest.report",
    ),
    **dict.fromkeys(("ConfigError", "LoadtestError"), "loadtest.errors"),
    "ErrorClass": "loadtest.taxonomy",
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "ClosedStage",
    "ConfigError",
    "Duration",
    "Engine",
    "ErrorClass",
    "Health",
    "Histogram",
    "JsonlSink",
    "LiveView",
    "LoadtestError",
    "MemorySink",
    "Metric",
    "MockConfig",
    "OpenStage",
    "Overrides",
    "Profile",
    "RecordSink",
    "RunInfo",
    "RunPlan",
    "RunResult",
    "RunningMock",
    "Stage",
    "StageSnapshot",
    "StatsSnapshot",
    "TurnRecord",
    "__version__",
    "available",
    "build_summary",
    "check_summary",
    "closed_stage",
    "compare_summaries",
    "evaluate_thresholds",
    "format_stage",
    "get_adapter",
    "listen_metrics",
    "load_profile",
    "merge_summaries",
    "open_engine",
    "open_jsonl_sink",
    "open_mock",
    "open_stage",
    "parse_duration",
    "parse_profile",
    "parse_stage",
    "parse_stages",
    "profile_converter",
    "register",
    "render_comparison",
    "render_csv",
    "render_prometheus",
    "render_text",
    "resolve",
    "run_info",
    "run_mock_process",
    "serve_metrics",
    "serve_mock",
    "structure_profile",
]


def __getattr__(name: str) -> Any:
    package = _EXPORTS.get(name)
    if package is None:
        raise AttributeError(f"module 'loadtest' has no attribute {name!r}")
    value = getattr(importlib.import_module(package), name)
    globals()[name] = value  # later reads skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)  # the public names only, not this module's own imports


if TYPE_CHECKING:
    from loadtest.config import (
        ClosedStage,
        Duration,
        OpenStage,
        Overrides,
        Profile,
        RunPlan,
        Stage,
        closed_stage,
        format_stage,
        load_profile,
        open_stage,
        parse_duration,
        parse_profile,
        parse_stage,
        parse_stages,
        profile_converter,
        resolve,
        structure_profile,
    )
    from loadtest.engine import (
        Engine,
        JsonlSink,
        LiveView,
        MemorySink,
        RecordSink,
        RunResult,
        listen_metrics,
        open_engine,
        open_jsonl_sink,
        serve_metrics,
    )
    from loadtest.errors import ConfigError, LoadtestError
    from loadtest.metrics import Health, Histogram, Metric, StageSnapshot, StatsSnapshot, TurnRecord
    from loadtest.mock import MockConfig, run_mock_process, serve_mock
    from loadtest.mock._running import RunningMock, open_mock
    from loadtest.protocol import ENTRY_POINT_GROUP, available, get_adapter, register
    from loadtest.report import (
        RunInfo,
        build_summary,
        check_summary,
        compare_summaries,
        evaluate_thresholds,
        merge_summaries,
        render_comparison,
        render_csv,
        render_prometheus,
        render_text,
        run_info,
    )
    from loadtest.taxonomy import ErrorClass
