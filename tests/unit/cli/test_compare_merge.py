"""`loadtest compare` and `loadtest merge` from the command line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loadtest.cli import app
from loadtest.errors import EXIT_THRESHOLDS, EXIT_USAGE
from tests.unit.report.builders import make_plan, snapshot, summary, turn

runner = CliRunner()


def base() -> dict[str, Any]:
    turns = [turn(0) for _ in range(40)] + [turn(1) for _ in range(40)]
    return summary([snapshot(turns)], make_plan(thresholds={"p95_ms": 50}))


def write(path: Path, doc: object) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def assert_clean_error(result: Any, *parts: str) -> None:
    assert result.exit_code == EXIT_USAGE, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("loadtest: error: ")
    for part in parts:
        assert part in result.stderr


def test_compare_without_regression_exits_0(tmp_path: Path) -> None:
    """Two equal summaries: the table is printed and the exit code is 0."""
    old = write(tmp_path / "old.json", base())
    result = runner.invoke(app, ["compare", old, old])
    assert result.exit_code == 0, result.output
    assert "verdict: no regression" in result.stdout
    assert "Stage 1: closed 4 VUs" in result.stdout


def test_compare_warns_of_one_run_twice_and_of_two_profiles(tmp_path: Path) -> None:
    """Warnings on stderr; the comparison itself and its exit code stand."""
    old = write(tmp_path / "old.json", base())
    result = runner.invoke(app, ["compare", old, old])
    assert result.exit_code == 0, result.output
    assert "loadtest: warning: both summaries are of the same run" in result.stderr
    other = base()
    other["run"]["run_id"] = "another"
    other["run"]["profile"] = "other"
    result = runner.invoke(app, ["compare", old, write(tmp_path / "n.json", other)])
    assert result.exit_code == 0, result.output
    assert "same run" not in result.stderr
    assert "the runs are of different profiles ('unit' and 'other')" in result.stderr
    fresh = base()
    fresh["run"]["run_id"] = "fresh"
    result = runner.invoke(app, ["compare", old, write(tmp_path / "f.json", fresh)])
    assert "warning" not in result.stderr


def test_compare_with_a_regression_exits_3(tmp_path: Path) -> None:
    """A 20% latency rise regresses at the default, not with --regress-pct 25."""
    new = base()
    new["stages"][0]["total"]["latency_ms"]["p99"] *= 1.2
    args = ["compare", write(tmp_path / "o.json", base()), write(tmp_path / "n.json", new)]
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_THRESHOLDS
    assert "verdict: REGRESSION (1 found)" in result.stdout
    assert runner.invoke(app, [*args, "--regress-pct", "25"]).exit_code == 0


def test_compare_error_points_option(tmp_path: Path) -> None:
    """--error-points sets the error-rate allowance in percentage points."""
    new = base()
    new["stages"][0]["total"]["error_rate"] = 0.03
    args = ["compare", write(tmp_path / "o.json", base()), write(tmp_path / "n.json", new)]
    assert runner.invoke(app, args).exit_code == EXIT_THRESHOLDS
    assert runner.invoke(app, [*args, "--error-points", "5"]).exit_code == 0


def test_compare_with_nothing_in_common_exits_2(tmp_path: Path) -> None:
    """No stage matches (different load): nothing was compared, which is a usage error."""
    other = summary([snapshot([turn(0)] * 20, concurrency=8)])
    args = ["compare", write(tmp_path / "o.json", base()), write(tmp_path / "n.json", other)]
    result = runner.invoke(app, args)
    assert_clean_error(result, "no stage in common", "o.json", "n.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        (b'{"schema": ', "line 1, column 12: invalid JSON"),
        (b"\xff\xfe\xfa", "not a text file"),
        (b"[]", "expected a summary document"),
        (b'{"schema": "loadtest.summary/9"}', "$.schema: expected 'loadtest.summary/1'"),
        (b'{"schema": "loadtest.summary/1", "run": {}, "stages": []}', "missing key $.run.profile"),
    ],
)
def test_bad_summaries_exit_2_naming_the_file(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """Unreadable, not JSON, wrong schema, missing keys: one clean line naming the file."""
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_bytes(content)
    good = write(tmp_path / "good.json", base())
    for args in (["compare", good, str(bad)], ["merge", good, str(bad), "-o", "x.json"]):
        result = runner.invoke(app, args)
        assert_clean_error(result, f"{bad}: ", message)
    assert not Path("x.json").exists()


def test_merge_writes_the_merged_summary(tmp_path: Path) -> None:
    """merge writes one summary whose counters are the sums, and says so in one line."""
    a, b = write(tmp_path / "a.json", base()), write(tmp_path / "b.json", base())
    out = tmp_path / "merged.json"
    result = runner.invoke(app, ["merge", a, b, "-o", str(out)])
    assert result.exit_code == 0, result.output
    merged = json.loads(out.read_text())
    assert merged["run"]["shards"] == 2
    assert merged["stages"][0]["total"]["requests"] == 160
    assert merged["thresholds"][0]["name"] == "p95_ms"
    assert result.stdout == (
        f"merged 2 summaries (2 shards, 1 stage) into {out}; 1 threshold failed in the merged run\n"
    )
    compared = runner.invoke(app, ["compare", str(out), str(out)])
    assert compared.exit_code == 0


def test_merge_without_failed_thresholds_says_nothing_of_them(tmp_path: Path) -> None:
    """With every threshold passing, the line only reports the merge."""
    doc = base()
    doc["run"]["thresholds"] = {"total": {}, "scenarios": {}}
    a = write(tmp_path / "a.json", doc)
    result = runner.invoke(app, ["merge", a, "--output", str(tmp_path / "m.json")])
    assert result.stdout.endswith("m.json\n")


def test_merge_refusal_writes_nothing(tmp_path: Path) -> None:
    """Summaries of different stage plans: exit 2, the difference named, no file written."""
    other = copy.deepcopy(base())
    other["run"]["stage_plan"] = ["8:10s"]
    a, b = write(tmp_path / "a.json", base()), write(tmp_path / "b.json", other)
    out = tmp_path / "merged.json"
    result = runner.invoke(app, ["merge", a, b, "-o", str(out)])
    assert_clean_error(result, f"{b}: stage plan '8:10s' differs from {a}'s '4:10s,@5:10s'")
    assert not out.exists()


def test_merge_refuses_one_file_given_twice(tmp_path: Path) -> None:
    """The same file twice, by any spelling of its path: exit 2, nothing written."""
    a = write(tmp_path / "a.json", base())
    out = tmp_path / "merged.json"
    for other in (a, str(tmp_path / "." / "a.json")):
        result = runner.invoke(app, ["merge", a, other, "-o", str(out)])
        assert_clean_error(result, f"{other}: given twice (also as {a})", "count its turns twice")
    assert not out.exists()


def test_merge_refuses_a_copy_of_the_same_run(tmp_path: Path) -> None:
    """A copy of a summary under another name is the same run: exit 2, nothing written."""
    doc = base()
    a, b = write(tmp_path / "a.json", doc), write(tmp_path / "copy.json", doc)
    out = tmp_path / "merged.json"
    result = runner.invoke(app, ["merge", a, b, "-o", str(out)])
    assert_clean_error(result, f"{b}: the same run as {a}", "count its turns twice")
    assert not out.exists()


def test_compare_with_only_n_a_and_few_figures_exits_2(tmp_path: Path) -> None:
    """Matched stages whose every figure is n/a or few: "nothing compared", exit 2."""
    few = summary([snapshot([turn(0)] * 3)])
    again = {**few, "run": {**few["run"], "run_id": "another"}}  # no same-run warning
    args = ["compare", write(tmp_path / "o.json", few), write(tmp_path / "n.json", again)]
    result = runner.invoke(app, args)
    assert "verdict: nothing compared (every figure is n/a or few" in result.stdout
    assert "no regression" not in result.stdout
    assert_clean_error(result, "every figure is n/a (no data) or few", "nothing was compared")


def test_merge_refuses_a_missing_segment_unless_partial(tmp_path: Path) -> None:
    """Segments 0/3 and 2/3: refused (exit 2, nothing written), merged with
    --partial and said so."""
    docs = []
    for k in (0, 2):
        doc = base()
        doc["run"]["run_id"] += f"-{k}"
        doc["run"]["segment"] = f"{k}/3"
        docs.append(write(tmp_path / f"s{k}.json", doc))
    out = tmp_path / "merged.json"
    refused = runner.invoke(app, ["merge", *docs, "-o", str(out)])
    assert_clean_error(refused, "segment 1/3 missing", "--partial")
    assert not out.exists()
    result = runner.invoke(app, ["merge", *docs, "-o", str(out), "--partial"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("; PARTIAL: segments 1/3 missing\n")
    assert json.loads(out.read_text())["run"]["missing_segments"] == {"1/3": "not merged"}
