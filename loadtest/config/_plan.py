"""The resolved plan: `RunPlan`, every `ScenarioPlan` and its `Target`.

Rules:
- The plan is what the engine runs, every setting decided: `resolve`
  (config/_resolve.py) builds it from a profile, overrides and the
  environment. Its classes are frozen: a changed plan is a new one
  (`for_segment`, `load_datasets`).
- `profile` is the effective profile (overrides written in, `${NAME}`
  references kept) for writing back out.

Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from loadtest.config._dataset import Dataset
from loadtest.config._lengths import TokenCount
from loadtest.config._model import (
    Arrival,
    CacheMode,
    ClosedStage,
    Content,
    Correlation,
    HttpOptions,
    OpenStage,
    Profile,
    Stage,
    ThinkTime,
    Thresholds,
    Timeouts,
    Turns,
)
from loadtest.config._overrides import PLACEHOLDER
from loadtest.config._segment import Segment
from loadtest.config._slo import Slo
from loadtest.config._split import split_by_weight
from loadtest.protocol import FunctionTool

__all__ = ["RunPlan", "ScenarioPlan", "Target"]


@attrs.frozen
class Target:
    """Where a scenario's requests go."""

    scheme: str
    host: str
    port: int
    path: str  # request target: path and query, as sent on the request line
    url: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


@attrs.frozen
class ScenarioPlan:
    """One scenario with every setting decided."""

    name: str
    weight: float
    protocol: str
    target: Target
    headers: tuple[tuple[str, str], ...]
    model: str
    max_tokens: TokenCount
    stream: bool
    system: str | None
    temperature: float | None
    extra_body: Mapping[str, Any]
    content: Content
    turns: Turns
    think_time: ThinkTime
    thresholds: Thresholds | None
    #: Every value the run sends in a secret header (all scenarios), for `scrub`.
    secret_values: tuple[str, ...] = ()
    #: `dataset` content: its records, read by `load_datasets` (None before).
    dataset: Dataset | None = None
    #: The lengths `empirical` counts draw from (read by `load_datasets`):
    #: of `approx_input_tokens`, and of `max_tokens`.
    input_lengths: tuple[int, ...] = ()
    output_lengths: tuple[int, ...] = ()
    #: Functions offered to the model, and the tool choice (None: the API's default).
    tools: tuple[FunctionTool, ...] = ()
    tool_choice: str | None = None


@attrs.frozen
class RunPlan:
    """Everything a run needs, decided; `profile` is the effective profile
    (overrides written in, `${NAME}` references kept) for writing back out."""

    profile: Profile
    name: str
    scenarios: tuple[ScenarioPlan, ...]
    stages: tuple[Stage, ...]
    warmup_s: float
    graceful_stop_s: float
    cache_mode: CacheMode
    correlation: Correlation
    thresholds: Thresholds
    seed: int
    timeouts: Timeouts
    http: HttpOptions
    max_in_flight: int | None
    arrival: Arrival
    secret_headers: frozenset[str]
    warnings: tuple[str, ...] = ()
    #: Closed stages: VU i of N starts `i / N * start_spread_s` after the stage.
    start_spread_s: float = 0.0
    #: Gamma arrivals: the profile's shape of the gaps (1 = poisson).
    burstiness: float = 1.0
    #: The run ends once this many turns have started in all (None: no cap).
    max_requests: int | None = None
    #: Whether `load_datasets` has read the dataset files the plan names.
    datasets_loaded: bool = False
    #: Per-turn SLOs each turn is judged against (none: no goodput).
    slo: tuple[Slo, ...] = ()
    #: The shard of the plan this process runs (`--segment K/N`; config/_segment.py).
    segment: Segment = attrs.field(factory=Segment)

    def arrival_process(self, stage: OpenStage) -> tuple[Arrival, float]:
        """The stage's arrival process and burstiness (the stage's own, else
        the profile's)."""
        arrival = stage.arrival or self.arrival
        return arrival, self.burstiness if stage.burstiness is None else stage.burstiness

    def placeholder_problems(self) -> list[str]:
        """One line per header that would send the placeholder key
        `REPLACE_WITH_VK`: `run` refuses these (but for its own --mock),
        `validate` warns."""
        return [
            f"scenario {s.name!r}: header {name} holds the placeholder {PLACEHOLDER}; "
            "pass the key with --vk or LOADTEST_VK"
            for s in self.scenarios
            for name, value in s.headers
            if PLACEHOLDER in value
        ]

    def vu_split(self, stage: ClosedStage) -> tuple[int, ...]:
        """VUs per scenario for a closed stage (largest remainder), of the
        whole plan: every segment numbers its VUs from this split."""
        return tuple(split_by_weight(stage.concurrency, [s.weight for s in self.scenarios]))

    def segment_vus(self, stage: ClosedStage) -> tuple[int, ...]:
        """This segment's VUs per scenario of a closed stage: VU `v` of the
        whole plan's numbering runs in segment `v mod N`."""
        counts, first = [], 0
        for count in self.vu_split(stage):
            counts.append(sum(1 for v in range(first, first + count) if self.segment.owns(v)))
            first += count
        return tuple(counts)

    def for_segment(self, segment: Segment) -> RunPlan:
        """This plan's shard `segment`; ConfigError if a per-run limit
        (`max_in_flight`, `http.max_connections`) cannot be split that far."""
        segment.limit(self.max_in_flight, "max_in_flight")
        segment.limit(self.http.max_connections, "http.max_connections")
        return attrs.evolve(self, segment=segment)
