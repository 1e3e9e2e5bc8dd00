"""`loadtest report SUMMARY.json` and `loadtest compare --html`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.errors import EXIT_RUNTIME, EXIT_THRESHOLDS
from loadtest.report import render_csv, render_text
from tests.unit.cli.test_compare_merge import assert_clean_error, base, write

runner = CliRunner()
GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "summary.json"
STAMP = "20261128T015830Z"  # the golden run's start


def test_report_rebuilds_every_report_next_to_the_summary(tmp_path: Path) -> None:
    """Named by the summary's <ts>; the text report is printed and equals
    the one a run writes; the CSV too."""
    path = tmp_path / "summary-20260101T000000Z-2.json"
    shutil.copy(GOLDEN, path)
    result = runner.invoke(app, ["report", str(path)])
    assert result.exit_code == 0, result.output
    stamp = "20260101T000000Z-2"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            path.name,
            f"report-{stamp}.txt",
            f"report-{stamp}.csv",
            f"report-{stamp}.html",
            f"metrics-{stamp}.prom",
        ]
    )
    doc = json.loads(GOLDEN.read_text())
    assert result.stdout == render_text(doc)
    assert (tmp_path / f"report-{stamp}.txt").read_text() == render_text(doc)
    assert (tmp_path / f"report-{stamp}.csv").read_bytes() == render_csv(doc).encode()
    page = (tmp_path / f"report-{stamp}.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "loadtest report: unit" in page
    assert f"report-{stamp}.html" in result.stderr


def test_report_into_another_directory_named_by_the_runs_start(tmp_path: Path) -> None:
    """A summary not named summary-<ts>.json: <ts> is the run's start; --out
    is created."""
    out = tmp_path / "a" / "b"
    result = runner.invoke(app, ["report", str(GOLDEN), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        f"metrics-{STAMP}.prom",
        f"report-{STAMP}.csv",
        f"report-{STAMP}.html",
        f"report-{STAMP}.txt",
    ]


def test_report_refuses_a_bad_summary_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "summary-x.json"
    bad.write_text('{"schema": "loadtest.summary/1"}')
    result = runner.invoke(app, ["report", str(bad)])
    assert_clean_error(result, f"{bad}: missing key $.run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary-x.json"]
    assert_clean_error(runner.invoke(app, ["report", str(tmp_path / "none.json")]), "cannot read")


def test_report_refuses_an_out_that_is_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "f"
    afile.write_text("")
    result = runner.invoke(app, ["report", str(GOLDEN), "--out", str(afile)])
    assert_clean_error(result, f"--out {afile}: is a file, not a directory")


def test_report_says_when_out_cannot_be_created(tmp_path: Path) -> None:
    afile = tmp_path / "f"
    afile.write_text("")
    result = runner.invoke(app, ["report", str(GOLDEN), "--out", str(afile / "sub")])
    assert_clean_error(result, f"--out {afile / 'sub'}: cannot create it: ")


def test_report_says_which_file_could_not_be_written(tmp_path: Path) -> None:
    out = tmp_path / "o"
    (out / f"report-{STAMP}.html").mkdir(parents=True)  # a directory where the page goes
    result = runner.invoke(app, ["report", str(GOLDEN), "--out", str(out)])
    assert result.exit_code == EXIT_RUNTIME
    assert f"loadtest: error: cannot write {out / f'report-{STAMP}.html'}" in result.stderr
    assert "Traceback" not in result.output


def test_compare_writes_the_page_even_on_a_regression(tmp_path: Path) -> None:
    new = base()
    new["stages"][0]["total"]["latency_ms"]["p99"] *= 1.2
    page = tmp_path / "cmp.html"
    old_path, new_path = write(tmp_path / "o.json", base()), write(tmp_path / "n.json", new)
    result = runner.invoke(app, ["compare", old_path, new_path, "--html", str(page)])
    assert result.exit_code == EXIT_THRESHOLDS
    text = page.read_text()
    assert "loadtest compare" in text
    assert "verdict: REGRESSION (1 found)" in text
    assert f"page: {page}" in result.stderr
    assert not (tmp_path / "none.html").exists()


def test_compare_without_html_writes_no_page(tmp_path: Path) -> None:
    old = write(tmp_path / "o.json", base())
    assert runner.invoke(app, ["compare", old, old]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.json"]
