"""The HTML page of a multi-service comparison (`OUT/multi-<ts>.html`).

Rules:
- Written next to the combined JSON document (same name, `.html`), and
  rewritten with it after every round, so an interrupted comparison keeps
  its page too.
- Each gateway's charts come from the summary its `loadtest run` wrote in
  that round; a summary that cannot be read leaves that gateway out of the
  round's charts (its row in the round's table says why it FAILED).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from loadtest.errors import RuntimeFailure
from loadtest.multiservice._table import render_round
from loadtest.report import GatewayRun, gateways_page, render_page

if TYPE_CHECKING:
    from pathlib import Path

    from loadtest.multiservice._results import RoundResult

__all__ = ["html_path", "write_html"]


def html_path(json_path: Path) -> Path:
    """Where the page of the combined document `json_path` goes."""
    return json_path.with_suffix(".html")


def _summary(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def write_html(
    rounds: tuple[RoundResult, ...], summary_table: str, *, profile: str, json_path: Path
) -> Path:
    """Write the page of `rounds`; RuntimeFailure if it cannot be written."""
    pages = []
    for round_ in rounds:
        gateways: list[GatewayRun] = [
            (s.name, _summary(s.summary_path), s.failure) for s in round_.services
        ]
        pages.append((round_.number, round_.start_at_unix_s, render_round(round_), gateways))
    text = render_page(gateways_page(pages, summary_table, profile=profile))
    path = html_path(json_path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RuntimeFailure(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
