"""`loadtest compare` and `loadtest merge`: read summaries, never send load.

Wiring only: read and check each summary (`check_summary`), call
`loadtest.report`, print or write. A file that cannot be read, is not
JSON, or is not a `loadtest.summary/1` document is a ConfigError naming
the file and the key (exit 2); `compare` exits 3 on a regression
(EXIT_THRESHOLDS) and 2 when nothing could be compared (no stage in
common, or every figure `n/a` or `few`); `merge` writes nothing when it
refuses (a file given twice, summaries that are not shards of one run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import typer

from loadtest.cli._app import DEBUG_OPTION, command
from loadtest.cli._outputs import write_text
from loadtest.config._words import counted
from loadtest.errors import EXIT_OK, EXIT_THRESHOLDS, ConfigError
from loadtest.report import (
    MIN_SAMPLES,
    check_summary,
    compare_page,
    compare_summaries,
    evaluate_thresholds,
    merge_summaries,
    render_comparison,
    render_page,
)

__all__ = ["compare", "merge", "read_summary"]

OLD_ARGUMENT: Any = typer.Argument(..., help="Baseline summary (summary-<ts>.json).")
NEW_ARGUMENT: Any = typer.Argument(..., help="Summary to check against the baseline.")
REGRESS_PCT_OPTION: Any = typer.Option(
    10.0,
    "--regress-pct",
    min=0.0,
    help="Regression if RPS drops, or a latency/TTFT/ITL percentile rises, by more than this %.",
)
ERROR_POINTS_OPTION: Any = typer.Option(
    1.0,
    "--error-points",
    min=0.0,
    help="Regression if the error rate rises by more than this many percentage points.",
)
HTML_OPTION: Any = typer.Option(
    None,
    "--html",
    help="Also write the comparison as an HTML page (both runs overlaid on the same axes).",
    show_default=False,
)
SUMMARIES_ARGUMENT: Any = typer.Argument(..., help="Summaries of the shards of one run.")
OUTPUT_OPTION: Any = typer.Option(
    ..., "--output", "-o", help="Where to write the merged summary.", show_default=False
)


def read_summary(path: Path) -> dict[str, Any]:
    """The summary document in `path`; ConfigError naming the file otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (invalid UTF-8)") from None
    try:
        check_summary(doc)
    except ConfigError as exc:
        raise ConfigError([f"{path}: {problem}" for problem in exc.problems]) from None
    result: dict[str, Any] = doc
    return result


@command
def compare(
    old: Path = OLD_ARGUMENT,
    new: Path = NEW_ARGUMENT,
    regress_pct: float = REGRESS_PCT_OPTION,
    error_points: float = ERROR_POINTS_OPTION,
    html: Path | None = HTML_OPTION,
    debug: bool = DEBUG_OPTION,
) -> None:
    """Compare NEW against the baseline OLD, stage by stage; send no load.

    With --html PATH, also write the comparison as an HTML page (written
    whatever the outcome). Exit codes: 0 no regression; 3 a regression; 2 a
    summary is unreadable or invalid, or nothing was compared: no stage in
    common (same index and load), or every figure n/a (no data) or few
    (under 10 samples); 1 the page could not be written.
    """
    old_doc, new_doc = read_summary(old), read_summary(new)
    for warning in _compare_warnings(old_doc, new_doc):
        typer.echo(f"loadtest: warning: {warning}", err=True)
    comparison = compare_summaries(
        old_doc, new_doc, regress_pct=regress_pct, error_points=error_points
    )
    text = render_comparison(comparison)
    typer.echo(text, nl=False)
    if html is not None:
        page = compare_page(
            old_doc,
            new_doc,
            text,
            names=(str(old), str(new)),
            regressed=comparison.regressed,
        )
        write_text(html, render_page(page))
        typer.echo(f"page: {html}", err=True)
    if not comparison.scopes:
        raise ConfigError(
            f"{old} and {new}: no stage in common (same index and load); nothing was compared"
        )
    if not comparison.judged:
        raise ConfigError(
            f"{old} and {new}: every figure is n/a (no data) or few (under "
            f"{MIN_SAMPLES} samples) on a side; nothing was compared"
        )
    raise typer.Exit(EXIT_THRESHOLDS if comparison.regressed else EXIT_OK)


def _compare_warnings(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What makes a comparison suspect without making it wrong: one run
    given twice (nothing can differ), or runs of two different profiles."""
    warnings = []
    old_id, new_id = old["run"].get("run_id"), new["run"].get("run_id")
    if old_id is not None and old_id == new_id:
        warnings.append(f"both summaries are of the same run ({old_id}): nothing can differ")
    if old["run"]["profile"] != new["run"]["profile"]:
        warnings.append(
            f"the runs are of different profiles ({old['run']['profile']!r} and "
            f"{new['run']['profile']!r}): their stages may not be comparable"
        )
    return warnings


def _refuse_repeats(paths: list[Path]) -> None:
    """A file named twice (by any path) would count its turns twice."""
    seen: dict[Path, Path] = {}
    for path in paths:
        key = path.resolve()
        if key in seen:
            raise ConfigError(
                f"{path}: given twice (also as {seen[key]}); merging it again would "
                "count its turns twice"
            )
        seen[key] = path


PARTIAL_OPTION: Any = typer.Option(
    False,
    "--partial",
    help="Merge the execution segments given even if some of the run's are missing "
    "(the merged run is marked partial and names them).",
)


@command
def merge(
    summaries: list[Path] = SUMMARIES_ARGUMENT,
    output: Path = OUTPUT_OPTION,
    partial: bool = PARTIAL_OPTION,
    debug: bool = DEBUG_OPTION,
) -> None:
    """Merge the summaries of the shards of ONE run into one summary, exactly.

    Refuses (exit 2, nothing written) a file given twice, the same run twice,
    and summaries of different profiles, stage plans or scenarios, or of runs
    that did not run at the same time; of execution segments (--segment K/N),
    a segment given twice or missing (unless --partial). Thresholds are
    checked again on the merged run and reported; they do not change the
    exit code (0).
    """
    _refuse_repeats(summaries)
    docs = [read_summary(path) for path in summaries]
    merged = merge_summaries(docs, [str(path) for path in summaries], partial=partial)
    merged["thresholds"] = evaluate_thresholds(merged)
    write_text(output, orjson.dumps(merged, option=orjson.OPT_INDENT_2).decode() + "\n")
    failed = sum(not result["passed"] for result in merged["thresholds"])
    typer.echo(
        f"merged {counted(len(docs), 'summary', 'summaries')} "
        f"({counted(merged['run']['shards'], 'shard')}, "
        f"{counted(len(merged['stages']), 'stage')}) into {output}"
        + (f"; {counted(failed, 'threshold')} failed in the merged run" if failed else "")
        + _partial_note(merged)
    )


def _partial_note(merged: dict[str, Any]) -> str:
    missing = merged["run"].get("missing_segments") or {}
    return f"; PARTIAL: segments {', '.join(missing)} missing" if missing else ""
