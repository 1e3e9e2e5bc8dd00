"""The summary document's converter, and the classes it converts.

Rules:
- The classes (report/_document_classes.py, with the goodput and sweep
  documents of report/_goodput_doc.py) are re-exported here: this is where
  the summary's documents are imported from.
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
  the summary's `thresholds`; `goodput`, `run.slo` and `sweep`, which only
  runs with SLOs and sweeps have) is omitted, never written as null; so is
  a second's `good` when 0.

Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from loadtest.config import conversion_problems
from loadtest.report._document_classes import (
    SHARED_COUNTERS,
    CacheDoc,
    CachePart,
    LimitsDoc,
    MetricDoc,
    Number,
    RunDoc,
    SecondDoc,
    SecondMetricDoc,
    StageDoc,
    StatsDoc,
    SummaryDoc,
    TargetDoc,
    TokensDoc,
)
from loadtest.report._goodput_doc import GoodputDoc, KneeDoc, ProbeDoc, ProbeKind, SweepDoc

__all__ = [
    "SHARED_COUNTERS",
    "CacheDoc",
    "CachePart",
    "GoodputDoc",
    "KneeDoc",
    "LimitsDoc",
    "MetricDoc",
    "ProbeDoc",
    "RunDoc",
    "SecondDoc",
    "SecondMetricDoc",
    "StageDoc",
    "StatsDoc",
    "SummaryDoc",
    "SweepDoc",
    "TargetDoc",
    "TokensDoc",
    "read_stats",
    "summary_converter",
    "summary_problems",
]


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


def _probe_kind(value: Any, _type: Any) -> str:
    if value not in ("baseline", "ceiling", "rate"):
        raise _Expected('"baseline", "ceiling" or "rate"', value)
    return str(value)


def _texts(value: Any, _type: Any) -> list[str]:
    if not (isinstance(value, list) and all(isinstance(t, str) for t in value)):
        raise _Expected("a list of strings", value)
    return list(value)


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
    StatsDoc: ("goodput",),
    StageDoc: ("ramp_to", "requests", "vus"),
    RunDoc: (
        "run_ids",
        "seeds",
        "slo",
        "segment",
        "segments",
        "partial",
        "missing_segments",
    ),
    SummaryDoc: ("thresholds", "sweep"),
}
#: Counters omitted from the JSON when 0 (a run without SLOs has no good turns).
_OMITTED_IF_ZERO: dict[type[Any], tuple[str, ...]] = {SecondDoc: ("good",)}


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True)
    conv.register_structure_hook(int, _integer)
    conv.register_structure_hook(str, _text)
    conv.register_structure_hook(bool, _truth)
    for type_, hook in (
        (dict[str, Any], _object),
        (Literal["closed", "open"], _mode),
        (ProbeKind, _probe_kind),
        (list[str], _texts),
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
        TokensDoc,
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
        GoodputDoc,
        ProbeDoc,
        KneeDoc,
        SweepDoc,
    )
    conv.register_structure_hook_factory(lambda t: t in documents, _object_hook)
    optional = tuple(
        t | None for t in (*documents, list[Any], list[str], dict[str, int], dict[str, str])
    )
    conv.register_structure_hook_factory(lambda t: t in optional, _optional_object_hook)
    lists = (
        list[Any],
        list[StatsDoc],
        list[StageDoc],
        list[TargetDoc],
        list[SecondDoc],
        list[ProbeDoc],
    )
    conv.register_structure_hook_factory(lambda t: t in lists, _list_hook)
    # inner documents first: a hook is built with those of its fields' types
    for cls in {**_OMITTED_IF_ZERO, **_OMITTED_IF_NONE}:
        conv.register_unstructure_hook(cls, _omitting(cls, conv))
    return conv


def _omitting(cls: type[Any], conv: cattrs.Converter) -> Callable[[Any], dict[str, Any]]:
    """Unstructure `cls` leaving out its fields of `_OMITTED_IF_NONE` when
    None and of `_OMITTED_IF_ZERO` when 0 (the other keys in field order:
    cattrs' own omission would move them last)."""
    inner = make_dict_unstructure_fn(cls, conv)
    if_none = _OMITTED_IF_NONE.get(cls, ())
    if_zero = _OMITTED_IF_ZERO.get(cls, ())

    def unstructure(doc: Any) -> dict[str, Any]:
        data: dict[str, Any] = inner(doc)
        for name in if_none:
            if data[name] is None:
                del data[name]
        for name in if_zero:
            if data[name] == 0:
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
