"""The HTML pages in a real headless browser (Debian's `chromium`).

Each page is loaded from a file, as a person opens it: no console error
and no page error, no request leaves the file (no CDN), and every chart of
the page model drew (a canvas of non-zero size with something painted on
it). Screenshots go to the test's tmp directory, and also to
$LOADTEST_SCREENSHOTS when set. Without chromium the test is skipped, except
in CI (`CI` set), where it fails: CI must never skip it silently.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.report import compare_page, gateways_page, render_html, render_page
from loadtest.report._html_model import Chart, Page
from loadtest.report._html_run import build_run_page
from tests.unit.report.test_html import SWEEP, golden, with_goodput
from tests.unit.report.test_html_compare import slower

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

#: Flags that work in a container without a GPU or a network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str | None:
    """Debian's chromium (or $LOADTEST_CHROMIUM): never a browser playwright downloads."""
    candidates = [os.environ.get("LOADTEST_CHROMIUM"), "chromium", "chromium-browser"]
    for name in candidates:
        found = name and shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium()
    if executable is None:
        message = "no chromium on PATH (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the browser test")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def chart_ids(page: Page) -> list[str]:
    return [i.id for s in page.sections for i in s.items if isinstance(i, Chart)]


#: For each chart element: drawn by the script, its canvas's size, how many
#: of its pixels are painted (not transparent or white), and how many are in
#: colour (the series; axes and grid are grey).
_INSPECT = """() => Array.from(document.querySelectorAll('.chart')).map(box => {
  const canvas = box.querySelector('canvas');
  if (!canvas) return {id: box.id, drawn: box.dataset.drawn, width: 0, height: 0};
  const ctx = canvas.getContext('2d');
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0, coloured = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
    if (a > 0 && !(r > 245 && g > 245 && b > 245)) painted++;
    if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
  }
  return {id: box.id, drawn: box.dataset.drawn, width: canvas.width, height: canvas.height,
          painted, coloured};
})"""


def open_page(browser: Browser, html: str, tmp_path: Path, name: str) -> list[dict[str, Any]]:
    """Load `html` from a file at 1280 px wide; fail on any console or page
    error or request beyond the file; screenshot it; each chart's state."""
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(r.url),
    )
    try:
        page.goto(path.as_uri())  # returns after the load event: the inline scripts ran
        charts: list[dict[str, Any]] = page.evaluate(_INSPECT)
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    target = os.environ.get("LOADTEST_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)
    assert problems == []
    return charts


def check_drawn(charts: list[dict[str, Any]], model: Page) -> None:
    assert [c["id"] for c in charts] == chart_ids(model)
    for c in charts:
        assert c["drawn"] == "1", c
        assert c["width"] > 300, c
        assert c["height"] > 200, c
        assert c["painted"] > 2000, c  # axes, grid and lines, not an empty box
        assert c["coloured"] > 10, c  # a series was drawn (a few points at least)


def test_a_run_report_with_closed_and_open_stages(browser: Browser, tmp_path: Path) -> None:
    doc = golden()
    charts = open_page(browser, render_html(doc), tmp_path, "report")
    check_drawn(charts, build_run_page(doc))


def test_a_sweep_with_goodput(browser: Browser, tmp_path: Path) -> None:
    doc = with_goodput(golden())
    doc["sweep"] = SWEEP
    doc["run"]["profile"] = "</script><b>sweep</b>"  # stays text
    charts = open_page(browser, render_html(doc), tmp_path, "sweep")
    check_drawn(charts, build_run_page(doc))
    assert {"sweep-rate", "sweep-latency", "sweep-goodput"} <= {c["id"] for c in charts}


def test_a_compare_page(browser: Browser, tmp_path: Path) -> None:
    old = golden()
    model = compare_page(
        old, slower(old), "verdict: no regression\n", names=("a", "b"), regressed=False
    )
    charts = open_page(browser, render_page(model), tmp_path, "compare")
    check_drawn(charts, model)


def test_a_multi_service_page(browser: Browser, tmp_path: Path) -> None:
    doc = golden()
    start_s = doc["run"]["started_unix_s"]
    gateways = [("gw-a", doc, None), ("gw-b", copy.deepcopy(doc), None), ("gw-c", None, "refused")]
    model = gateways_page([(1, start_s, "round 1/1\n", gateways)], "summary\n", profile="p")
    charts = open_page(browser, render_page(model), tmp_path, "multi")
    check_drawn(charts, model)


#: Each category chart's x tick labels as drawn (data-x-ticks), the room
#: each has on the axis, and the widest label's width in the axis font.
_TICKS = """() => Array.from(document.querySelectorAll('.chart[data-x-ticks]')).map(box => {
  const labels = JSON.parse(box.dataset.xTicks);
  const canvas = box.querySelector('canvas');
  const measure = document.createElement('canvas').getContext('2d');
  measure.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
    + '"Noto Sans", sans-serif';
  const widest = Math.max(...labels.map(t => measure.measureText(t).width));
  return {id: box.id, labels, room: canvas.clientWidth / labels.length, widest};
})"""


def test_stage_labels_on_a_category_axis_never_overprint(browser: Browser, tmp_path: Path) -> None:
    """Seven mixed stages: their "N: load" labels would overprint each other
    on a half-width chart, so each tick is the stage number alone; two
    stages keep their full labels."""
    doc = golden()
    closed, open_ = doc["stages"]
    doc["stages"] = [copy.deepcopy(closed if i % 2 else open_) for i in range(7)]
    for index, stage in enumerate(doc["stages"]):
        stage["index"] = index
    path = tmp_path / "many.html"
    path.write_text(render_html(doc), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(path.as_uri())
        many = page.evaluate(_TICKS)
        path.write_text(render_html(golden()), encoding="utf-8")
        page.goto(path.as_uri())
        two = page.evaluate(_TICKS)
    finally:
        page.close()
    assert many, "no category chart"
    for chart in many:
        assert chart["labels"] == [str(n) for n in range(1, 8)], chart
        assert chart["widest"] < chart["room"], chart
    assert two
    for chart in two:
        assert chart["labels"] == ["1: closed 4 VUs", "2: open 5/s"], chart
