"""Multi-service comparison: one profile against several gateways at the same time.

The upstream model provider dominates latency and drifts minute to minute;
benchmarking gateway A, then B, samples different upstream windows. Running
them side by side, round after round, makes the upstream common to all of
them, so each gateway's TTFT delta against the fastest is its own overhead.

- `load_services(path)` reads a services file (`Service` per gateway).
- `run_multi_service(services_file, profile, ...)` checks everything up
  front, runs the rounds (each gateway's `loadtest run` in its own process,
  one shared start time) and returns a `MultiResult`; it writes every run's
  outputs and a combined JSON document.
- `figures_from_summary(doc)` reads one run's summary into the compared
  `Figures` (all stages merged exactly from their HDR histograms);
  `with_deltas`, `summarize`, `render_round` and `render_summary` are the
  pure math and tables on top.
- `main(argv)` is the `multi-service.py` command line.

docs/multi-service.md has the services file format and the fairness rules.
"""

from __future__ import annotations

from loadtest.multiservice._cli import app, main
from loadtest.multiservice._multi import JSON_SCHEMA, MultiResult, run_multi_service
from loadtest.multiservice._results import (
    Figures,
    GatewaySummary,
    Metric,
    RoundResult,
    ServiceRound,
    figures_from_summary,
    summarize,
    with_deltas,
)
from loadtest.multiservice._services import (
    Service,
    ServicesFile,
    load_services,
    missing_env,
    parse_services,
)
from loadtest.multiservice._table import render_round, render_summary

__all__ = [
    "JSON_SCHEMA",
    "Figures",
    "GatewaySummary",
    "Metric",
    "MultiResult",
    "RoundResult",
    "Service",
    "ServiceRound",
    "ServicesFile",
    "app",
    "figures_from_summary",
    "load_services",
    "main",
    "missing_env",
    "parse_services",
    "render_round",
    "render_summary",
    "run_multi_service",
    "summarize",
    "with_deltas",
]
