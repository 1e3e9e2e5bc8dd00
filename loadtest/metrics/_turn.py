"""One finished turn, as measured: the record the recorder tallies and the
JSONL line is written from.

Rules:
- Times are integer microseconds from the turn's start (`latency_us`,
  `ttfb_us`, `ttft_us`) or between events (`itl_gaps_us`, `tail_us`), read
  from one monotonic clock by the engine. A field the turn did not reach is
  None.
- `outcome` is "ok", "error" (then `error_class` is one of
  `loadtest.taxonomy`) or "interrupted" (cut off by the end of its stage:
  never an error, never in latency statistics).
- `itl_gaps_us` holds one gap per content-bearing chunk after the first;
  `itl_zeros` counts the extra zero gaps of chunks that carried several
  tokens (see docs/metrics.md, "ITL per token"). The JSONL line gives both
  readings under two names: `itl_*` per token (as the summary's ITL) and
  `chunk_gap_*` per content chunk.
- `tail_us` is the stream tail: last content event to the end of the stream.
- `to_json()` is the JSONL line format, defined here and nowhere else.

Pure; no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

__all__ = ["Outcome", "Phases", "TurnRecord"]

Outcome = Literal["ok", "error", "interrupted"]


@attrs.frozen(slots=True)
class Phases:
    """Where a turn's time went, µs; None for a phase that did not happen
    (no DNS, connect or TLS on a reused connection)."""

    dns_us: int | None = None
    connect_us: int | None = None
    tls_us: int | None = None
    write_us: int | None = None
    wait_us: int | None = None
    transfer_us: int | None = None

    def to_json(self) -> dict[str, float]:
        # Written out by hand: attrs.asdict costs ~2 µs per turn on the hot path.
        out: dict[str, float] = {}
        if self.dns_us is not None:
            out["dns_ms"] = self.dns_us / 1000
        if self.connect_us is not None:
            out["connect_ms"] = self.connect_us / 1000
        if self.tls_us is not None:
            out["tls_ms"] = self.tls_us / 1000
        if self.write_us is not None:
            out["write_ms"] = self.write_us / 1000
        if self.wait_us is not None:
            out["wait_ms"] = self.wait_us / 1000
        if self.transfer_us is not None:
            out["transfer_ms"] = self.transfer_us / 1000
        return out


@attrs.frozen(slots=True)
class TurnRecord:
    """Everything measured about one turn."""

    stage: int
    scenario: str
    scenario_index: int
    conversation: str
    turn: int
    stream: bool
    start_unix_s: float
    warmup: bool
    outcome: Outcome
    request_id: str = ""
    error_class: str | None = None
    error_detail: str | None = None
    status: int | None = None
    latency_us: int | None = None
    ttfb_us: int | None = None
    ttft_us: int | None = None
    tpot_us: int | None = None
    itl_gaps_us: tuple[int, ...] = ()
    itl_zeros: int = 0
    #: Streamed turns: last content event to the end of the stream.
    tail_us: int | None = None
    chunks: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    tokens_estimated: bool = False
    content_chars: int = 0
    phases: Phases | None = None
    #: Open loop only: actual start minus intended start.
    lag_us: int | None = None
    #: Times the request was resent (its write failed on a reused connection).
    retries: int = 0

    def to_json(self) -> dict[str, Any]:
        """The JSONL line of this turn (see docs/metrics.md for each field).
        Written out field by field, with no helper calls: it runs once per
        turn (bench/README.md, "Third take")."""
        gaps = self.itl_gaps_us
        if gaps:
            total_us = sum(gaps)
            tokens_after_first = len(gaps) + self.itl_zeros
            max_ms = max(gaps) / 1000
            itl_mean_ms: float | None = total_us / tokens_after_first / 1000
            itl_max_ms: float | None = max_ms
            chunk_mean_ms: float | None = total_us / len(gaps) / 1000
            chunk_max_ms: float | None = max_ms
        else:
            itl_mean_ms = 0.0 if self.itl_zeros else None  # zero gaps only: all 0
            itl_max_ms = 0.0 if self.itl_zeros else None
            chunk_mean_ms = chunk_max_ms = None
        latency, ttfb, ttft = self.latency_us, self.ttfb_us, self.ttft_us
        tpot, tail, lag = self.tpot_us, self.tail_us, self.lag_us
        phases = self.phases
        return {
            "ts": round(self.start_unix_s, 6),
            "stage": self.stage,
            "scenario": self.scenario,
            "conv_uuid": self.conversation,
            "turn": self.turn,
            "request_id": self.request_id,
            "stream": self.stream,
            "warmup": self.warmup,
            "outcome": self.outcome,
            "status": self.status,
            "err": self.error_class,
            "err_detail": self.error_detail,
            "latency_ms": None if latency is None else latency / 1000,
            "ttfb_ms": None if ttfb is None else ttfb / 1000,
            "ttft_ms": None if ttft is None else ttft / 1000,
            "tpot_ms": None if tpot is None else tpot / 1000,
            "itl_mean_ms": itl_mean_ms,
            "itl_max_ms": itl_max_ms,
            "chunk_gap_mean_ms": chunk_mean_ms,
            "chunk_gap_max_ms": chunk_max_ms,
            "stream_tail_ms": None if tail is None else tail / 1000,
            "chunks": self.chunks,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "tokens_estimated": self.tokens_estimated,
            "content_chars": self.content_chars,
            "phases": phases.to_json() if phases is not None else None,
            "lag_ms": None if lag is None else lag / 1000,
            "retries": self.retries,
        }
