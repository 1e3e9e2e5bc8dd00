"""`loadtest report SUMMARY.json`: rebuild a run's reports from its summary.

Wiring only: read and check the summary (`read_summary`, the checks of
`compare` and `merge`), render the text, CSV, HTML and Prometheus reports
with `loadtest.report`, write them, print the text report. No load is
sent. A summary that cannot be read or is not a `loadtest.summary/1`
document is one line per problem naming the file (exit 2); a file that
cannot be written is one line (exit 1).

The files are named as `loadtest run` names them: `<ts>` is taken from a
summary named `summary-<ts>.json`, else from the run's start. They go next
to the summary unless `--out` says where, and replace reports of the same
name (rebuilding them is the point).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from loadtest.cli._app import DEBUG_OPTION, command
from loadtest.cli._compare import read_summary
from loadtest.cli._outputs import write_text
from loadtest.errors import ConfigError
from loadtest.report import render_csv, render_html, render_prometheus, render_text, run_stamp

__all__ = ["report"]

SUMMARY_ARGUMENT: Any = typer.Argument(..., help="A run's summary (summary-<ts>.json).")
REPORT_OUT_OPTION: Any = typer.Option(
    None,
    "--out",
    help="Directory for the reports (created if missing). Default: the summary's directory.",
    show_default=False,
)

_STAMPED = re.compile(r"summary-(.+)\.json")


def _stamp(path: Path, summary: dict[str, Any]) -> str:
    match = _STAMPED.fullmatch(path.name)
    return match.group(1) if match else run_stamp(summary["run"])


@command
def report(
    summary: Path = SUMMARY_ARGUMENT,
    out: Path | None = REPORT_OUT_OPTION,
    debug: bool = DEBUG_OPTION,
) -> None:
    """Rebuild a run's reports (text, CSV, HTML, Prometheus) from its summary; send no load.

    Writes report-<ts>.txt, report-<ts>.csv, report-<ts>.html and metrics-<ts>.prom
    next to SUMMARY (or in --out) and prints the text report. Exit codes: 0
    written; 2 the summary is unreadable or invalid, or --out is not a
    directory; 1 a file could not be written.
    """
    doc = read_summary(summary)
    directory = summary.parent if out is None else out
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if directory.is_file():
            raise ConfigError(f"--out {directory}: is a file, not a directory") from None
        raise ConfigError(f"--out {directory}: cannot create it: {exc.strerror or exc}") from None
    stamp = _stamp(summary, doc)
    text = render_text(doc)
    files = {
        f"report-{stamp}.txt": text,
        f"report-{stamp}.csv": render_csv(doc),
        f"report-{stamp}.html": render_html(doc),
        f"metrics-{stamp}.prom": render_prometheus(doc),
    }
    written = [write_text(directory / name, body) for name, body in files.items()]
    typer.echo(text, nl=False)
    typer.echo("reports:", err=True)
    for path in written:
        typer.echo(f"  {path}", err=True)
