"""`merge`: the exact merge of the summaries of several shards of ONE run
(processes or hosts that ran the same plan at the same time).

Rules:
- Refused (ConfigError naming the difference) unless every summary has
  the same `schema`, profile name, stage plan (`run.stage_plan`), warm-up,
  cache mode, SLOs (`run.slo`), number of stages, scenario names in the
  same order, and scenarios (protocol, model, stream, weight).
- Refused when a run would count twice: two summaries of the same run
  (`run.run_id`, or for a merged summary any of its `run.run_ids`; for a
  summary without one, its start time), e.g. one file given twice.
- Refused when a summary did not run at the same time as the first (their
  start-to-end spans do not overlap): shards of one run ran together.
  Shards stopped before their first stage (no stage, a zero-length span
  each) are not compared: they hold nothing to count twice.
- Exact where it can be: histograms are decoded from their encodings and
  added count for count; counters, `overflow`, token and error counts are
  summed; percentiles and rates are then recomputed by the same code that
  built the shards' summaries (`stats_from_json`, `merge_stats`,
  `stats_doc`).
- Windows: shards started together (`--start-at`) share their stages'
  windows, so their `steady_s` agree; if one differs (a shard stopped
  early), the merged stage takes the longest, so rates are never
  overstated. Stage start is the earliest, end the latest;
  `stopped_early` if any shard's was.
- Load: a merged stage's `concurrency`, `rate`, `ramp_to`, `requests` and
  `vus` are the sums of the shards' (the load the whole run offered). Its
  `ended_by` is the shards' when they agree, else the first of "stopped",
  "run-requests", "requests" that any shard has.
- Run: start = earliest, end = latest; `shards`, `jsonl_lines`,
  `sink_overflow`, `jsonl_lost_lines` and `retries` summed; `seed` kept if
  all agree (else null) and every shard's listed in `seeds`; every shard's
  run id listed in `run_ids` and `run_id` derived from them; other fields
  (targets, thresholds, version) from the first summary; `generator` keeps
  each shard's under `shards`.
- Time series: buckets of the same wall-clock second added, their
  histograms added count for count and their percentiles recomputed,
  `in_flight` recomputed (`merge_series`); a summary written before time
  series adds none.
- Generator health: the worst verdict (ok < suspect < generator-bound),
  each reason prefixed by the summary it came from, and each shard's own
  health kept under `shards`.
- Threshold results of the shards are not carried over: evaluate the
  merged document again (`evaluate_thresholds`).
- Execution segments (`run.segment`, or a merged run's `run.segments`):
  either every summary is one or more segments of N, or none is. A segment
  given twice is refused (its turns would count twice), and so is a missing
  one unless `partial`: the merged run then lists `segments` (those it
  holds), and is marked `partial` with each `missing_segments` and why.

Pure: summary dicts in, a summary dict out, built as the summary's
documents (`SummaryDoc`, `RunDoc`, `StageDoc`, `StatsDoc`) and written
through the summary converter, as `build_summary` writes them.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from loadtest.errors import ConfigError
from loadtest.metrics import Second, StatsSnapshot, merge_series, merge_stats
from loadtest.report._document import (
    RunDoc,
    SecondDoc,
    StageDoc,
    StatsDoc,
    SummaryDoc,
    summary_converter,
)
from loadtest.report._schema import SCHEMA
from loadtest.report._summary import series_docs, stats_doc, stats_from_json

__all__ = ["merge_summaries"]

Doc = Mapping[str, Any]

_RANK = {"ok": 0, "suspect": 1, "generator-bound": 2}


def _iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="milliseconds")


def _iso_unix(unix_s: float) -> str:
    return _iso(datetime.datetime.fromtimestamp(unix_s, tz=datetime.UTC))


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def _identity(doc: Doc) -> list[tuple[str, object]]:
    """What must be equal for two summaries to be shards of one run."""
    run = doc["run"]
    return [
        ("schema", doc.get("schema")),
        ("profile", run["profile"]),
        ("stage plan", ",".join(run["stage_plan"])),
        ("warm-up", run["warmup_s"]),
        ("number of stages", len(doc["stages"])),
        ("cache mode", run.get("cache_mode")),
        ("SLOs", run.get("slo") or []),
        (
            "scenarios",
            [",".join(s["label"] for s in stage["scenarios"]) for stage in doc["stages"]],
        ),
        ("targets", [_target_text(target) for target in run.get("targets", [])]),
    ]


def _target_text(target: Doc) -> str:
    """A scenario's plan as merge compares it (not its URL: shards on other
    hosts may reach one gateway by other names)."""
    stream = "stream" if target.get("stream") else "no stream"
    return (
        f"{target.get('scenario')}: {target.get('protocol')} {target.get('model')} "
        f"{stream} weight {target.get('weight')}"
    )


def _run_ids(doc: Doc) -> list[str]:
    """The runs a summary holds: its `run_ids` (merged), its `run_id`, or
    (a summary written before run ids) its start time."""
    run = doc["run"]
    if "run_ids" in run:
        return [str(i) for i in run["run_ids"]]
    return [str(run.get("run_id") or f"started {run['started_unix_s']}")]


def _check_distinct(docs: Sequence[Doc], names: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for doc, name in zip(docs, names, strict=True):
        for run_id in _run_ids(doc):
            if run_id in seen:
                raise ConfigError(
                    f"{name}: the same run as {seen[run_id]} (run {run_id}); "
                    "merging it again would count its turns twice"
                )
            seen[run_id] = name


def _check_together(docs: Sequence[Doc], names: Sequence[str]) -> None:
    if not docs[0]["stages"]:
        return  # stopped before any stage (all of them: the stage count agrees)
    first = docs[0]["run"]
    for doc, name in zip(docs[1:], names[1:], strict=True):
        run = doc["run"]
        if run["started_unix_s"] > first["ended_unix_s"] or (
            first["started_unix_s"] > run["ended_unix_s"]
        ):
            raise ConfigError(
                f"{name}: ran {run['started_at']} to {run['ended_at']}, not at the same time "
                f"as {names[0]} ({first['started_at']} to {first['ended_at']}); "
                "only shards of one run merge"
            )


def _check_same(docs: Sequence[Doc], names: Sequence[str]) -> None:
    if docs[0].get("schema") != SCHEMA:
        raise ConfigError(f"{names[0]}: schema {docs[0].get('schema')!r} is not {SCHEMA!r}")
    _check_distinct(docs, names)
    first = _identity(docs[0])
    for doc, name in zip(docs[1:], names[1:], strict=True):
        for (what, mine), (_, theirs) in zip(first, _identity(doc), strict=True):
            if mine != theirs:
                raise ConfigError(
                    f"{name}: {what} {theirs!r} differs from {names[0]}'s {mine!r}; "
                    "only shards of one run merge"
                )
    _check_together(docs, names)


def _segments(doc: Doc) -> list[str] | None:
    """The segments a summary holds ("K/N"), or None (not a segment run)."""
    run = doc["run"]
    if "segments" in run:
        return [str(s) for s in run["segments"]]
    return [str(run["segment"])] if "segment" in run else None


def _segment_key(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    return int(count), int(index)


def _check_segments(
    docs: Sequence[Doc], names: Sequence[str], partial: bool, reasons: Mapping[str, str]
) -> tuple[list[str], dict[str, str]] | None:
    """The segments merged and those missing (with why), or None when no
    summary is a segment run; ConfigError for a mix, a duplicate, another
    count, or a missing segment without `partial`."""
    held = [_segments(doc) for doc in docs]
    if all(segments is None for segments in held):
        return None
    seen: dict[str, str] = {}
    for segments, name in zip(held, names, strict=True):
        if segments is None:
            raise ConfigError(
                f"{name}: not an execution segment (no run.segment), unlike the others; "
                "only the segments of one run merge"
            )
        for segment in segments:
            if segment in seen:
                raise ConfigError(
                    f"{name}: segment {segment} is also in {seen[segment]}; "
                    "merging it again would count its turns twice"
                )
            seen[segment] = name
    counts = {_segment_key(segment)[0] for segment in seen}
    if len(counts) > 1:
        raise ConfigError(
            f"segments of {' and '.join(map(str, sorted(counts)))} shards: "
            "only the segments of one plan merge"
        )
    (count,) = counts
    missing = [f"{k}/{count}" for k in range(count) if f"{k}/{count}" not in seen]
    why: dict[str, str] = {}
    for doc in docs:  # a partial merged run's reasons are kept
        why.update(doc["run"].get("missing_segments", {}))
    why.update(reasons)
    if missing and not partial:
        raise ConfigError(
            f"segment{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "missing: merge every segment of the run (or --partial to merge without them)"
        )
    return sorted(seen, key=_segment_key), {m: why.get(m, "not merged") for m in missing}


def _stats(docs: Iterable[Doc], where: str, names: Sequence[str]) -> list[StatsSnapshot]:
    snapshots = []
    for doc, name in zip(docs, names, strict=True):
        try:
            snapshots.append(stats_from_json(doc))
        except ValueError as exc:
            raise ConfigError(f"{name}: {where}.histograms: {exc}") from None
    return snapshots


def _merged_stats(
    docs: Sequence[Doc], where: str, names: Sequence[str], steady_s: float
) -> StatsDoc:
    try:
        merged = merge_stats(docs[0]["label"], _stats(docs, where, names))
    except ValueError as exc:  # histograms of different parameters
        raise ConfigError(f"{where}.histograms: {exc}") from None
    return stats_doc(merged, steady_s, goodput=any(doc.get("goodput") for doc in docs))


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    # Rounded: segments' rates (rate / N) add up to the rate, not 0.1 below.
    return round(sum(present), 9) if present else None


def _int_sum_or_none(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _vus(stages: Sequence[Doc]) -> dict[str, int]:
    vus: dict[str, int] = {}
    for stage in stages:
        for name, count in stage.get("vus", {}).items():
            vus[name] = vus.get(name, 0) + count
    return vus


def _shard_items(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each shard's own dict; a merged one contributes its `shards` list."""
    flat: list[Mapping[str, Any]] = []
    for item in items:
        flat += item.get("shards", [item])
    return flat


def _merge_health(healths: Sequence[Doc], names: Sequence[str]) -> dict[str, Any]:
    given = [(name, health) for name, health in zip(names, healths, strict=True) if health]
    if not given:
        return {}
    return {
        "verdict": max((h["verdict"] for _, h in given), key=lambda v: _RANK.get(v, 1)),
        "reasons": [f"{name}: {r}" for name, h in given for r in h.get("reasons", [])],
        "shards": _shard_items(h for _, h in given),
    }


def _series(stage: Doc) -> list[Second]:
    docs: list[SecondDoc] = summary_converter.structure(
        stage.get("timeseries", []), list[SecondDoc]
    )
    return [
        Second(
            t=doc.t,
            started=doc.started,
            finished=doc.finished,
            requests=doc.requests,
            ok=doc.ok,
            errors=doc.errors,
            output_tokens=doc.output_tokens,
            good=doc.good,
            histograms=doc.histograms,
        )
        for doc in docs
    ]


def _merged_series(stages: Sequence[Doc], where: str) -> list[SecondDoc]:
    try:
        return series_docs(merge_series(_series(stage) for stage in stages))
    except ValueError as exc:  # a malformed encoding, or of other parameters
        raise ConfigError(f"{where}.timeseries: {exc}") from None


def _merge_stage(stages: Sequence[Doc], index: int, names: Sequence[str]) -> StageDoc:
    first = stages[0]
    steady = max(stage["steady_s"] for stage in stages)
    where = f"$.stages[{index}]"
    return StageDoc(
        index=first["index"],
        mode=first["mode"],
        concurrency=_sum_or_none(stage["concurrency"] for stage in stages),
        rate=_sum_or_none(stage["rate"] for stage in stages),
        ramp_to=_sum_or_none(stage.get("ramp_to") for stage in stages),
        requests=_int_sum_or_none(stage.get("requests") for stage in stages),
        duration_s=first["duration_s"],
        warmup_s=first["warmup_s"],
        steady_s=steady,
        started_at=_iso(min(_parse(stage["started_at"]) for stage in stages)),
        ended_at=_iso(max(_parse(stage["ended_at"]) for stage in stages)),
        stopped_early=any(stage.get("stopped_early", False) for stage in stages),
        ended_by=_ended_by(stage.get("ended_by", "duration") for stage in stages),
        vus=_vus(stages) or None,
        total=_merged_stats([s["total"] for s in stages], f"{where}.total", names, steady),
        scenarios=[
            _merged_stats(
                [s["scenarios"][i] for s in stages], f"{where}.scenarios[{i}]", names, steady
            )
            for i in range(len(first["scenarios"]))
        ],
        health=_merge_health([stage.get("health") or {} for stage in stages], names),
        timeseries=_merged_series(stages, where),
    )


def _ended_by(reasons: Iterable[str]) -> str:
    """What ended a merged stage (see the module rules)."""
    found = set(reasons)
    if len(found) == 1:
        return found.pop()
    order = ("stopped", "run-requests", "requests", "duration")
    return next((r for r in order if r in found), min(found))


def _seeds(runs: Sequence[Doc]) -> list[Any]:
    return [seed for run in runs for seed in run.get("seeds", [run.get("seed")])]


def _merge_run(runs: Sequence[Doc]) -> RunDoc:
    started = min(run["started_unix_s"] for run in runs)
    ended = max(run["ended_unix_s"] for run in runs)
    seeds = _seeds(runs)
    generators = [run.get("generator") or {} for run in runs]
    run_ids = [run_id for run in runs for run_id in _run_ids({"run": run})]
    first: RunDoc = summary_converter.structure(runs[0], RunDoc)
    return attrs.evolve(
        first,
        run_id=hashlib.sha256(" ".join(sorted(run_ids)).encode()).hexdigest()[:32],
        run_ids=run_ids,
        seed=seeds[0] if len(set(map(repr, seeds))) == 1 else None,
        seeds=seeds,
        started_at=_iso_unix(started),
        ended_at=_iso_unix(ended),
        started_unix_s=started,
        ended_unix_s=ended,
        stopped_early=any(run["stopped_early"] for run in runs),
        shards=sum(run["shards"] for run in runs),
        jsonl_lines=sum(run.get("jsonl_lines", 0) for run in runs),
        sink_overflow=sum(run.get("sink_overflow", 0) for run in runs),
        retries=sum(run.get("retries", 0) for run in runs),
        jsonl_lost_lines=sum(run.get("jsonl_lost_lines", 0) for run in runs),
        generator={"shards": _shard_items(generators)} if any(generators) else {},
    )


def merge_summaries(
    docs: Sequence[Doc],
    names: Sequence[str] | None = None,
    *,
    partial: bool = False,
    missing_reasons: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The summary of the whole run from its shards' summaries (see the
    module rules). `names` (e.g. file names) label the summaries in errors
    and in merged health reasons; default "summary 1", "summary 2"...
    `partial` merges execution segments with some missing (why each is
    missing, "K/N" -> text, in `missing_reasons`; default "not merged").

    Raises ConfigError if no summary is given or they are not shards of one run."""
    if not docs:
        raise ConfigError("merge: no summaries given")
    labels = list(names) if names is not None else [f"summary {i + 1}" for i in range(len(docs))]
    _check_same(docs, labels)
    segments = _check_segments(docs, labels, partial, missing_reasons or {})
    stages = [
        _merge_stage([doc["stages"][i] for doc in docs], i, labels)
        for i in range(len(docs[0]["stages"]))
    ]
    run = _merge_run([doc["run"] for doc in docs])
    if segments is not None:
        held, missing = segments
        run = attrs.evolve(
            run,
            segment=None,
            segments=held,
            partial=True if missing else None,
            missing_segments=missing or None,
        )
    doc = SummaryDoc(schema=SCHEMA, run=run, stages=stages)
    merged: dict[str, Any] = summary_converter.unstructure(doc)
    return merged
