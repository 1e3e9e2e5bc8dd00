"""The text report's verdicts: the run's verdict and why (its first
lines), and the threshold verdicts (its last block); report/_text.py lays
out the report and calls these.

- The verdict: PASS, FAIL or no thresholds set, then a partial merge's
  missing segments, a run where no steady turn succeeded, each failed
  threshold, each stage whose turns failed, the prompt cache (busting that
  did not hold, or the cached share reached), turns cut off unanswered,
  and generator health.
- An actual from fewer than `FEW_SAMPLES` values is marked, and the block
  ends with `FEW_LEGEND`.

Pure: summary dicts in, lines out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.report._cells import FEW_LEGEND, FEW_MARK, FEW_SAMPLES, errors_text, share, wrap

__all__ = ["verdict_lines"]

Doc = Mapping[str, Any]


def _actual_text(result: Doc) -> str:
    """A threshold's actual, marked when it is a percentile of fewer than
    `FEW_SAMPLES` values."""
    samples = result.get("samples")
    few = result["actual"] is not None and samples is not None and samples < FEW_SAMPLES
    text: str = result["actual_text"]
    return text + (FEW_MARK if few else "")


def _few_note(results: Sequence[Doc]) -> list[str]:
    """`FEW_LEGEND`, indented, when one of `results` shows a marked actual."""
    return [f"  {FEW_LEGEND}"] if any(_actual_text(r).endswith(FEW_MARK) for r in results) else []


def _threshold_lines(results: Sequence[Doc]) -> list[str]:
    lines = ["Thresholds"]
    if not results:
        return [*lines, "  none set"]
    for r in results:
        mark = "pass" if r["passed"] else "FAIL"
        lines.append(
            f"  {mark}  stage {r['stage'] + 1} {r['scope']}: {r['name']} = "
            f"{_actual_text(r)} (limit {r['limit_text']})"
        )
    return lines + _few_note(results)


def verdict_lines(summary: Doc) -> list[str]:
    """The first lines of the report: the run's verdict and why."""
    stages = summary["stages"]
    failed = [r for r in summary.get("thresholds", []) if not r["passed"]]
    unhealthy = [
        (s["index"], s["health"])
        for s in stages
        if s.get("health", {}).get("verdict", "ok") != "ok"
    ]
    results = summary.get("thresholds", [])
    nothing_ok = bool(stages) and not any(s["total"]["ok"] for s in stages)
    verdict = "FAIL" if failed or nothing_ok else "PASS" if results else "no thresholds set"
    lines = [
        f"verdict: {verdict}" + (" (run stopped early)" if summary["run"]["stopped_early"] else "")
    ]
    missing = summary["run"].get("missing_segments") or {}
    if missing:
        held = len(summary["run"].get("segments", []))
        lines.append(f"  PARTIAL run: {held} of {held + len(missing)} segments merged")
        lines += [f"    segment {segment} missing: {why}" for segment, why in missing.items()]
    if nothing_ok:
        lines.append("  no steady turn succeeded in any stage: the gateway was not measured")
    for r in failed:
        lines.append(
            f"  threshold failed: stage {r['stage'] + 1} {r['scope']} {r['name']} = "
            f"{_actual_text(r)} (limit {r['limit_text']})"
        )
    lines.extend(_failure_lines(stages))
    lines.extend(_cache_lines(summary["run"].get("cache_mode"), stages))
    for stage in stages:
        lines += wrap(_unanswered_line(stage), "    ") if _unanswered(stage) else []
    few_waits = any(_few_waits(s) for s in stages if _unanswered(s))
    lines += [f"  {FEW_LEGEND}"] if few_waits else _few_note(failed)
    for index, health in unhealthy:
        reasons = "; ".join(health.get("reasons", []))
        verdict = health["verdict"]  # "generator-bound" names the generator itself
        who = verdict if verdict.startswith("generator") else f"generator {verdict}"
        lines += wrap(f"  {who} in stage {index + 1}: {reasons}", "    ")
    if not unhealthy and any(s.get("health") for s in stages):
        lines.append("  generator: healthy in every stage")
    return lines


def _failure_lines(stages: Sequence[Doc]) -> list[str]:
    """One line per stage whose turns failed: a run without thresholds must
    not hide that every request was refused."""
    lines = []
    for stage in stages:
        total = stage["total"]
        if total["failed"]:
            failed_pct = 100 * total["failed"] / total["requests"]
            errors = errors_text(total["errors"])
            lines.append(
                f"  errors in stage {stage['index'] + 1}: {total['failed']:,} of "
                f"{total['requests']:,} turns failed ({failed_pct:.1f}%): {errors}"
            )
    return lines


def _cache_lines(mode: str | None, stages: Sequence[Doc]) -> list[str]:
    """`bust`: a warning when any first turn came back with cached tokens
    (the busting did not hold). Other modes: the cached share reached."""
    parts: dict[str, list[int]] = {"first_turns": [0, 0, 0], "later_turns": [0, 0, 0]}
    for stage in stages:
        cache = stage["total"].get("cache") or {}
        for name, sums in parts.items():
            part = cache.get(name) or {}
            sums[0] += part.get("prompt_tokens", 0)
            sums[1] += part.get("cached_tokens", 0)
            sums[2] += part.get("cached_turns", 0)
    if mode == "bust":
        hits = parts["first_turns"][2]
        if not hits:
            return []
        return [
            f"  warning: cache busting did not hold: {hits:,} first "
            f"turn{'s were' if hits != 1 else ' was'} served from cache"
        ]
    if mode is None:
        return []
    shares = {
        name: share({"cached_share": cached / prompt if prompt else None})
        for name, (prompt, cached, _) in parts.items()
    }
    return [
        f"  prompt cache ({mode}): cached share {shares['first_turns']} on first turns, "
        f"{shares['later_turns']} on later turns"
    ]


def _unanswered(stage: Doc) -> int:
    count: int = stage["total"].get("unanswered", 0)
    return count


def _few_waits(stage: Doc) -> bool:
    """Whether the unanswered turns' wait p50 comes from fewer than `FEW_SAMPLES`."""
    wait = stage["total"].get("unanswered_wait_ms") or {}
    count = wait.get("count")
    return wait.get("p50") is not None and count is not None and count < FEW_SAMPLES


def _unanswered_line(stage: Doc) -> str:
    """Turns cut off with no response byte: the one trace a gateway that
    accepts requests and never answers leaves (no error, no latency)."""
    count = _unanswered(stage)
    wait = stage["total"].get("unanswered_wait_ms") or {}
    waited = ""
    if wait.get("max") is not None:
        p50 = f"{wait['p50'] / 1000:.1f} s" + (FEW_MARK if _few_waits(stage) else "")
        waited = f" after waiting up to {wait['max'] / 1000:.1f} s (p50 {p50})"
    if stage.get("stopped_early"):
        cause, hint = "the early stop", ""
    else:
        cause, hint = "the stage end", ": the gateway may be hung"
    turns = "1 turn was" if count == 1 else f"{count:,} turns were"
    return (
        f"  stage {stage['index'] + 1}: {turns} cut off by {cause} with no response byte"
        f"{waited}{hint}"
    )
