"""From N shards' results to the one set of outputs a one-process run writes.

Rules:
- The summary is the exact merge (`merge_summaries`) of every shard that
  left one, thresholds evaluated again on it. A shard that left none (it
  died, or failed) is a missing segment: the merged run is marked
  `partial`, and each missing segment is named with its worker, host,
  exit code and error, in the summary and the report.
- Report, CSV, Prometheus text and the profile are rendered from that
  summary and written as a one-process run writes them (`write_outputs`,
  with its fallback directory on a full disk).
- JSONL: one file per shard, `results-<ts>-w<K>.jsonl`, in `--out`: a
  shard on this host wrote it there already; one whose JSONL came back as
  bytes has it written there now. Each shard's file is named in the
  summary (`run.generator.shards[i].jsonl`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import orjson

from loadtest.cli._outputs import OutputPaths, WrittenOutputs, write_outputs
from loadtest.errors import ConfigError, RuntimeFailure
from loadtest.report import (
    evaluate_thresholds,
    merge_summaries,
    render_csv,
    render_html,
    render_prometheus,
    render_text,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loadtest.scale._shard import ShardResult

__all__ = ["MergedOutputs", "missing_reason", "write_merged_outputs"]


@attrs.frozen
class MergedOutputs:
    """The merged summary, its report text, and where each file went."""

    summary: dict[str, Any]
    report: str
    written: WrittenOutputs
    #: The shards' JSONL files written in `--out` (or already there).
    jsonl: tuple[str, ...]


def missing_reason(result: ShardResult) -> str:
    """Why a shard left no summary, in one line."""
    code = result.exit_code
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    error = f": {result.error}" if result.error else ""
    return f"worker {result.index} on {result.host}: {how}{error}"


def _keep_shards(done: Sequence[ShardResult], files: dict[str, str], paths: OutputPaths) -> None:
    """Write each shard's own summary (`summary-<ts>-w<K>.json`) and the
    JSONL `files` when their merge was refused, so nothing measured is lost;
    `loadtest merge` can be tried on them by hand."""
    for result in done:
        files[f"summary-{paths.stamp}-w{result.index}.json"] = (
            orjson.dumps(result.summary, option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    outcome = write_outputs(paths, files)
    if outcome.failures:
        raise RuntimeFailure("; ".join(outcome.failures))


def write_merged_outputs(
    results: Sequence[ShardResult], paths: OutputPaths, *, profile_text: str
) -> MergedOutputs:
    """Merge `results` and write every output in `paths` (see the module
    rules); `profile_text` is the profile file's text. RuntimeFailure when
    no shard left a summary (nothing to merge), or when their summaries do
    not merge (then each is written as `summary-<ts>-w<K>.json`: the load
    was sent, so this is a runtime failure, never a usage error)."""
    done = sorted((r for r in results if r.summary is not None), key=lambda r: r.index)
    if not done:
        reasons = "; ".join(missing_reason(r) for r in results)
        raise RuntimeFailure(f"no worker left a summary ({reasons})")
    jsonl: list[str] = []
    files: dict[str, str] = {}
    for result in done:
        name = f"results-{paths.stamp}-w{result.index}.jsonl"
        if result.jsonl is not None:
            files[name] = result.jsonl.decode()
        jsonl.append(name)
    missing = {str(r.segment): missing_reason(r) for r in results if r.summary is None}
    try:
        summary = merge_summaries(
            [r.summary for r in done if r.summary is not None],
            [f"worker {r.index}" for r in done],
            partial=bool(missing),
            missing_reasons=missing,
        )
    except ConfigError as exc:  # load was sent: keep what each shard measured
        _keep_shards(done, files, paths)
        raise RuntimeFailure(
            f"the workers' summaries could not be merged ({exc}); each worker's summary "
            f"and JSONL are in {paths.directory} (summary-{paths.stamp}-wK.json)"
        ) from None
    for shard, name in zip(summary["run"]["generator"].get("shards", []), jsonl, strict=False):
        shard["jsonl"] = name
    summary["thresholds"] = evaluate_thresholds(summary)
    report = render_text(summary)
    files |= {
        paths.path("summary", "json").name: orjson.dumps(
            summary, option=orjson.OPT_INDENT_2
        ).decode()
        + "\n",
        paths.path("report", "txt").name: report,
        paths.path("report", "csv").name: render_csv(summary),
        paths.path("report", "html").name: render_html(summary),
        paths.path("metrics", "prom").name: render_prometheus(summary),
        paths.path("profile", "toml").name: profile_text,
    }
    written = write_outputs(paths, files)
    return MergedOutputs(summary, report, written, tuple(jsonl))
