"""The JSON Schema (draft 2020-12) of a summary, generated from its
document classes (report/_document_classes.py, re-exported by
report/_document.py).

Rules:
- Every attrs class of the summary is one `$defs` entry; its fields, in
  order, are its properties. A field without a default is required; a
  field with one may be absent (summaries written before it existed).
- Unknown keys are allowed (`additionalProperties` is not restricted):
  readers ignore keys of summaries written by later versions.
- `schema` is the constant `loadtest.summary/1`.
- The shipped `docs/summary.schema.json` is this output (`loadtest schema
  --summary`); a test keeps the two equal.

Pure: returns plain data.
"""

from __future__ import annotations

import typing
from typing import Any, Literal, get_args, get_origin

import attrs

from loadtest.report._document import SummaryDoc
from loadtest.report._schema import SCHEMA

__all__ = ["summary_schema"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SCALARS: dict[Any, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _ref(cls: type[Any]) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{cls.__name__}"}


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def of(self, type_: Any) -> dict[str, Any]:
        """The schema of one field type."""
        if type_ is Any:
            return {}
        if type_ in _SCALARS:
            return {"type": _SCALARS[type_]}
        if attrs.has(type_):
            self._define(type_)
            return _ref(type_)
        origin, args = get_origin(type_), get_args(type_)
        if origin is Literal:
            return {"enum": list(args)}
        if origin is list:
            return {"type": "array", **self._items("items", args[0])}
        if origin is dict:
            return {"type": "object", **self._items("additionalProperties", args[1])}
        return self._union(args)

    def _items(self, key: str, type_: Any) -> dict[str, Any]:
        schema = self.of(type_)
        return {key: schema} if schema else {}

    def _union(self, args: tuple[Any, ...]) -> dict[str, Any]:
        """`int | float` is a number; `X | None` also allows null."""
        kinds = [arg for arg in args if arg is not type(None)]
        nullable = len(kinds) < len(args)
        if set(kinds) == {int, float}:
            schema = {"type": "number"}
        else:
            (kind,) = kinds
            schema = self.of(kind)
        if not nullable:
            return schema
        if "type" in schema:
            return {**schema, "type": [schema["type"], "null"]}
        return {"anyOf": [schema, {"type": "null"}]}

    def _define(self, cls: type[Any]) -> None:
        if cls.__name__ in self.defs:
            return
        self.defs[cls.__name__] = {}  # placeholder: a class may refer to itself
        hints = typing.get_type_hints(cls)
        fields = attrs.fields(cls)
        properties = {field.name: self.of(hints[field.name]) for field in fields}
        if cls is SummaryDoc:
            properties["schema"] = {"const": SCHEMA}
        self.defs[cls.__name__] = {
            "type": "object",
            "required": [f.name for f in fields if f.default is attrs.NOTHING],
            "properties": properties,
        }


def summary_schema() -> dict[str, Any]:
    """The summary's JSON Schema, from its document classes."""
    builder = _Builder()
    root = builder.of(SummaryDoc)
    return {
        "$schema": _DIALECT,
        "title": f"loadtest summary ({SCHEMA})",
        "description": "The summary written by `loadtest run` and `loadtest merge` "
        "(docs/reports.md defines every key).",
        **root,
        "$defs": dict(sorted(builder.defs.items())),
    }
