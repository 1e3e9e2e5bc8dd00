"""The one cattrs converter for profiles, and the rules of conversion.

Rules:
- Scalars are strict: an int field refuses 12.9, "12" and true; a str field
  refuses 42; a float field takes ints. (cattrs' default hooks coerce
  silently, which would let a typo change a benchmark.)
- Unknown keys are errors, except keys beginning with `_` (comments), which
  are dropped before conversion; `$schema` is allowed at the top level.
- Durations are strings with units; stages are objects or strings; content
  blocks are tagged by `mode`, token-count distributions by `dist`; `turns`
  and `think_time` take a value or a `{min, max}` range.
- Lists must be lists (a string is never read as a list of characters) and
  hold at most `MAX_ITEMS` items; strings hold at most `MAX_TEXT_CHARS`
  characters; numbers are finite (`_limits` has every limit).
- Every problem is collected (detailed validation) and reported by
  `problems_of()` as `path: message` lines, all at once.

Pure; no I/O.
"""

from __future__ import annotations

import difflib
import math
import typing
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn

from loadtest.config._lengths import DISTS, TokenCount
from loadtest.config._limits import MAX_ITEMS, MAX_TEXT_CHARS
from loadtest.config._model import (
    CONTENT_MODES,
    ClosedStage,
    Content,
    FieldError,
    OpenStage,
    Profile,
    Stage,
    ThinkTime,
    Turns,
)
from loadtest.config._stages import parse_stage
from loadtest.config._units import Duration, DurationRange, IntRange, parse_duration

if typing.TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "converter",
    "key_path",
    "problems_of",
    "structure_profile",
    "unstructure_profile",
]


class _Problem(ValueError):
    """A conversion problem located `suffix` below where it was raised."""

    def __init__(self, message: str, suffix: str = "") -> None:
        self.message = message
        self.suffix = suffix
        super().__init__(message)


_SHOW_CHARS = 60


def _show(value: Any) -> str:
    """A value as it looked in the profile (JSON spelling)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        text = value if len(value) <= _SHOW_CHARS else value[:_SHOW_CHARS] + "..."
        return '"' + text.replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _expect(kind: str, value: Any) -> _Problem:
    return _Problem(f"expected {kind}, got {_show(value)}")


# --- scalar hooks ------------------------------------------------------------


def _int(value: Any, _type: Any) -> int:
    if type(value) is not int:
        raise _expect("an integer", value)
    return value


def _float(value: Any, _type: Any) -> float:
    if type(value) not in (int, float):
        raise _expect("a number", value)
    if not math.isfinite(value):
        raise _expect("a finite number", value)
    return float(value)


def _str(value: Any, _type: Any) -> str:
    if type(value) is not str:
        raise _expect("a string", value)
    if len(value) > MAX_TEXT_CHARS:
        raise _Problem(f"a string is at most {MAX_TEXT_CHARS:,} characters, got {len(value):,}")
    return value


def _list(value: Any) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise _expect("a list", value)
    if len(value) > MAX_ITEMS:
        raise _Problem(f"a list holds at most {MAX_ITEMS:,} items, got {len(value):,}")
    return value


def _bool(value: Any, _type: Any) -> bool:
    if type(value) is not bool:
        raise _expect("true or false", value)
    return value


def _duration(value: Any, _type: Any) -> Duration:
    if type(value) is not str:
        raise _expect('a duration string like "250ms", "1.5s", "2m" or "1h"', value)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _Problem(str(exc)) from None


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _expect(what, value)
    return value


def _range(value: Any, item: Callable[[Any, Any], Any], kind: str) -> tuple[Any, Any]:
    obj = _mapping(value, f"{kind} or {{min, max}}")
    keys = {k for k in obj if not k.startswith("_")}
    if keys != {"min", "max"}:
        extra = sorted(keys - {"min", "max"})
        missing = sorted({"min", "max"} - keys)
        detail = f"unknown key {_show(extra[0])}" if extra else f"missing {missing[0]!r}"
        raise _Problem(f"a range is {{min, max}}; {detail}")
    bounds = []
    for key in ("min", "max"):
        try:
            bounds.append(item(obj[key], None))
        except _Problem as exc:
            raise _Problem(exc.message, "." + key) from None
    return bounds[0], bounds[1]


def _turns(value: Any, _type: Any) -> Turns:
    if isinstance(value, dict):
        low, high = _range(value, _int, "an integer")
        return IntRange(low, high)
    if type(value) is not int:
        raise _expect("an integer or {min, max}", value)
    return value


def _think_time(value: Any, _type: Any) -> ThinkTime:
    if isinstance(value, dict):
        low, high = _range(value, _duration, "a duration")
        return DurationRange(low, high)
    return _duration(value, None)


def _literal(type_: Any) -> Callable[[Any, Any], Any]:
    choices = get_args(type_)

    def structure(value: Any, _type: Any) -> Any:
        if value not in choices or type(value) is not str:
            raise _Problem(f"expected one of {', '.join(choices)}; got {_show(value)}")
        return value

    return structure


def _text_tuple(value: Any, _type: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise _expect("a list of strings", value)
    for index, item in enumerate(_list(value)):
        if type(item) is not str:
            raise _Problem(f"expected a string, got {_show(item)}", f"[{index}]")
    return tuple(value)


def _is_list_type(type_: Any) -> bool:
    return get_origin(type_) is tuple and get_args(type_)[1:] == (...,) and type_ != tuple[str, ...]


def _list_hook(type_: Any) -> Callable[[Any, Any], Any]:
    """Any other `tuple[X, ...]`: a list (not a string, which cattrs would
    read one character at a time) of at most MAX_ITEMS items."""
    inner = homogenous_tuple_structure_factory(type_, converter)

    def structure(value: Any, _type: Any) -> Any:
        return inner(_list(value), _type)

    return structure


def _str_dict(value: Any, _type: Any) -> dict[str, str]:
    obj = _mapping(value, "an object of strings")
    for key, item in obj.items():
        if type(item) is not str:
            raise _Problem(f"expected a string, got {_show(item)}", key_path(key))
    return dict(obj)


def _any_dict(value: Any, _type: Any) -> dict[str, Any]:
    return dict(_mapping(value, "an object"))


def key_path(key: str) -> str:
    """The path step of an object key in an error message: `.name`, or
    `["a name"]` when it is not an identifier."""
    return f".{key}" if key.isidentifier() else f"[{_show(key)}]"


# --- tagged and shaped blocks --------------------------------------------------

_MODES = ", ".join(CONTENT_MODES)


def _content(value: Any, _type: Any) -> Content:
    obj = _mapping(value, f'an object with "mode" ({_MODES})')
    if "mode" not in obj:
        raise _Problem(f'missing "mode" (one of {_MODES})')
    mode = obj["mode"]
    if mode not in CONTENT_MODES or type(mode) is not str:
        raise _Problem(f"expected one of {_MODES}; got {_show(mode)}", ".mode")
    body = {key: item for key, item in obj.items() if key != "mode"}
    return converter.structure(body, CONTENT_MODES[mode])


_DISTS = ", ".join(DISTS)


def _token_count(value: Any, _type: Any) -> TokenCount:
    if not isinstance(value, dict):
        if type(value) is not int:
            raise _Problem(
                f'expected an integer, got {_show(value)} (or a distribution {{"dist": ...}}: '
                f"{_DISTS})"
            )
        return value
    obj = {key: item for key, item in value.items() if not key.startswith("_")}
    if "dist" not in obj:
        raise _Problem(f'a distribution needs "dist" (one of {_DISTS})')
    dist = obj.pop("dist")
    if dist not in DISTS or type(dist) is not str:
        raise _Problem(f"expected one of {_DISTS}; got {_show(dist)}", ".dist")
    return converter.structure(obj, DISTS[dist])


def _stage(value: Any, _type: Any) -> Stage:
    if isinstance(value, str):
        try:
            return parse_stage(value)
        except ValueError as exc:
            raise _Problem(str(exc)) from None
    obj = _mapping(value, 'a stage object or a string like "100:60s" or "@200:60s"')
    closed, open_ = "concurrency" in obj, "rate" in obj
    if closed and open_:
        raise _Problem('a stage has "concurrency" (closed loop) or "rate" (open loop), not both')
    if not (closed or open_):
        raise _Problem('a stage needs "concurrency" (closed loop) or "rate" (open loop)')
    if closed:
        return converter.structure(obj, ClosedStage)
    return converter.structure(obj, OpenStage)


_CUSTOM_CLASSES = (Duration, IntRange, DurationRange)


def _attrs_hook(cls: type[Any]) -> Callable[[Any, Any], Any]:
    inner = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)
    name = cls.__name__

    def structure(value: Any, type_: Any) -> Any:
        obj = _mapping(value, f"an object ({name})")
        kept = {k: v for k, v in obj.items() if not k.startswith("_")}
        if cls is Profile:
            kept.pop("$schema", None)
        return inner(kept, type_)

    return structure


def _equals(expected: Any) -> Callable[[Any], bool]:
    def predicate(type_: Any) -> bool:
        return bool(type_ == expected)

    return predicate


def _is_literal(type_: Any) -> bool:
    return get_origin(type_) is Literal


def _is_optional_of(type_: Any) -> bool:
    return get_origin(type_) in (typing.Union, type(int | None)) and type(None) in get_args(type_)


def _optional_hook(type_: Any) -> Callable[[Any, Any], Any]:
    others = tuple(arg for arg in get_args(type_) if arg is not type(None))
    target: Any = others[0] if len(others) == 1 else typing.Union[others]  # noqa: UP007

    def structure(value: Any, _type: Any) -> Any:
        return None if value is None else converter.structure(value, target)

    return structure


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    for cls, class_hook in ((int, _int), (float, _float), (str, _str), (bool, _bool)):
        conv.register_structure_hook(cls, class_hook)
    conv.register_structure_hook(Duration, _duration)
    for type_, hook in (
        (Turns, _turns),
        (ThinkTime, _think_time),
        (Content, _content),
        (TokenCount, _token_count),
        (Stage, _stage),
        (tuple[str, ...], _text_tuple),
        (dict[str, str], _str_dict),
        (dict[str, Any], _any_dict),
    ):
        # Predicates, not singledispatch: a union registered by class would
        # capture each of its members (int would take the `turns` hook).
        conv.register_structure_hook_func(_equals(type_), hook)
    conv.register_structure_hook_factory(_is_list_type, _list_hook)
    conv.register_structure_hook_factory(_is_literal, _literal)
    conv.register_structure_hook_factory(_is_optional_of, _optional_hook)
    conv.register_structure_hook_factory(
        lambda t: attrs.has(t) and t not in _CUSTOM_CLASSES, _attrs_hook
    )
    conv.register_unstructure_hook(Duration, str)
    conv.register_unstructure_hook_factory(
        lambda t: attrs.has(t) and t not in (Duration,), lambda t: _unstructure_attrs
    )
    return conv


def _unstructure_attrs(obj: Any) -> dict[str, Any]:
    """Fields in declaration order, `None` (unset) left out; content blocks
    lead with their `mode`, distributions with their `dist`."""
    out: dict[str, Any] = {}
    for mode, content_cls in CONTENT_MODES.items():
        if type(obj) is content_cls:
            out["mode"] = mode
    for dist, dist_cls in DISTS.items():
        if type(obj) is dist_cls:
            out["dist"] = dist
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        if value is not None:
            out[field.name] = converter.unstructure(value)
    return out


converter = _make_converter()


# --- reading errors back ---------------------------------------------------------


def problems_of(exc: BaseException, path: str = "$") -> list[str]:
    """Every problem inside a (detailed) cattrs error, as `path: message`."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        lines: list[str] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            step = f".{note.name}" if hasattr(note, "name") else _index_path(note.index)
            lines.extend(problems_of(sub, path + step))
        for sub in without:
            lines.extend(problems_of(sub, path))
        return lines
    return [_one_problem(exc, path)]


def _index_path(index: Any) -> str:
    return f"[{index}]" if isinstance(index, int) else key_path(str(index))


def _one_problem(exc: BaseException, path: str) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        allowed = [a.name for a in attrs.fields(exc.cl)] if exc.cl is not None else []
        return "\n".join(
            f"{path}{key_path(key)}: unknown key{_suggest(key, allowed)}"
            for key in sorted(exc.extra_fields)
        )
    if isinstance(exc, _Problem):
        return f"{path}{exc.suffix}: {exc.message}"
    if isinstance(exc, FieldError):
        return f"{path}.{exc.field}: {exc.message}"
    if isinstance(exc, KeyError):
        return f"{path}: required key missing"
    return f"{path}: {exc}"


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def structure_profile(data: Any) -> Profile:
    """Convert parsed JSON/TOML into a `Profile`; raise ValueError whose
    `args[0]` is the list of `path: message` problems."""
    try:
        return converter.structure(data, Profile)
    except Exception as exc:
        lines = [line for problem in problems_of(exc) for line in problem.splitlines()]
        raise ValueError(lines) from exc


def unstructure_profile(profile: Profile) -> dict[str, Any]:
    """A `Profile` as plain data (what `dump_profile` writes)."""
    data: dict[str, Any] = converter.unstructure(profile)
    return data
