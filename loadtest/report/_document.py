"""The summary document's classes, defined once, and its converter.

Rules:
- `StatsDoc` is one statistics object of the summary (a scenario of a
  stage, or the stage total) as JSON holds it; `MetricDoc` one latency-type
  statistic (ms); `CacheDoc` the prompt cache split. Their fields, in
  order, are the keys of the JSON object, in order: nothing else spells
  them out.
- `summary_converter` (cattrs) writes them as plain data and reads them
  back. Reading is lenient where summaries differ by age and strict about
  types: a field with a default may be absent (summaries written before it
  existed), an unknown key is ignored (summaries written after), a value of
  the wrong type is a problem named by its `$` path.
- `SummaryDoc`, `RunDoc` and `StageDoc` (with `TargetDoc`, `LimitsDoc`)
  are the whole summary: `build_summary` and `merge` build them and write
  them through `summary_converter`, and `check_summary` structures a
  document read from disk into them and reports every problem. A field
  that is None and written only by some runs (`vus`, `run_ids`, `seeds`,
  the summary's `thresholds`) is omitted, never written as null.
- Counters shared with `StatsSnapshot` (same name, an integer) are copied
  by name (`SHARED_COUNTERS`), never listed.

Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from loadtest.config import conversion_problems
from loadtest.metrics import COUNTERS

__all__ = [
    "SHARED_COUNTERS",
    "CacheDoc",
    "CachePart",
    "LimitsDoc",
    "MetricDoc",
    "RunDoc",
    "SecondDoc",
    "SecondMetricDoc",
    "StageDoc",
    "StatsDoc",
    "SummaryDoc",
    "TargetDoc",
    "read_stats",
    "summary_converter",
    "summary_problems",
]

Number = int | float


@attrs.frozen(kw_only=True)
class MetricDoc:
    """One latency-type statistic in ms: min, mean, percentiles, max; and
    how many values (every figure null when there were none)."""

    min: Number | None
    mean: Number | None
    p50: Number | None
    p90: Number | None
    p95: Number | None
    p99: Number | None
    p999: Number | None
    max: Number | None
    count: Number | None


@attrs.frozen(kw_only=True)
class CachePart:
    """The prompt cache's figures of first turns, or of later turns."""

    turns: int
    prompt_tokens: int
    cached_tokens: int
    cached_share: Number | None = None
    cached_turns: int


@attrs.frozen(kw_only=True)
class CacheDoc:
    first_turns: CachePart
    later_turns: CachePart


@attrs.frozen(kw_only=True)
class StatsDoc:
    """One statistics object of the summary (docs/reports.md defines each key)."""

    label: str
    requests: int
    ok: int
    failed: int | None = None
    interrupted: int
    warmup_turns: int
    dropped: int
    error_rate: Number | None
    throughput_rps: Number | None
    ok_rps: Number | None
    output_tokens_per_s: Number | None
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    estimated_turns: int
    cache: CacheDoc | None = None
    retries: int = 0
    errors: dict[str, int]
    status_codes: dict[str, int]
    unanswered: int = 0
    latency_ms: MetricDoc
    ttfb_ms: MetricDoc
    ttft_ms: MetricDoc
    itl_ms: MetricDoc
    tpot_ms: MetricDoc
    schedule_lag_ms: MetricDoc
    latency_corrected_ms: MetricDoc
    ttft_corrected_ms: MetricDoc
    chunk_gap_ms: MetricDoc | None = None
    stream_tail_ms: MetricDoc | None = None
    unanswered_wait_ms: MetricDoc | None = None
    histograms: dict[str, str] = attrs.Factory(dict)
    overflow: dict[str, int] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class TargetDoc:
    """One scenario's target as the run object lists it (its URL masked)."""

    scenario: str
    protocol: str
    model: str
    url: str
    weight: Number
    stream: bool


@attrs.frozen(kw_only=True)
class LimitsDoc:
    """The limits a run was checked against: on each stage's total, and per
    scenario (only those that set any)."""

    total: dict[str, Any]
    scenarios: dict[str, Any]


@attrs.frozen(kw_only=True)
class RunDoc:
    """The summary's `run` object. A field with a default may be absent
    from a summary written before it existed; `run_ids` and `seeds` are
    written only by `merge`, `segment` only by a shard, `segments`,
    `partial` and `missing_segments` only by a merge of segments (each
    omitted when None)."""

    tool: str = "loadtest"
    version: str = ""
    run_id: str | None = None
    profile: str
    seed: Any = None
    started_at: str
    ended_at: str
    started_unix_s: Number
    ended_unix_s: Number
    stopped_early: bool
    stage_plan: list[Any]
    cache_mode: str | None = None
    warmup_s: Number
    targets: list[TargetDoc] = attrs.Factory(list)
    thresholds: LimitsDoc | None = None
    shards: int
    jsonl_lines: int = 0
    sink_overflow: int = 0
    retries: int = 0
    jsonl_lost_lines: int = 0
    generator: dict[str, Any] = attrs.Factory(dict)
    run_ids: list[Any] | None = None
    seeds: list[Any] | None = None
    #: A shard's execution segment, "K/N" (0-based K): `run --segment`, a worker.
    segment: str | None = None
    #: A merged run of segments: the segments it holds, in order.
    segments: list[Any] | None = None
    #: A merged run missing some segments (`merge --partial`, a dead worker).
    partial: bool | None = None
    #: Each missing segment ("K/N") and why it is missing.
    missing_segments: dict[str, str] | None = None


@attrs.frozen(kw_only=True)
class SecondMetricDoc:
    """One latency-type statistic of one second, ms (null when no value)."""

    p50: Number | None
    p90: Number | None
    p99: Number | None
    count: int


@attrs.frozen(kw_only=True)
class SecondDoc:
    """One wall-clock second of a stage's time series (docs/reports.md,
    "Time series"); `t` is the whole Unix second it starts at."""

    t: int
    started: int
    finished: int
    in_flight: int
    requests: int
    ok: int
    errors: dict[str, int]
    output_tokens: int
    latency_ms: SecondMetricDoc
    ttft_ms: SecondMetricDoc
    itl_ms: SecondMetricDoc
    histograms: dict[str, str] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class StageDoc:
    """One stage of a summary; `vus` (closed stages) is omitted when None."""

    index: int
    mode: Literal["closed", "open"]
    concurrency: Number | None
    rate: Number | None
    duration_s: Number
    warmup_s: Number
    steady_s: Number
    started_at: str
    ended_at: str
    stopped_early: bool = False
    vus: dict[str, int] | None = None
    total: StatsDoc
    scenarios: list[StatsDoc]
    health: dict[str, Any] = attrs.Factory(dict)
    timeseries: list[SecondDoc] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class SummaryDoc:
    """The whole summary. `thresholds` (the verdicts) is omitted when None:
    a merged summary has none until they are evaluated again."""

    schema: str
    run: RunDoc
    stages: list[StageDoc]
    thresholds: list[Any] | None = None


#: The counters of a `StatsSnapshot` that the summary holds under the same name.
SHARED_COUNTERS: tuple[str, ...] = tuple(
    name for name in COUNTERS if name in attrs.fields_dict(StatsDoc)
)


class _Expected(ValueError):
    """A value of the wrong type: `expected <what>, got <value>`."""

    def __init__(self, what: str, value: object) -> None:
        super().__init__(f"expected {what}, got {value!r:.60}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: Any, _type: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Expected("an integer", value)
    return value


def _truth(value: Any, _type: Any) -> bool:
    if not isinstance(value, bool):
        raise _Expected("true or false", value)
    return value


def _object(value: Any, _type: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Expected("an object", value)
    return dict(value)


def _list_hook(type_: Any) -> Any:
    (item,) = type_.__args__

    def structure(value: Any, _type: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _Expected("a list", value)
        if item is Any:
            return value
        items, errors = [], []
        for index, element in enumerate(value):
            try:
                items.append(summary_converter.structure(element, item))
            except Exception as exc:  # noted with its index, as cattrs does
                note = IterableValidationNote(f"Structuring @ index {index}", index, item)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return items

    return structure


def _truth_or_null(value: Any, _type: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise _Expected("true, false or null", value)
    return value


def _mode(value: Any, _type: Any) -> str:
    if value not in ("closed", "open"):
        raise _Expected('"closed" or "open"', value)
    return str(value)


def _number(value: Any, _type: Any) -> Any:
    if not _is_number(value):
        raise _Expected("a number", value)
    return value


def _number_or_null(value: Any, _type: Any) -> Any:
    if value is not None and not _is_number(value):
        raise _Expected("a number or null", value)
    return value


def _text(value: Any, _type: Any) -> str:
    if not isinstance(value, str):
        raise _Expected("a string", value)
    return value


def _counts(value: Any, _type: Any) -> dict[str, int]:
    counts = isinstance(value, Mapping) and all(
        isinstance(n, int) and not isinstance(n, bool) for n in value.values()
    )
    if not counts:
        raise _Expected("an object of counts", value)
    return dict(value)


def _encodings(value: Any, _type: Any) -> dict[str, str]:
    if not (isinstance(value, Mapping) and all(isinstance(t, str) for t in value.values())):
        raise _Expected("an object of HDR encodings", value)
    return dict(value)


def _object_hook(cls: type[Any]) -> Any:
    inner = make_dict_structure_fn(cls, summary_converter)

    def structure(value: Any, type_: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _Expected("an object", value)
        return inner(value, type_)

    return structure


def _optional_object_hook(type_: Any) -> Any:
    (cls,) = (arg for arg in type_.__args__ if arg is not type(None))

    def structure(value: Any, _type: Any) -> Any:
        return None if value is None else summary_converter.structure(value, cls)

    return structure


def _equals(wanted: object) -> Callable[[object], bool]:
    def predicate(type_: object) -> bool:
        return bool(type_ == wanted)

    return predicate


def _text_or_null(value: Any, _type: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _Expected("a string or null", value)
    return value


#: Fields omitted from the JSON when None (see the module rules).
_OMITTED_IF_NONE: dict[type[Any], tuple[str, ...]] = {
    StageDoc: ("vus",),
    RunDoc: ("run_ids", "seeds", "segment", "segments", "partial", "missing_segments"),
    SummaryDoc: ("thresholds",),
}


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True)
    conv.register_structure_hook(int, _integer)
    conv.register_structure_hook(str, _text)
    conv.register_structure_hook(bool, _truth)
    for type_, hook in (
        (dict[str, Any], _object),
        (Literal["closed", "open"], _mode),
        (Number, _number),
        (int | None, _number_or_null),
        (str | None, _text_or_null),
        (bool | None, _truth_or_null),
        (Number | None, _number_or_null),
        (dict[str, int], _counts),
        (dict[str, str], _encodings),
    ):
        conv.register_structure_hook_func(_equals(type_), hook)
    documents = (
        MetricDoc,
        CachePart,
        CacheDoc,
        StatsDoc,
        TargetDoc,
        LimitsDoc,
        RunDoc,
        SecondMetricDoc,
        SecondDoc,
        StageDoc,
        SummaryDoc,
    )
    conv.register_structure_hook_factory(lambda t: t in documents, _object_hook)
    optional = tuple(t | None for t in (*documents, list[Any], dict[str, int], dict[str, str]))
    conv.register_structure_hook_factory(lambda t: t in optional, _optional_object_hook)
    lists = (list[Any], list[StatsDoc], list[StageDoc], list[TargetDoc], list[SecondDoc])
    conv.register_structure_hook_factory(lambda t: t in lists, _list_hook)
    for cls, names in _OMITTED_IF_NONE.items():
        conv.register_unstructure_hook(cls, _omitting(cls, names, conv))
    return conv


def _omitting(
    cls: type[Any], names: tuple[str, ...], conv: cattrs.Converter
) -> Callable[[Any], dict[str, Any]]:
    """Unstructure `cls` leaving out `names` when None (the other keys in
    field order: cattrs' own omission would move them last)."""
    inner = make_dict_unstructure_fn(cls, conv)

    def unstructure(doc: Any) -> dict[str, Any]:
        data: dict[str, Any] = inner(doc)
        for name in names:
            if data[name] is None:
                del data[name]
        return data

    return unstructure


summary_converter = _make_converter()


def read_stats(doc: object) -> StatsDoc:
    """One statistics object read back; ValueError naming each problem."""
    try:
        stats: StatsDoc = summary_converter.structure(doc, StatsDoc)
    except Exception as exc:  # cattrs groups them; each is one problem
        problems = _problems(exc, "$")
        more = f"; ... and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise ValueError("; ".join(problems[:3]) + more) from None
    return stats


def _problems(exc: Exception, where: str) -> list[str]:
    return [_worded(line) for line in conversion_problems(exc, where)]


def summary_problems(doc: object) -> list[str]:
    """Every problem of a summary read from disk (its schema id checked
    already), each naming its `$` path: `missing key <path>` or
    `<path>: expected ..., got ...`."""
    try:
        summary_converter.structure(doc, SummaryDoc)
    except Exception as exc:  # cattrs groups them; each is one problem
        return _problems(exc, "$")
    return []


def _worded(problem: str) -> str:
    path, missing, _ = problem.partition(": required key missing")
    return f"missing key {path}" if missing else problem
