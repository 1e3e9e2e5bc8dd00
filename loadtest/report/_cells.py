"""Cells and tables of the text report: number formats, percentile cells,
rates and shares, and the column layout.

Rules:
- Everything fits `WIDTH` columns; free text longer than that is folded.
- A percentile from fewer than `FEW_SAMPLES` values carries `FEW_MARK`, and
  a block showing one ends with `FEW_LEGEND`; in a column holding a marked
  figure the others leave room for the mark, so digits stay aligned.
- A rate or percentage with nothing behind it (no turns, no prompt tokens)
  is `-`, never 0: nothing out of nothing is no data.

Pure: values in, strings out.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "FEW_LEGEND",
    "FEW_MARK",
    "FEW_SAMPLES",
    "WIDTH",
    "errors_text",
    "few_legend",
    "fmt_ms",
    "num",
    "ok_pct",
    "pct",
    "rate",
    "share",
    "table",
    "tokens",
    "wrap",
]

Doc = Mapping[str, Any]


WIDTH = 100

#: Percentiles from fewer values than this are marked with `FEW_MARK`.
FEW_SAMPLES = 10
FEW_MARK = "*"
FEW_LEGEND = f"{FEW_MARK} fewer than {FEW_SAMPLES} samples"


def wrap(line: str, indent: str) -> list[str]:
    """A long free-text line folded to the report's width."""
    if len(line) <= WIDTH:
        return [line]
    return textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_on_hyphens=False)


def fmt_ms(value: float | None) -> str:
    """Milliseconds with precision that fits their size ("-" for none)."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def pct(metric: Doc | None, key: str) -> str:
    """A percentile cell (ms), marked when it comes from fewer than
    `FEW_SAMPLES` values ("-" for none)."""
    metric = metric or {}
    text = fmt_ms(metric.get(key))
    count = metric.get("count")
    few = text != "-" and count is not None and count < FEW_SAMPLES
    return text + FEW_MARK if few else text


def tokens(dist: Doc | None, key: str) -> str:
    """A tokens-per-turn cell (a whole number, the mean to one decimal); a
    percentile from fewer than `FEW_SAMPLES` turns is marked ("-" for none)."""
    dist = dist or {}
    value = dist.get(key)
    if value is None:
        return "-"
    if key == "mean":
        return f"{value:,.1f}"
    count = dist.get("count")
    few = count is not None and count < FEW_SAMPLES
    return f"{value:,}{FEW_MARK}" if few else f"{value:,}"


def few_legend(rows: Sequence[Sequence[str]]) -> list[str]:
    """`FEW_LEGEND` when a cell of `rows` is a marked percentile."""
    marked = any(cell.endswith(FEW_MARK) for row in rows for cell in row)
    return [FEW_LEGEND] if marked else []


def ok_pct(stats: Doc) -> str:
    """The share of completed turns that were ok ("-" with none)."""
    return f"{100 * stats['ok'] / stats['requests']:.1f}" if stats["requests"] else "-"


def num(value: float) -> str:
    """A count or rate: one decimal below 1000, thousands separated."""
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], first: int = 16) -> list[str]:
    """Rows under a header: first column left-aligned (at least `first`
    wide), the others right-aligned, two blanks apart."""
    rows = _align_marks(rows)
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    widths[0] = max(widths[0], first)
    lines = []
    for row in (header, *rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _align_marks(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """In a column holding a marked percentile, unmarked figures get a blank
    where the mark would be, so the digits stay aligned."""
    out = [list(row) for row in rows]
    for i in range(1, len(out[0]) if out else 0):
        if any(row[i].endswith(FEW_MARK) for row in out):
            for row in out:
                if not row[i].endswith(FEW_MARK):
                    row[i] += " "
    return out


def rate(stats: Doc, key: str) -> str:
    """A per-second rate of a row ("-" for a row without turns: no data, not 0)."""
    value = stats[key]
    return num(value) if stats["requests"] and value is not None else "-"


def errors_text(errors: Mapping[str, int]) -> str:
    """Error classes with their counts ("-" for none)."""
    return ", ".join(f"{name} {count}" for name, count in errors.items()) or "-"


def share(part: Doc | None) -> str:
    """A cached share as a percentage ("-" when there were no prompt tokens)."""
    value = part.get("cached_share") if part else None
    return "-" if value is None else f"{100 * value:.1f}%"
