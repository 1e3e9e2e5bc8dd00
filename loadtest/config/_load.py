"""Reading and writing profile files: JSON or TOML in, TOML out.

Rules:
- The file's extension picks the format (`.json`, `.toml`). Syntax errors
  name the line and column; a JSON object with the same key twice is an error
  (the second would silently win).
- Every conversion problem is reported at once, one line each, prefixed with
  the file name: `realistic.json: $.scenarios[2].content.mode: ...`.
- `dump_profile` writes TOML with tomli-w; unset (None) fields are left out.

The only I/O here is reading the file named by the caller.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from loadtest.config._converter import structure_profile, unstructure_profile
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
    return parse_profile(raw, suffix[1:], source=path.name)


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
    return _parse_json(text, source) if fmt == "json" else _parse_toml(text, source)


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
