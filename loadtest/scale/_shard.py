"""The shard runner: one execution segment of a plan, from plain data to plain data.

`shard_jobs(plan, count, ...)` cuts a resolved plan into `count` `ShardJob`s;
`run_shard(job)` runs one (synchronously, in its own `trio.run`) and returns
its `ShardResult`. `loadtest run --workers N` runs each job in a worker
process (`_worker`); a Dask worker or any other host can run one just as
well: a job and a result are plain picklable data.

Rules:
- A job holds everything a shard needs: the effective profile (overrides
  written in) as JSON-able data, its segment, the shared start time (Unix
  s), the run id and file stamp, and the secrets apart from the profile.
  Secret header values (a `--vk` key written in by the overrides) are
  replaced in the profile by `${LOADTEST_SHARD_SECRET_<n>}` references,
  and the values of those and of every `${NAME}` the profile references
  travel in `secrets`, which no repr shows.
- A shard resolves the profile again with `secrets` as its environment, so
  it runs exactly the plan the parent checked, cut to its segment.
- No pre-flight request in a shard: the caller checks the targets once.
- The result holds the shard's summary (its segment, host and start skew
  recorded), and its JSONL as a path (`jsonl_dir` given: same host) or as
  bytes (no `jsonl_dir`: the file is read back and removed). A shard that
  fails returns exit code 1 (2 for a plan that does not resolve) and the
  error's text, never raises.
"""

from __future__ import annotations

import copy
import os
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio

from loadtest.config import (
    ENV_REF,
    Segment,
    is_secret,
    resolve,
    secret_names,
    structure_profile,
    unstructure_profile,
)
from loadtest.engine import Engine, JsonlSink, RunResult, open_engine
from loadtest.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, LoadtestError
from loadtest.report import build_summary, run_info

if TYPE_CHECKING:
    from loadtest.config import RunPlan

__all__ = ["ShardJob", "ShardResult", "ShardTask", "run_shard", "shard_jobs"]

#: A task run beside a shard's engine (progress, a stop watcher): it gets
#: the engine and is cancelled when the run ends.
ShardTask = Callable[[Engine], Awaitable[None]]

_SECRET_REF = "LOADTEST_SHARD_SECRET_{}"


@attrs.frozen
class ShardJob:
    """Everything one shard needs, as plain picklable data."""

    #: The effective profile (overrides applied; secrets as references).
    profile: dict[str, Any] = attrs.field(repr=False)
    #: The plan's name (a profile without `name` is named after its file).
    name: str
    #: This shard's segment, 0-based `index` of `count`.
    index: int
    count: int
    #: When every shard starts its first stage (Unix s).
    start_at_unix_s: float
    #: The whole run's id; the shard's own is `<run_id>-<index>`.
    run_id: str
    #: The run's file stamp (`<ts>`), for the shard's JSONL file name.
    stamp: str
    #: Values of the `${NAME}` references of `profile` (keys included).
    secrets: Mapping[str, str] = attrs.field(repr=False, factory=dict)
    #: Write the JSONL here (same host) and return its path; None: return bytes.
    jsonl_dir: str | None = None

    @property
    def segment(self) -> Segment:
        return Segment(self.index, self.count)

    @property
    def jsonl_name(self) -> str:
        """The shard's JSONL file name: `results-<ts>-w<K>.jsonl`."""
        return f"results-{self.stamp}-w{self.index}.jsonl"


@attrs.frozen
class ShardResult:
    """What one shard gives back."""

    index: int
    count: int
    host: str
    #: 0 finished, 130 stopped by a stop request, 1 failed, 2 bad plan.
    exit_code: int
    error: str | None = None
    #: The shard's summary (None when it failed before one was built).
    summary: dict[str, Any] | None = attrs.field(default=None, repr=False)
    #: Its JSONL, as bytes (no `jsonl_dir`) ...
    jsonl: bytes | None = attrs.field(default=None, repr=False)
    #: ... or as the path of the file written in `jsonl_dir`.
    jsonl_path: str | None = None

    @property
    def segment(self) -> Segment:
        return Segment(self.index, self.count)


def _without_secrets(
    data: dict[str, Any], secret: frozenset[str], env: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """`data` with each literal secret header value replaced by a reference,
    and the values of every reference `data` then holds (from `env`)."""
    data = copy.deepcopy(data)
    secrets: dict[str, str] = {}
    holders = [data.get("defaults") or {}, *(data.get("scenarios") or [])]
    for holder in holders:
        headers = holder.get("headers") or {}
        for name, value in headers.items():
            if is_secret(name, secret) and ENV_REF.fullmatch(value) is None:
                ref = _SECRET_REF.format(len(secrets))
                secrets[ref] = ENV_REF.sub(lambda m: env.get(m[1], m[0]), value)
                headers[name] = f"${{{ref}}}"
    text = repr(data)
    for name in ENV_REF.findall(text):
        if name in env and name not in secrets:
            secrets[name] = env[name]
    return data, secrets


def shard_jobs(
    plan: RunPlan,
    count: int,
    *,
    start_at_unix_s: float,
    run_id: str,
    stamp: str,
    env: Mapping[str, str],
    jsonl_dir: str | None = None,
) -> list[ShardJob]:
    """The `count` jobs of a resolved `plan` (a `RunPlan`; its per-run
    limits checked for `count` shards: ConfigError). `env` is the
    environment the plan was resolved with."""
    for index in range(count):
        plan.for_segment(Segment(index, count))
    data, secrets = _without_secrets(
        unstructure_profile(plan.profile), secret_names(plan.profile.redact_headers), env
    )
    return [
        ShardJob(
            profile=data,
            name=plan.name,
            index=index,
            count=count,
            start_at_unix_s=start_at_unix_s,
            run_id=run_id,
            stamp=stamp,
            secrets=secrets,
            jsonl_dir=jsonl_dir,
        )
        for index in range(count)
    ]


def job_plan(job: ShardJob) -> RunPlan:
    """The job's plan, cut to its segment (ConfigError if it does not resolve)."""
    try:
        profile = structure_profile(job.profile)
    except ValueError as exc:
        raise LoadtestError(f"shard profile: {'; '.join(exc.args[0])}") from None
    plan = resolve(profile, None, env=job.secrets, name=job.name)
    return plan.for_segment(job.segment)


def run_shard(job: ShardJob, *, tasks: Sequence[ShardTask] = ()) -> ShardResult:
    """Run one shard to its end and return its result (never raises for a
    shard's failure: see `ShardResult.exit_code`). `tasks` run beside the
    engine (e.g. `engine.stop_on_signals` in a main thread)."""
    host = socket.gethostname()

    def failed(code: int, error: str) -> ShardResult:
        return ShardResult(job.index, job.count, host, code, error)

    try:
        plan = job_plan(job)
    except LoadtestError as exc:
        return failed(EXIT_USAGE, str(exc))
    if job.jsonl_dir is not None:
        path = Path(job.jsonl_dir) / job.jsonl_name
    else:
        fd, name = tempfile.mkstemp(prefix="loadtest-shard-", suffix=".jsonl")
        os.close(fd)
        path = Path(name)
    try:
        result, sink, skew_ms = trio.run(_run, plan, path, job.start_at_unix_s, tasks)
        generator = {
            "host": host,
            "segment": str(job.segment),
            "start_skew_ms": skew_ms,
            "jsonl": job.jsonl_name if job.jsonl_dir is not None else None,
        }
        info = run_info(
            result,
            jsonl_lines=sink.lines,
            sink_overflow=sink.overflow,
            jsonl_lost_lines=sink.lost,
            run_id=f"{job.run_id}-{job.index}",
        )
        info = attrs.evolve(info, generator={**info.generator, **generator})
        summary = build_summary(plan, result, info, thresholds=False)
        jsonl = None if job.jsonl_dir is not None else path.read_bytes()
    except (LoadtestError, OSError) as exc:
        return failed(EXIT_RUNTIME, str(exc))
    finally:
        if job.jsonl_dir is None:
            path.unlink(missing_ok=True)
    return ShardResult(
        index=job.index,
        count=job.count,
        host=host,
        exit_code=EXIT_INTERRUPTED if result.stopped_early else EXIT_OK,
        error=sink.error,
        summary=summary,
        jsonl=jsonl,
        jsonl_path=str(path) if job.jsonl_dir is not None else None,
    )


async def _run(
    plan: RunPlan, path: Path, start_at_unix_s: float, tasks: Sequence[ShardTask]
) -> tuple[RunResult, JsonlSink, float]:
    sink = JsonlSink(path)
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        async with open_engine(plan, sink=sink) as engine:
            for task in tasks:
                nursery.start_soon(task, engine)
            with trio.move_on_after(max(start_at_unix_s - time.time(), 0.0)):
                await engine.wait_stop_requested()
            skew_ms = round((time.time() - start_at_unix_s) * 1000, 3)
            result = await engine.run()
        nursery.cancel_scope.cancel()
    return result, sink, skew_ms
