"""The JSON Schema (draft 2020-12) of a profile, generated from the model.

Walks the attrs classes of `_model`: field types become schema types, field
`doc` metadata becomes descriptions, validators that carry a `schema`
attribute add their bounds (`minimum`, `maximum`, `exclusiveMinimum`,
`maxLength`, `pattern`, `maxItems`, `maxProperties`, ...), and every string
gets the loader's `maxLength` and every list its `maxItems`. Keys beginning
with `_` are allowed everywhere, as the loader ignores them. The shipped
`profiles/schema.json` is this output; a test keeps the two equal.

Pure: returns plain data.
"""

from __future__ import annotations

import typing
from typing import Any, Literal, get_args, get_origin

import attrs

from loadtest.config._lengths import DISTS, TokenCount
from loadtest.config._limits import (
    MAX_DURATION_CHARS,
    MAX_DURATION_US,
    MAX_ITEMS,
    MAX_STAGE_CHARS,
    MAX_TEXT_CHARS,
    MAX_TURNS,
)
from loadtest.config._model import (
    CONTENT_MODES,
    Content,
    Profile,
    Stage,
    ThinkTime,
    Turns,
)
from loadtest.config._units import Duration, DurationRange, IntRange

__all__ = ["profile_schema"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DURATION_PATTERN = r"^\s*(0|(\d+(\.\d*)?|\.\d+)\s*(us|µs|ms|s|m|h))\s*$"
_RATE = r"@\s*\d+(\.\d*)?"
_LOAD = rf"(\d+(\s*->\s*\d+)?|{_RATE}(\s*->\s*{_RATE})?)"
_ARRIVAL = r"(\s*~\s*(constant|poisson|gamma(\(\s*\d*\.?\d+\s*\))?))?"
_STAGE_DURATION = r"\s*:\s*(\d+(\.\d*)?|\.\d+)\s*(us|µs|ms|s|m|h)"
#: A stage string: `[Nx]LOAD[->LOAD][:DURATION][~ARRIVAL]`, the duration
#: optional after `Nx` only (config/_stages.py).
_STAGE_PATTERN = (
    rf"^\s*(\d+\s*x\s*{_LOAD}({_STAGE_DURATION})?|{_LOAD}{_STAGE_DURATION}){_ARRIVAL}\s*$"
)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def of(self, type_: Any) -> dict[str, Any]:
        special = self._special(type_)
        if special is not None:
            return special
        origin, args = get_origin(type_), get_args(type_)
        if origin is Literal:
            return {"enum": list(args)}
        if origin in (typing.Union, type(int | None)) and type(None) in args:
            others = tuple(arg for arg in args if arg is not type(None))
            inner = self.of(others[0] if len(others) == 1 else typing.Union[others])  # noqa: UP007
            return {"anyOf": [*inner.get("anyOf", [inner]), {"type": "null"}]}
        if origin is tuple:
            return {"type": "array", "items": self.of(args[0]), "maxItems": MAX_ITEMS}
        if origin is dict:
            value = args[1]
            return (
                {"type": "object"}
                if value is Any
                else {"type": "object", "additionalProperties": self.of(value)}
            )
        return self._scalar_or_class(type_)

    def _special(self, type_: Any) -> dict[str, Any] | None:
        if type_ == Turns:
            return {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": MAX_TURNS},
                    self.of(IntRange),
                ]
            }
        if type_ == ThinkTime:
            return {"anyOf": [self.of(Duration), self.of(DurationRange)]}
        if type_ == Content:
            return {"oneOf": [self._tagged("mode", m, cls) for m, cls in CONTENT_MODES.items()]}
        if type_ == TokenCount:
            if "TokenDist" not in self.defs:
                self.defs["TokenDist"] = {
                    "description": "A distribution of token counts, tagged by `dist`.",
                    "oneOf": [self._tagged("dist", d, cls) for d, cls in DISTS.items()],
                }
            return {"anyOf": [{"type": "integer"}, _ref("TokenDist")]}
        if type_ == Stage:
            return {
                "anyOf": [
                    {"type": "string", "pattern": _STAGE_PATTERN, "maxLength": MAX_STAGE_CHARS},
                    *[self.of(cls) for cls in get_args(Stage)],
                ]
            }
        if type_ is Duration:
            self.defs["Duration"] = {
                "type": "string",
                "pattern": _DURATION_PATTERN,
                "maxLength": MAX_DURATION_CHARS,
                "description": 'A duration with a unit: "250ms", "1.5s", "2m", "1h"; '
                f"at most {Duration(MAX_DURATION_US)}.",
            }
            return _ref("Duration")
        return None

    def _scalar_or_class(self, type_: Any) -> dict[str, Any]:
        scalars = {int: "integer", float: "number", str: "string", bool: "boolean"}
        if type_ is str:
            return {"type": "string", "maxLength": MAX_TEXT_CHARS}
        if type_ in scalars:
            return {"type": scalars[type_]}
        if attrs.has(type_):
            name = type_.__name__
            if name not in self.defs:
                self.defs[name] = {}  # placeholder against recursion
                self.defs[name] = self.object_of(type_)
            return _ref(name)
        raise TypeError(f"no schema rule for {type_!r}")

    def _tagged(self, key: str, tag: str, cls: type[Any]) -> dict[str, Any]:
        """A block tagged by `key` (content's `mode`, a distribution's `dist`)."""
        schema = self.object_of(cls)
        schema["properties"] = {key: {"const": tag}, **schema["properties"]}
        schema["required"] = [key, *schema.get("required", [])]
        return schema

    def object_of(self, cls: type[Any]) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            prop = dict(self.of(hints[field.name]))
            _add_bounds(prop, getattr(field.validator, "schema", None))
            if field.metadata.get("doc"):
                prop["description"] = field.metadata["doc"]
            properties[field.name] = prop
            if field.default is attrs.NOTHING:
                required.append(field.name)
        schema: dict[str, Any] = {
            "type": "object",
            "description": (cls.__doc__ or "").strip().splitlines()[0],
            "properties": properties,
            "patternProperties": {"^_": {}},
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return schema


#: Which schema keywords apply to which JSON types.
_KEYWORD_TYPES = {
    "minimum": ("integer", "number"),
    "maximum": ("integer", "number"),
    "exclusiveMinimum": ("integer", "number"),
    "maxLength": ("string",),
    "pattern": ("string",),
    "maxItems": ("array",),
    "items": ("array",),
    "maxProperties": ("object",),
    "propertyNames": ("object",),
    "additionalProperties": ("object",),
}


def _add_bounds(prop: dict[str, Any], bounds: dict[str, Any] | None) -> None:
    """Put a validator's bounds (limits of numbers, strings, lists, objects)
    on the schema, or on the options of a union that they apply to."""
    if not bounds:
        return
    for option in [prop, *prop.get("anyOf", [])]:
        for keyword, value in bounds.items():
            if option.get("type") in _KEYWORD_TYPES[keyword]:
                option[keyword] = value


def profile_schema() -> dict[str, Any]:
    """The JSON Schema of a profile file."""
    builder = _Builder()
    root = builder.object_of(Profile)
    root["properties"] = {
        "$schema": {"type": "string", "description": "Path or URL of this schema."},
        **root["properties"],
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "loadtest profile",
        **root,
        "$defs": dict(sorted(builder.defs.items())),
    }
