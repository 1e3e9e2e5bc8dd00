"""Threshold verdicts: a summary's limits checked against every stage.

`summary["run"]["thresholds"]` holds the limits (`{"total": {name: limit},
"scenarios": {scenario: {name: limit}}}`); `evaluate_thresholds` checks the
`total` limits against each stage's total and each scenario's limits
against that scenario in each stage, stages in order, totals first.

Rules:
- `p95_ms`, `p99_ms` (latency measured from the actual send, ok turns),
  `ttft_p95_ms`, `itl_p99_ms` and `error_rate` (a fraction) are maxima;
  `min_rps` is a minimum on `ok_rps`, the *successful* turns per second,
  so a gateway that fails fast cannot pass a throughput floor.
- `goodput` (the share of judged turns that met every SLO) and
  `goodput_rps` (good turns per second) are minima; without SLOs, or with
  no turn judged, they fail as "no data".
- No data fails: a latency-type limit whose histogram is empty in the
  stage (no ok turn, or no streamed one for TTFT/ITL), or an `error_rate`
  limit in a stage with no completed turn, fails with actual "no data": a
  stage that produced nothing must not pass a gate silently.
- Stages stopped early are checked like any other.

Pure: summary dict in, result dicts out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from loadtest.errors import ConfigError
from loadtest.report._text import fmt_ms

__all__ = ["THRESHOLD_NAMES", "evaluate_thresholds", "thresholds_failed"]

Doc = Mapping[str, Any]


class _Rule(NamedTuple):
    """What one threshold name reads, which way it passes, how it prints."""

    read: Callable[[Doc], float | None]
    is_max: bool
    text: Callable[[float], str]
    limit_text: Callable[[float], str]
    samples: Callable[[Doc], int | None] = lambda _stats: None


def _percentile(metric: str, key: str) -> Callable[[Doc], float | None]:
    def read(stats: Doc) -> float | None:
        value: float | None = stats[metric][key]
        return value

    return read


def _count(metric: str) -> Callable[[Doc], int | None]:
    def read(stats: Doc) -> int | None:
        count: int = stats[metric]["count"]
        return count

    return read


def _error_rate(stats: Doc) -> float | None:
    return float(stats["error_rate"]) if stats["requests"] else None


def _ok_rps(stats: Doc) -> float | None:
    value = stats["ok_rps"]
    return None if value is None else float(value)


def _goodput(key: str) -> Callable[[Doc], float | None]:
    def read(stats: Doc) -> float | None:
        goodput = stats.get("goodput") or {}
        value = goodput.get(key)
        return None if value is None else float(value)

    return read


def _goodput_judged(stats: Doc) -> int | None:
    goodput = stats.get("goodput")
    return None if goodput is None else int(goodput["judged"])


def _ms_text(value: float) -> str:
    return f"{fmt_ms(value)} ms"


def _ms_limit_text(value: float) -> str:
    return f"{value:g} ms"


def _pct_text(value: float) -> str:
    return f"{value * 100:.3g}%"


def _rps_text(value: float) -> str:
    return f"{value:,.1f}/s" if value >= 1 else f"{value:.3g}/s"


#: Threshold name -> its rule, in the order results are listed.
_RULES: dict[str, _Rule] = {
    "p95_ms": _Rule(
        _percentile("latency_ms", "p95"), True, _ms_text, _ms_limit_text, _count("latency_ms")
    ),
    "p99_ms": _Rule(
        _percentile("latency_ms", "p99"), True, _ms_text, _ms_limit_text, _count("latency_ms")
    ),
    "ttft_p95_ms": _Rule(
        _percentile("ttft_ms", "p95"), True, _ms_text, _ms_limit_text, _count("ttft_ms")
    ),
    "itl_p99_ms": _Rule(
        _percentile("itl_ms", "p99"), True, _ms_text, _ms_limit_text, _count("itl_ms")
    ),
    "error_rate": _Rule(_error_rate, True, _pct_text, _pct_text),
    "min_rps": _Rule(_ok_rps, False, _rps_text, _rps_text),
    "goodput": _Rule(_goodput("share"), False, _pct_text, _pct_text, _goodput_judged),
    "goodput_rps": _Rule(_goodput("good_per_s"), False, _rps_text, _rps_text),
}
#: Every threshold name a profile may set, in the order results are listed.
THRESHOLD_NAMES: tuple[str, ...] = tuple(_RULES)


def _check(stage: Doc, scope: str, stats: Doc, limits: Mapping[str, float]) -> list[dict[str, Any]]:
    results = []
    for name in sorted(limits, key=list(_RULES).index):
        rule, limit = _RULES[name], limits[name]
        actual = rule.read(stats)
        passed = actual is not None and (actual <= limit if rule.is_max else actual >= limit)
        results.append(
            {
                "stage": stage["index"],
                "scope": scope,
                "name": name,
                "limit": limit,
                "actual": actual,
                "samples": rule.samples(stats),
                "passed": passed,
                "actual_text": "no data" if actual is None else rule.text(actual),
                "limit_text": ("<= " if rule.is_max else ">= ") + rule.limit_text(limit),
            }
        )
    return results


def _known(limits: Mapping[str, float], where: str) -> Mapping[str, float]:
    unknown = sorted(set(limits) - set(_RULES))
    if unknown:
        raise ConfigError(
            f"{where}: unknown threshold {', '.join(unknown)} (known: {', '.join(_RULES)})"
        )
    return limits


def evaluate_thresholds(summary: Doc) -> list[dict[str, Any]]:
    """One result per (stage, scope, threshold): see the module rules.

    Each result: `stage` (0-based index), `scope` ("total" or a scenario),
    `name`, `limit`, `actual` (None for no data), `samples` (the values
    behind a percentile's actual; None for other limits), `passed`, and
    `actual_text`/`limit_text` for people (`1.2%`, `312 ms`, `45.1/s`)."""
    limits = summary["run"].get("thresholds") or {}
    total = _known(limits.get("total") or {}, "$.run.thresholds.total")
    scenarios = {
        name: _known(own, f"$.run.thresholds.scenarios.{name}")
        for name, own in (limits.get("scenarios") or {}).items()
    }
    results: list[dict[str, Any]] = []
    for stage in summary["stages"]:
        results += _check(stage, "total", stage["total"], total)
        by_label = {stats["label"]: stats for stats in stage["scenarios"]}
        for name, own in scenarios.items():
            results += _check(stage, name, by_label.get(name, _NO_STATS), own)
    return results


def thresholds_failed(results: Sequence[Mapping[str, Any]]) -> bool:
    """True if any threshold result failed."""
    return any(not result["passed"] for result in results)


_EMPTY_METRIC = {"p95": None, "p99": None, "count": 0}
#: Stands in for a scenario a stage has no statistics for: every check is "no data".
_NO_STATS: Doc = {
    "requests": 0,
    "error_rate": 0.0,
    "ok_rps": None,
    "latency_ms": _EMPTY_METRIC,
    "ttft_ms": _EMPTY_METRIC,
    "itl_ms": _EMPTY_METRIC,
}
