"""The sweep: find the highest rate a gateway sustains within its SLOs.

`SweepSearch` is the search, pure (given probe results, the next probe or
the knee); `judge_probe` reads a probe's verdict from its stage snapshot;
`run_sweep(engine, settings, probe_duration)` drives the probes through
the library API (one stage per probe, decided at run time). `loadtest
sweep` is this plus the CLI's outputs (docs/sweep.md).
"""

from __future__ import annotations

from loadtest.sweep._driver import SweepOutcome, run_sweep
from loadtest.sweep._probe import judge_probe, probe_doc, probe_goodput
from loadtest.sweep._search import Done, Probe, ProbeResult, SweepSearch, SweepSettings

__all__ = [
    "Done",
    "Probe",
    "ProbeResult",
    "SweepOutcome",
    "SweepSearch",
    "SweepSettings",
    "judge_probe",
    "probe_doc",
    "probe_goodput",
    "run_sweep",
]
