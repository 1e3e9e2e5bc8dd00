"""The built-in mock upstream: an OpenAI- and Anthropic-compatible server.

`loadtest mock` serves `/v1/chat/completions`, `/v1/messages` and
`/v1/responses` (streamed or not, each in its protocol's real format, through
the protocol's `ServerCodec`), `/v1/models` and `/health`, with configurable
timing (TTFT, inter-token latency), output length, faults and a prefix cache;
docs/mock.md describes every knob.

Library use:
- `MockConfig` holds every knob (frozen; invalid values raise `ConfigError`);
  `parse_timing` reads the timing grammar.
- `serve_mock(config)` serves in the current trio run until cancelled:
  `url = await nursery.start(serve_mock, config)`.
- `run_mock(config)` runs the whole program (workers, signals) and blocks.
- `run_mock_process(args)` runs `loadtest mock` in a subprocess on a free
  port and yields its URL: `with run_mock_process(["--ttft", "50ms"]) as url:`.
"""

from __future__ import annotations

from loadtest.mock._config import (
    DEFAULT_OUTPUT_TOKENS,
    Exponential,
    Fixed,
    LogNormal,
    MockConfig,
    Normal,
    Timing,
    Uniform,
    parse_seconds,
    parse_timing,
)
from loadtest.mock._process import run_mock_process
from loadtest.mock._server import serve_mock
from loadtest.mock._workers import run_mock

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "Exponential",
    "Fixed",
    "LogNormal",
    "MockConfig",
    "Normal",
    "Timing",
    "Uniform",
    "parse_seconds",
    "parse_timing",
    "run_mock",
    "run_mock_process",
    "serve_mock",
]
