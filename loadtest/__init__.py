"""loadtest: a scenario-driven load generator for LLM gateways.

The layers are importable packages: `loadtest.config` (profiles),
`loadtest.protocol` (sans-IO adapters), `loadtest.metrics` (recording and
HDR histograms), `loadtest.engine` (stages, the transport), `loadtest.report`
(summaries and renderers), `loadtest.mock` (the built-in upstream) and
`loadtest.testing` (fakes for testing your own extensions).
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
