"""The profile model's field helpers: a field with its documentation, and
the validators of one field.

Rules:
- `_doc` makes an attrs field that carries its `doc` in its metadata: the
  JSON Schema and the documentation test read it.
- A validator checks one value and raises `FieldError` naming the field,
  so the loader can report the exact path; one with a `schema` attribute
  gives the JSON Schema keywords `_schema` adds for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from loadtest.config import _checks as check
from loadtest.config import _limits as limit
from loadtest.config._checks import FieldError
from loadtest.config._slo import parse_slos
from loadtest.config._units import IntRange

if TYPE_CHECKING:
    from collections.abc import Callable


def _doc(doc: str, **kwargs: Any) -> Any:
    return attrs.field(metadata={"doc": doc}, **kwargs)


def _at_least(low: float) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value < low:
            raise FieldError(attribute.name, f"must be at least {low:g}, got {value!r}")

    check.schema = {"minimum": low}  # type: ignore[attr-defined]  # read by _schema
    return check


def _positive_duration(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value.us <= 0:
        raise FieldError(attribute.name, f"must be longer than 0, got {value}")


def _non_empty_texts(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise FieldError(attribute.name, "must hold at least one text")
    if len(value) > limit.MAX_ITEMS:
        raise FieldError(attribute.name, f"at most {limit.MAX_ITEMS:,} texts, got {len(value):,}")
    for index, text in enumerate(value):
        if not text.strip():
            raise FieldError(f"{attribute.name}[{index}]", "must not be empty")
        if len(text) > limit.MAX_TEXT_CHARS:
            raise FieldError(
                f"{attribute.name}[{index}]",
                f"at most {limit.MAX_TEXT_CHARS:,} characters, got {len(text):,}",
            )
        if check.has_surrogate(text):
            raise FieldError(
                f"{attribute.name}[{index}]", "holds a lone surrogate, which is not text"
            )


_non_empty_texts.schema = {  # type: ignore[attr-defined]  # read by _schema
    "maxItems": limit.MAX_ITEMS,
    "items": {"type": "string", "maxLength": limit.MAX_TEXT_CHARS},
}


def _slo_texts(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if len(value) > limit.MAX_ITEMS:
        raise FieldError(attribute.name, f"at most {limit.MAX_ITEMS:,} items, got {len(value):,}")
    try:
        parse_slos(value)
    except ValueError as exc:
        raise FieldError(attribute.name, str(exc)) from None


_slo_texts.schema = {"maxItems": limit.MAX_ITEMS}  # type: ignore[attr-defined]  # read by _schema


def _turns(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    low = value.min if isinstance(value, IntRange) else value
    high = value.max if isinstance(value, IntRange) else value
    if low is not None and low < 1:
        raise FieldError(attribute.name, f"a conversation has at least 1 turn, got {low}")
    if high is not None and high > limit.MAX_TURNS:
        raise FieldError(
            attribute.name, f"a conversation has at most {limit.MAX_TURNS:,} turns, got {high}"
        )
