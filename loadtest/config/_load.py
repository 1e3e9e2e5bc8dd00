"""Reading and writing profile files: JSON or TOML in, TOML out.

Rules:
- The file's extension picks the format (`.json`, `.toml`). Syntax errors
  name the line and column; a JSON object with the same key twice is an error
  (the second would silently win).
- A document is at most 16 MiB and 64 levels deep; its strings are text (no
  lone surrogates) and its numbers finite and within 64-bit integers, so that
  nothing read can break printing or writing later (`_limits`).
- Every conversion problem is reported at once, one line each, prefixed with
  the file name: `realistic.json: $.scenarios[2].content.mode: ...`.
- `dump_profile` writes TOML with tomli-w; unset (None) fields are left out.
- Dataset paths in a profile file are relative to its directory:
  `load_profile` makes them absolute (`_files.anchor_paths`).

The only I/O here is reading the file named by the caller.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from loadtest.config._converter import structure_profile, unstructure_profile
from loadtest.config._files import anchor_paths
from loadtest.config._limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_INT, MIN_INT
from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from loadtest.config._model import Profile

__all__ = ["dump_profile", "load_profile", "parse_document", "parse_profile"]


def load_profile(path: str | Path) -> Profile:
    """Read and check a profile file; raise `ConfigError` listing every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such profile file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigError(f"{path}: a profile is a .json or .toml file")
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: a profile is at most {MAX_FILE_BYTES // 2**20} MiB")
    return anchor_paths(parse_profile(raw, suffix[1:], source=path.name), path.parent)


def parse_profile(raw: bytes | str, fmt: str, source: str = "profile") -> Profile:
    """Parse profile text in `fmt` ("json" or "toml"); errors name `source`."""
    data = parse_document(raw, fmt, source)
    try:
        profile = structure_profile(data)
    except ValueError as exc:
        raise ConfigError([f"{source}: {line}" for line in exc.args[0]]) from None
    return profile


def parse_document(raw: bytes | str, fmt: str, source: str) -> Any:
    """UTF-8 JSON or TOML text -> plain data; a syntax error names `source`,
    line and column. Shared by every file format loadtest reads."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 (byte {exc.start}): save it as UTF-8") from None
    try:
        data = _parse_json(text, source) if fmt == "json" else _parse_toml(text, source)
    except RecursionError:
        data = None
    problem = _check_tree(data) if data is not None else f"nested more than {MAX_DEPTH} levels deep"
    if problem is not None:
        raise ConfigError(f"{source}: {problem}")
    return data


def _check_tree(data: Any) -> str | None:
    """The first value (by path) that later code could not print or write:
    nesting beyond MAX_DEPTH, a lone surrogate, a non-finite number or an
    integer beyond 64 bits. Iterative, so depth cannot exhaust the stack."""
    stack: list[tuple[Any, str, int]] = [(data, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"{path}: nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            for key in value:
                if _has_surrogate(key):
                    return f"{path}: a key holds a lone surrogate, which is not text"
            stack.extend((item, f"{path}.{key}", depth + 1) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str) and _has_surrogate(value):
            return f"{path}: holds a lone surrogate (\\uD800-\\uDFFF), which is not text"
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{path}: {value} is not a number JSON allows"
        elif type(value) is int and not MIN_INT <= value <= MAX_INT:
            return f"{path}: integers are at most 64 bits ({MIN_INT} to {MAX_INT})"
    return None


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f'key "{key}" appears twice in one object')
        obj[key] = value
    return obj


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"{source}: invalid JSON: {exc}") from None


def _parse_toml(text: str, source: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None


def dump_profile(profile: Profile) -> str:
    """The profile as TOML text that `parse_profile(..., "toml")` reads back
    to an equal profile."""
    data = unstructure_profile(profile)
    try:
        return tomli_w.dumps(data)
    except TypeError as exc:
        raise ConfigError(f"profile cannot be written as TOML: {exc}") from None
