"""`loadtest run --cluster tcp://SCHEDULER:8786 --workers N`: the run's N
shards as tasks on an existing Dask cluster, merged on this host.

Wiring only (`loadtest.cluster` talks to Dask, `loadtest.scale` runs and
merges shards). Rules:
- Refused before anything starts: `--mock` (the mock would run on this
  host only), `--cluster` without `--workers`, a malformed address, and a
  missing `cluster` extra (exit 2).
- Then the cluster is checked (`open_cluster`: the scheduler answers, a
  worker per shard, the same version everywhere; exit 1 otherwise), then
  the pre-flight request from this host, then the shared start time is
  chosen here: `LEAD_S` from now, or `--start-at` if later.
- The outputs are those of `--workers`: every shard's summary merged and
  every shard's JSONL in one file. A lost or failed segment is an error
  (exit 1) whose outputs, if any shard returned, are marked partial and
  name it. Ctrl-C or SIGTERM: exit 130 after writing what was measured.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson
import typer

from loadtest.cli._outputs import write_outputs
from loadtest.cli._preflight import preflight
from loadtest.cluster import (
    ShardStart,
    check_address,
    import_distributed,
    open_cluster,
    skew_report,
)
from loadtest.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, ConfigError
from loadtest.report import (
    evaluate_thresholds,
    merge_summaries,
    render_csv,
    render_prometheus,
    render_text,
)
from loadtest.scale import ShardResult, shard_jobs

if TYPE_CHECKING:
    from loadtest.cli._outputs import OutputPaths
    from loadtest.cli._signals import StopSignals
    from loadtest.cluster import DaskCluster
    from loadtest.config import RunPlan

__all__ = [
    "CLUSTER_OPTION",
    "LEAD_S",
    "check_cluster_flags",
    "run_on_cluster",
    "write_merged",
]

CLUSTER_OPTION: Any = typer.Option(
    None,
    "--cluster",
    help="A Dask scheduler (tcp://HOST:8786): run the --workers N shards as tasks on that "
    "cluster, one per Dask worker, and merge them here (pip install "
    "'loadtest-llm[cluster]'; docs/scale.md).",
)
#: Seconds from submitting the tasks to the shared start time.
LEAD_S = 2.0


def check_cluster_flags(address: str | None, workers: int | None, mock: bool) -> None:
    """The flag combinations --cluster refuses (ConfigError, exit 2)."""
    if address is None:
        return
    if mock:
        raise ConfigError(
            "--mock and --cluster: the mock would run on this host only; start "
            "`loadtest mock --host 0.0.0.0` where the workers reach it and pass --target"
        )
    if workers is None:
        raise ConfigError("--cluster: give the number of shards with --workers N")
    check_address(address)
    import_distributed()


def _acknowledge(signals: StopSignals) -> Any:
    """The stop-request count for the cluster's loop, printing what each does."""
    told = [0]

    def requests() -> int:
        count = len(signals.received)
        if count > told[0]:
            name = signals.received[-1]
            if told[0] == 0:
                print(
                    f"\nloadtest: {name}: stopping every shard (each ends its stage) and "
                    "writing the outputs",
                    file=sys.stderr,
                )
            elif count >= 2 > told[0] or told[0] == 1:
                print(
                    f"\nloadtest: {name} again: cancelling the shards still running; "
                    "writing what finished",
                    file=sys.stderr,
                )
            told[0] = count
        return count

    return requests


def _starts(cluster: DaskCluster, results: dict[int, ShardResult]) -> list[ShardStart]:
    starts = []
    for index, result in sorted(results.items()):
        if result.summary is None:
            continue
        late_ms = result.summary["run"].get("generator", {}).get("start_skew_ms")
        if late_ms is None:
            continue
        worker = cluster.workers[index]
        starts.append(
            ShardStart(str(result.segment), worker, float(late_ms), cluster.offsets.get(worker))
        )
    return starts


def run_on_cluster(
    address: str,
    count: int,
    plan: RunPlan,
    paths: OutputPaths,
    *,
    start_at: float | None,
    no_preflight: bool,
    strict_health: bool,
    signals: StopSignals,
) -> int:
    """Run `plan` as `count` shards on the cluster at `address`, write the
    merged outputs; the run's exit code."""
    with open_cluster(address, count) as cluster:
        hosts = sorted(set(cluster.hosts.values()))
        print(
            f"cluster: {count} workers on {len(hosts)} host{'s' if len(hosts) > 1 else ''} "
            f"({', '.join(hosts)})",
            file=sys.stderr,
        )
        if not no_preflight:
            preflight(plan)
        start = max(time.time() + LEAD_S, start_at or 0.0)
        jobs = shard_jobs(
            plan,
            count,
            start_at_unix_s=start,
            run_id=uuid.uuid4().hex,
            stamp=paths.stamp,
            env=os.environ,
        )
        signals.phase = "running"
        outcome = cluster.run(
            jobs,
            stop_requests=_acknowledge(signals),
            announce=lambda line: print(line, file=sys.stderr),
        )
        signals.phase = "writing"
        lines, warnings = skew_report(_starts(cluster, outcome.results))
    for line in lines:
        print(f"cluster: {line}", file=sys.stderr)
    for warning in warnings:
        print(f"loadtest: warning: {warning}", file=sys.stderr)
    missing = {f"{index}/{count}": reason for index, reason in outcome.lost.items()}
    for index, result in sorted(outcome.results.items()):
        if result.summary is None:
            missing[f"{index}/{count}"] = f"failed on {result.host}: {result.error}"
    returned = {i: r for i, r in outcome.results.items() if r.summary is not None}
    code = (
        write_merged(plan, paths, returned, missing, strict_health=strict_health)
        if returned
        else EXIT_RUNTIME
    )
    for segment, reason in missing.items():
        print(f"loadtest: error: segment {segment}: {reason}", file=sys.stderr)
    if missing:
        return EXIT_RUNTIME
    if signals.received or outcome.cancelled:
        return EXIT_INTERRUPTED
    return code


def write_merged(
    plan: RunPlan,
    paths: OutputPaths,
    results: dict[int, ShardResult],
    missing: dict[str, str],
    *,
    strict_health: bool,
) -> int:
    """Merge the shards' summaries (partial, naming `missing`), write every
    output as one run writes them, its JSONL the shards' in segment order;
    the run's exit code."""
    from loadtest.cli._run import _written_profile, exit_code

    ordered = [results[index] for index in sorted(results)]
    merged = merge_summaries(
        [result.summary for result in ordered if result.summary is not None],
        [f"segment {result.segment}" for result in ordered],
        partial=bool(missing),
        missing_reasons=missing,
    )
    merged["thresholds"] = evaluate_thresholds(merged)
    report = render_text(merged)
    summary_json = orjson.dumps(merged, option=orjson.OPT_INDENT_2).decode() + "\n"
    profile_name = paths.path("profile", "toml").name
    files = {
        paths.jsonl.name: b"".join(result.jsonl or b"" for result in ordered).decode(),
        paths.path("summary", "json").name: summary_json,
        paths.path("report", "txt").name: report,
        paths.path("report", "csv").name: render_csv(merged),
        paths.path("metrics", "prom").name: render_prometheus(merged),
        profile_name: _written_profile(plan, profile_name, None),
    }
    outcome = write_outputs(paths, files)
    sys.stdout.write(report)
    if paths.path("summary", "json").name in outcome.lost:
        sys.stdout.write(summary_json)
    print("outputs:", file=sys.stderr)
    for path in outcome.written:
        print(f"  {path}", file=sys.stderr)
    for failure in outcome.failures:
        print(f"loadtest: error: {failure}", file=sys.stderr)
    if outcome.fallback is not None:
        print(
            f"loadtest: error: what could not be written in {paths.directory} "
            f"is in {outcome.fallback}",
            file=sys.stderr,
        )
    if outcome.failures:
        return EXIT_RUNTIME
    return exit_code(merged, strict_health=strict_health)
