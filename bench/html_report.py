"""Benchmark: the HTML report's size and the time to build and to draw it.

Takes a summary (default: the report tests' golden summary, a closed and an
open stage) and stretches each stage's time series to `--seconds` seconds
(copies of its buckets, one per second, the stages one after the other),
then measures:

- `render_html(summary)`: the best of `--repeat` runs (Python: page model,
  HDR decoding of the distributions, JSON, template);
- the report file's size, and how much of it is uPlot;
- with `--browser`, the time headless chromium takes from navigation to the
  end of the load event (the page's script has drawn every chart), the best
  of `--repeat` loads.

Run: .venv/bin/python bench/html_report.py [SUMMARY.json] [--seconds 3600] [--browser]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from loadtest.report import render_html
from loadtest.report._html import _asset

GOLDEN = Path(__file__).parents[1] / "tests" / "unit" / "report" / "golden" / "summary.json"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def stretched(summary: dict[str, Any], seconds: int) -> dict[str, Any]:
    """`summary` with every stage's series `seconds` long (its buckets repeated)."""
    doc = copy.deepcopy(summary)
    next_t = None
    for stage in doc["stages"]:
        series = stage.get("timeseries") or []
        if not series or seconds <= len(series):
            continue
        first = series[0]["t"] if next_t is None else next_t
        stage["timeseries"] = [
            {**copy.deepcopy(series[i % len(series)]), "t": first + i} for i in range(seconds)
        ]
        next_t = first + seconds  # stages one after the other, as a run's are
    return doc


def browser_ms(path: Path, repeat: int) -> float:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("no chromium on PATH")
    best = float("inf")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(path.as_uri())
            timing = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
            best = min(best, float(timing))
            page.close()
        browser.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", nargs="?", type=Path, default=GOLDEN)
    parser.add_argument("--seconds", type=int, default=0, help="time series length per stage")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time chromium drawing it")
    args = parser.parse_args()
    summary = stretched(json.loads(args.summary.read_text()), args.seconds)
    best = float("inf")
    for _ in range(args.repeat):
        started = time.perf_counter()
        page = render_html(summary)
        best = min(best, time.perf_counter() - started)
    library = len(_asset("uPlot.iife.min.js")) + len(_asset("uPlot.min.css"))
    seconds = sum(len(s.get("timeseries") or []) for s in summary["stages"])
    print(f"summary: {args.summary.name}, {len(summary['stages'])} stages, {seconds} s of series")
    print(f"render_html: {best * 1000:.1f} ms (best of {args.repeat})")
    print(f"report: {len(page.encode()) / 1024:.1f} KiB (uPlot {library / 1024:.1f} KiB of it)")
    if args.browser:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "report.html"
            path.write_text(page, encoding="utf-8")
            print(f"chromium load + draw: {browser_ms(path, args.repeat):.0f} ms (best)")


if __name__ == "__main__":
    main()
