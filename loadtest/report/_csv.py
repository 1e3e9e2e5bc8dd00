"""The CSV report (`report-<ts>.csv`): one row per stage x scenario, plus
one row per stage total (scenario `total`).

Rules:
- Columns are exactly `CSV_COLUMNS`, in that order, with a header row;
  quoting and line ends follow RFC 4180 (the `csv` module, `\\r\\n`).
- Numbers are plain: no thousands separators, no exponent (`0.000001`,
  not `1e-06`); booleans are `true`/`false`; a missing value (a
  percentile of an empty histogram, the rate of a closed stage) is an
  empty cell.
- `stage` is 1-based, as in the text report; times are milliseconds;
  `error_rate` is a fraction; `errors` and `status_codes` are
  `name=count;name=count`.
- Built from the summary document only, which holds no header values, so
  no secret can reach the file.

Pure: summary dict in, text out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from loadtest.report._schema import CSV_COLUMNS

__all__ = ["render_csv"]

Doc = Mapping[str, Any]


def _cell(value: object) -> str:
    """One cell: plain numbers, `true`/`false`, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def _counts_text(counts: Mapping[str, int]) -> str:
    return ";".join(f"{name}={count}" for name, count in counts.items())


def _metric_cells(stats: Doc) -> dict[str, Any]:
    """`latency_p50_ms`-style cells for every metric column of CSV_COLUMNS."""
    cells: dict[str, Any] = {}
    for column in CSV_COLUMNS:
        if not column.endswith("_ms"):
            continue
        metric, _, key = column.removesuffix("_ms").rpartition("_")
        cells[column] = stats[f"{metric}_ms"][key]
    return cells


def _row(run: Doc, stage: Doc, stats: Doc) -> dict[str, str]:
    """One row: a few derived cells, metric cells, and every other column read
    by its name from the statistics object or the stage (CSV_COLUMNS is the
    only list of names)."""
    cells: dict[str, Any] = {
        "run_started": run["started_at"],
        "profile": run["profile"],
        "stage": stage["index"] + 1,
        "stopped_early": stage.get("stopped_early", False),
        "scenario": stats["label"],
        "status_codes": _counts_text(stats["status_codes"]),
        "errors": _counts_text(stats["errors"]),
    }
    cells.update(_metric_cells(stats))
    goodput = stats.get("goodput") or {}
    cells["goodput_judged"] = goodput.get("judged")
    cells["goodput_good"] = goodput.get("good")
    cells["goodput"] = goodput.get("share")
    cells["goodput_rps"] = goodput.get("good_per_s")
    cells["ramp_to"] = stage.get("ramp_to")
    cells["stage_requests"] = stage.get("requests")
    cells["ended_by"] = stage.get("ended_by", "duration")
    for column in CSV_COLUMNS:
        if column not in cells:
            cells[column] = stats[column] if column in stats else stage[column]
    return {column: _cell(cells[column]) for column in CSV_COLUMNS}


def _rows(summary: Doc) -> Iterator[dict[str, str]]:
    run = summary["run"]
    for stage in summary["stages"]:
        for stats in (*stage["scenarios"], stage["total"]):
            yield _row(run, stage, stats)


def render_csv(summary: Doc) -> str:
    """The whole CSV report of a summary document (header row first)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_rows(summary))
    return out.getvalue()
