"""The HTML pages: a page model rendered as one self-contained file.

Rules:
- One file, opened offline: the page's style and script and the charting
  library (uPlot, vendored in `assets/`, its version in
  `assets/uPlot.VERSION`, re-fetched by tools/vendor_js.sh) are inlined;
  nothing is fetched, no CDN.
- The page's data is the model's JSON in a `<script type="application/json">`
  element, with `<`, `>`, `&` and the JavaScript line separators escaped
  as `\\uXXXX`: no label, URL or error text can end the element or inject
  markup. The script puts every text into the page as text, never as
  markup.
- `render_html(summary)` is the report of one run; `render_page(page)` any
  page model (compare, multi-service).

Pure but for reading this package's own assets (once, when first needed).
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson

from loadtest.report._html_model import Page, page_json
from loadtest.report._html_run import build_run_page

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["render_html", "render_page", "script_json"]

#: Characters escaped in the page's JSON (see the module rules).
_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def script_json(data: object) -> str:
    """`data` as JSON that is safe inside a `<script>` element."""
    text = orjson.dumps(data).decode()
    for char, escaped in _ESCAPES:
        text = text.replace(char, escaped)
    return text


@functools.cache
def _asset(name: str) -> str:
    return resources.files("loadtest.report").joinpath("assets", name).read_text("utf-8")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="loadtest">
<title>{title}</title>
<style>
{uplot_css}
{page_css}
</style>
</head>
<body>
<noscript>This report draws its charts and tables with JavaScript; enable it to see them.</noscript>
<main id="page"></main>
<script type="application/json" id="page-data">{data}</script>
<script>
{uplot_js}
</script>
<script>
{page_js}
</script>
</body>
</html>
"""


def render_page(page: Page) -> str:
    """One self-contained HTML file showing `page`."""
    return _TEMPLATE.format(
        title=html.escape(page.title),
        uplot_css=_asset("uPlot.min.css"),
        page_css=_asset("page.css"),
        data=script_json(page_json(page)),
        uplot_js=_asset("uPlot.iife.min.js"),
        page_js=_asset("page.js"),
    )


def render_html(summary: Mapping[str, Any]) -> str:
    """The HTML report of one run (`report-<ts>.html`)."""
    return render_page(build_run_page(summary))
