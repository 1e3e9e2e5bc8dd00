"""What `loadtest run` and `loadtest sweep` write at the end of a run: the
summary, the text, CSV, HTML and Prometheus reports and the profile as run,
through `write_outputs` (its fallback directory on a full disk), then the
report on standard output and where every file went on standard error.

Rules:
- The written profile is the one run, secrets masked, with how to run it
  again; a --mock run keeps the profile's own targets (not the mock's
  passing port) and records the mock's flags in the command.
- The summary goes to standard output after the report when it could be
  written nowhere, so no measurement is lost.
"""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Any

import attrs
import orjson

from loadtest.cli._outputs import OutputPaths, announce_outputs, write_outputs
from loadtest.config import Profile, dump_profile, redact_profile
from loadtest.report import (
    build_summary,
    render_csv,
    render_html,
    render_prometheus,
    render_text,
    run_info,
)

if TYPE_CHECKING:
    from loadtest.config import RunPlan
    from loadtest.engine import JsonlSink, RunResult

__all__ = ["Rerun", "write_run_outputs", "written_profile"]


@attrs.frozen
class Rerun:
    """How a --mock run is run again: its profile as loaded, and the mock's flags."""

    source: Profile
    mock_args: str


def written_profile(
    plan: RunPlan, file_name: str, rerun: Rerun | None, *, how: tuple[str, ...] = ()
) -> str:
    """The profile as run (named as it ran), with how to run it again. A
    --mock run keeps the profile's own targets (not the mock's passing port)
    and records the mock's flags in the command; `how` are the flags that
    spread the run (--workers N, --cluster ADDRESS), which the command keeps."""
    profile = attrs.evolve(plan.profile, name=plan.name)
    header = "# The profile this run used: command-line overrides applied, secrets masked (***).\n"
    if rerun is None:
        again = " ".join(["loadtest run <this file> --vk ...", *map(shlex.quote, how)])
        header += f"# Run it again with: {again} (supply masked keys again).\n"
    else:
        source = rerun.source.scenarios
        targets = [s.target for s in source] if source else [None]
        scenarios = tuple(
            attrs.evolve(scenario, target=target)
            for scenario, target in zip(profile.scenarios or (), targets, strict=True)
        )
        profile = attrs.evolve(profile, scenarios=scenarios)
        command = ["loadtest", "run", file_name, "--mock"]
        if rerun.mock_args:
            command += ["--mock-args", rerun.mock_args]
        command += list(how)
        header += (
            "# It ran against the built-in mock upstream; run it again as it ran with:\n"
            f"#   {shlex.join(command)}\n"
        )
    return header + dump_profile(redact_profile(profile))


def write_run_outputs(
    plan: RunPlan,
    result: RunResult,
    sink: JsonlSink,
    paths: OutputPaths,
    rerun: Rerun | None,
    *,
    facts: dict[str, Any] | None = None,
    sweep: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Write every output (see `write_outputs` for where); the summary
    (with a sweep's section when given), and whether anything could not be
    written in --out."""
    info = run_info(
        result, jsonl_lines=sink.lines, sink_overflow=sink.overflow, jsonl_lost_lines=sink.lost
    )
    info = attrs.evolve(info, generator={**info.generator, **(facts or {})})
    summary = build_summary(plan, result, info)
    if sweep is not None:
        summary["sweep"] = sweep
    report = render_text(summary)
    summary_json = orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n"
    profile_name = paths.path("profile", "toml").name
    files = {
        paths.path("summary", "json").name: summary_json,
        paths.path("report", "txt").name: report,
        paths.path("report", "csv").name: render_csv(summary),
        paths.path("report", "html").name: render_html(summary),
        paths.path("metrics", "prom").name: render_prometheus(summary),
        profile_name: written_profile(plan, profile_name, rerun),
    }
    outcome = write_outputs(paths, files)
    summary_lost = paths.path("summary", "json").name in outcome.lost
    sys.stdout.write(report)
    if summary_lost:
        sys.stdout.write(summary_json)
    announce_outputs(paths, outcome, (paths.jsonl,), summary_on_stdout=summary_lost)
    if sink.error is not None:
        print(
            f"loadtest: error: {sink.error}: the JSONL holds {sink.lines:,} whole lines; "
            f"{sink.lost:,} were lost",
            file=sys.stderr,
        )
    return summary, bool(outcome.failures or sink.error)
