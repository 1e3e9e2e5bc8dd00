"""Validators of the profile model's fields: ranges, lengths, header rules.

Each raises `FieldError` naming the field, so the loader can report the exact
path, and carries a `schema` attribute with its JSON Schema keywords
(`minimum`, `maximum`, `maxLength`, ...), which `_schema` copies into the
profile's schema. The limits themselves are in `_limits`.

Pure; no I/O.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import orjson

from loadtest.config import _limits as limit
from loadtest.config._headers import (
    MAX_HEADERS,
    MAX_NAME_CHARS,
    MAX_VALUE_CHARS,
    TOKEN,
    header_name_problem,
    header_value_problem,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import attrs

__all__ = [
    "FieldError",
    "above",
    "between",
    "extra_body",
    "has_surrogate",
    "header_names",
    "headers",
    "items",
    "long_text",
    "ms",
    "name",
    "optional_header_name",
    "path",
    "tool_name",
    "tools",
    "url",
]


class FieldError(ValueError):
    """An invariant of one field failed; `field` is its name (or a dotted path
    below the object being built)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def above(low: float, high: float) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not low < value <= high:
            raise FieldError(
                attribute.name,
                f"must be greater than {number(low)} and at most {number(high)}, got {value!r}",
            )

    check.schema = {"exclusiveMinimum": low, "maximum": high}  # type: ignore[attr-defined]
    return check


def number(value: float) -> str:
    """A limit as a reader writes it: 1000000, 0.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def between(low: float, high: float) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not low <= value <= high:
            raise FieldError(
                attribute.name, f"must be from {number(low)} to {number(high)}, got {value!r}"
            )

    check.schema = {"minimum": low, "maximum": high}  # type: ignore[attr-defined]  # read by _schema
    return check


def text(max_chars: int, *, name: bool) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """A string of at most `max_chars`; a name must also be printable (no
    line breaks or control characters). No string may hold a lone surrogate."""

    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if len(value) > max_chars:
            raise FieldError(
                attribute.name, f"at most {max_chars:,} characters, got {len(value):,}"
            )
        if name and not value.isprintable():
            raise FieldError(attribute.name, "must not hold line breaks or control characters")
        if has_surrogate(value):
            raise FieldError(attribute.name, "holds a lone surrogate, which is not text")

    check.schema = {"maxLength": max_chars}  # type: ignore[attr-defined]  # read by _schema
    return check


def has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


name = text(limit.MAX_NAME_CHARS, name=True)
url = text(limit.MAX_URL_CHARS, name=True)
path = text(limit.MAX_URL_CHARS, name=True)
long_text = text(limit.MAX_TEXT_CHARS, name=False)
ms = between(0, limit.MAX_MS)


def optional_header_name(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    problem = header_name_problem(value) if value else None
    if problem is not None:
        raise FieldError(attribute.name, problem)


optional_header_name.schema = {  # type: ignore[attr-defined]  # read by _schema
    "pattern": f"^({TOKEN})?$",
    "maxLength": MAX_NAME_CHARS,
}


def header_names(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if len(value) > MAX_HEADERS:
        raise FieldError(attribute.name, f"at most {MAX_HEADERS} names, got {len(value)}")
    for index, name in enumerate(value):
        problem = header_name_problem(name, settable=False)
        if problem is not None:
            raise FieldError(f"{attribute.name}[{index}]", problem)


header_names.schema = {  # type: ignore[attr-defined]  # read by _schema
    "maxItems": MAX_HEADERS,
    "items": {"type": "string", "pattern": f"^{TOKEN}$", "maxLength": MAX_NAME_CHARS},
}


def headers(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if len(value) > MAX_HEADERS:
        raise FieldError(attribute.name, f"at most {MAX_HEADERS} headers, got {len(value)}")
    for name, text in value.items():
        problem = header_name_problem(name) or header_value_problem(name, text)
        if problem is not None:
            raise FieldError(attribute.name, problem)


headers.schema = {  # type: ignore[attr-defined]  # read by _schema
    "maxProperties": MAX_HEADERS,
    "propertyNames": {"pattern": f"^{TOKEN}$", "maxLength": MAX_NAME_CHARS},
    "additionalProperties": {"type": "string", "maxLength": MAX_VALUE_CHARS},
}


#: Body keys `extra_body` may not set: the request's measured shape (its
#: model, conversation, system prompt, streaming and tools) has its own fields.
RESERVED_BODY_KEYS: Final = (
    "model",
    "messages",
    "input",
    "system",
    "instructions",
    "stream",
    "tools",
    "tool_choice",
)


def extra_body(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Pass-through body fields: JSON, at most MAX_EXTRA_BODY_BYTES encoded,
    and none of `RESERVED_BODY_KEYS`."""
    if value is None:
        return
    for key in value:
        if key in RESERVED_BODY_KEYS:
            raise FieldError(
                f"{attribute.name}.{key}",
                "is set by loadtest from the scenario (model, content, system, stream, tools); "
                "extra_body may not override it",
            )
    try:
        size = len(orjson.dumps(value))
    except TypeError as exc:
        raise FieldError(attribute.name, f"must be JSON data ({exc})") from None
    if size > limit.MAX_EXTRA_BODY_BYTES:
        raise FieldError(
            attribute.name,
            f"at most {limit.MAX_EXTRA_BODY_BYTES:,} bytes of JSON, got {size:,}",
        )


extra_body.schema = {  # type: ignore[attr-defined]  # read by _schema
    "propertyNames": {"not": {"enum": list(RESERVED_BODY_KEYS)}},
}


_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]+")


def tool_name(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not 1 <= len(value) <= limit.MAX_TOOL_NAME_CHARS or not _TOOL_NAME.fullmatch(value):
        raise FieldError(
            attribute.name,
            f"a tool name is 1 to {limit.MAX_TOOL_NAME_CHARS} letters, digits, _ or -, "
            f"got {value!r}",
        )


tool_name.schema = {  # type: ignore[attr-defined]  # read by _schema
    "pattern": f"^[A-Za-z0-9_-]{{1,{limit.MAX_TOOL_NAME_CHARS}}}$",
    "maxLength": limit.MAX_TOOL_NAME_CHARS,
}


def tools(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """At most MAX_TOOLS tools, with distinct names."""
    if value is None:
        return
    if len(value) > limit.MAX_TOOLS:
        raise FieldError(attribute.name, f"at most {limit.MAX_TOOLS} tools, got {len(value)}")
    seen: dict[str, int] = {}
    for index, tool in enumerate(value):
        if tool.name in seen:
            raise FieldError(
                f"{attribute.name}[{index}].name",
                f"{tool.name!r} is already the name of {attribute.name}[{seen[tool.name]}]",
            )
        seen[tool.name] = index


tools.schema = {"maxItems": limit.MAX_TOOLS}  # type: ignore[attr-defined]  # read by _schema


def items(max_items: int) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and len(value) > max_items:
            raise FieldError(attribute.name, f"at most {max_items:,} items, got {len(value):,}")

    check.schema = {"maxItems": max_items}  # type: ignore[attr-defined]  # read by _schema
    return check
