"""The limits of a profile: every number has a range, every text a length.

A value outside these is refused when the profile is loaded (or the flag
parsed), never discovered by a crash after the load has run. The limits are
generous for any real benchmark and small enough that one value cannot
exhaust the generator (a 10^8-token prompt is 1.7 GB per virtual user), and
every integer fits the 64-bit integers of JSON readers and TOML.
docs/profiles.md lists them; the JSON Schema carries them.

Pure data.
"""

from __future__ import annotations

__all__ = [
    "MAX_BURSTINESS",
    "MAX_CONNECTIONS",
    "MAX_DEPTH",
    "MAX_DURATION_CHARS",
    "MAX_DURATION_US",
    "MAX_EXTRA_BODY_BYTES",
    "MAX_FILE_BYTES",
    "MAX_INPUT_TOKENS",
    "MAX_INT",
    "MAX_IN_FLIGHT",
    "MAX_ITEMS",
    "MAX_MS",
    "MAX_NAME_CHARS",
    "MAX_OUTPUT_TOKENS",
    "MAX_RATE",
    "MAX_REQUESTS",
    "MAX_RPS",
    "MAX_SEED",
    "MAX_SEGMENTS",
    "MAX_STAGE_CHARS",
    "MAX_TEMPERATURE",
    "MAX_TEXT_CHARS",
    "MAX_TOOLS",
    "MAX_TOOL_NAME_CHARS",
    "MAX_TURNS",
    "MAX_URL_CHARS",
    "MAX_VUS",
    "MAX_WEIGHT",
    "MIN_INT",
]

#: Any integer anywhere in a profile (extra_body included): signed 64 bits.
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1
#: Deepest nesting of objects and lists in a profile file.
MAX_DEPTH = 64
#: Largest profile file.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Most items in any list (stages, scenarios, prompts, script, redact_headers).
MAX_ITEMS = 10_000
#: Longest text (a prompt, a script line, a system prompt, any string).
MAX_TEXT_CHARS = 1_000_000
#: Largest `extra_body` (defaults' or a scenario's), as the JSON sent.
MAX_EXTRA_BODY_BYTES = 1024 * 1024
#: Most tools offered by one scenario, and the longest tool name (the
#: OpenAI and Anthropic APIs' own limits).
MAX_TOOLS = 128
MAX_TOOL_NAME_CHARS = 64
#: Longest name (profile, scenario, model, protocol).
MAX_NAME_CHARS = 256
#: Longest target URL.
MAX_URL_CHARS = 8_192
#: Longest duration text ("1.5s") and stage text ("100:60s").
MAX_DURATION_CHARS = 40
MAX_STAGE_CHARS = 64
#: Longest duration: 31 days.
MAX_DURATION_US = 31 * 24 * 3_600_000_000

MAX_SEED = MAX_INT
MAX_VUS = 100_000
MAX_RATE = 100_000.0
#: Request-count stops (a stage's `requests`, a run's `max_requests`).
MAX_REQUESTS = 1_000_000_000_000
#: Gamma arrivals: shape of the gap distribution (1 = poisson).
MAX_BURSTINESS = 1_000.0
MAX_IN_FLIGHT = 1_000_000
MAX_CONNECTIONS = 1_000_000
MAX_OUTPUT_TOKENS = 1_000_000
MAX_INPUT_TOKENS = 1_000_000
MAX_TURNS = 1_000
MAX_WEIGHT = 1_000_000.0
MAX_TEMPERATURE = 100.0
#: Latency thresholds, in milliseconds (about 11.6 days).
MAX_MS = 1_000_000_000.0
MAX_RPS = 1_000_000_000.0

#: Most shards (execution segments) one plan is split into.
MAX_SEGMENTS = 10_000
