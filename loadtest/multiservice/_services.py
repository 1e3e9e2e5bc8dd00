"""The services file: which gateways `multi-service.py` runs a profile against.

A services file is TOML or JSON (the extension decides) holding a list
`services`, each entry a gateway:

    [[services]]
    name = "litellm"                      # unique; names the row and the output folder
    target = "http://localhost:4000/v1"   # same base-URL rule as `loadtest run --target`
    model = "gpt-4o-mini"                 # optional; else the profile's
    key_env = "LITELLM_VK"                # env var holding the key; absent/"" = no key
    headers = { "x-team" = "bench" }      # optional extra headers

Rules:
- Conversion is the profiles' (`loadtest.config`'s strict converter): unknown
  keys are errors naming their path and the allowed keys, scalars are not
  coerced, keys beginning with `_` are comments. Every problem is reported at
  once, prefixed with the file name.
- Keys come only from the environment: `key_env` names a variable, and a
  secret header (`Authorization`, `x-api-key`, ...) must take its value from
  `${NAME}`. `missing_env()` lists every variable a services file needs that
  is not set, so one error can name them all before any load is sent.

Pure apart from reading the file named by the caller; no trio.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from loadtest.config import (
    ENV_REF,
    FieldError,
    conversion_problems,
    is_secret,
    key_path,
    parse_document,
    profile_converter,
)
from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Service", "ServicesFile", "load_services", "missing_env", "parse_services"]

#: A service name labels a table row and names a folder: keep it short and plain.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_target(target: str) -> str | None:
    """Why `target` is not an http(s) URL with a host, or None if it is."""
    if ENV_REF.search(target):
        return None  # expanded by `loadtest run`; checked when the plan is resolved
    try:
        parts = urlsplit(target)
        _ = parts.port
    except ValueError as exc:
        return f'"{target}" is not a valid URL ({exc})'
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f'expected an http:// or https:// URL with a host, got "{target}"'
    return None


@attrs.frozen
class Service:
    """One gateway: where to send the profile's traffic, and with which key."""

    name: str
    target: str
    model: str | None = None
    key_env: str | None = None
    headers: dict[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise FieldError(
                "name", f'"{self.name}": use 1-24 letters, digits, ".", "_" or "-" (no spaces)'
            )
        problem = _check_target(self.target)
        if problem:
            raise FieldError("target", problem)
        if self.key_env and not ENV_NAME_PATTERN.match(self.key_env):
            raise FieldError("key_env", f'"{self.key_env}" is not an environment variable name')
        for header, value in self.headers.items():
            self._check_header(header, value)

    @staticmethod
    def _check_header(header: str, value: str) -> None:
        where = "headers" + key_path(header)
        if not header or any(ch in header for ch in " \t\r\n:"):
            raise FieldError(where, "a header name has no spaces or colons")
        if is_secret(header) and not ENV_REF.search(value):
            raise FieldError(
                where,
                'a secret header takes its value from the environment: write "${NAME}" '
                "(or use key_env); keys never go in the services file",
            )

    @property
    def env_names(self) -> tuple[tuple[str, str], ...]:
        """(variable, where it is used) for every variable this service reads."""
        found = [(self.key_env, "key_env")] if self.key_env else []
        found += [(m, "target") for m in ENV_REF.findall(self.target)]
        for header, value in self.headers.items():
            found += [(m, "headers" + key_path(header)) for m in ENV_REF.findall(value)]
        return tuple(found)


def _unique_names(
    _instance: Any, _attribute: attrs.Attribute[Any], services: tuple[Service, ...]
) -> None:
    if not services:
        raise FieldError("services", "no services; list at least one gateway")
    seen: set[str] = set()
    for index, service in enumerate(services):
        if service.name in seen:
            raise FieldError(f"services[{index}].name", f'"{service.name}" is used twice')
        seen.add(service.name)


@attrs.frozen
class ServicesFile:
    """The whole services file: the gateways, in the order their rows appear."""

    services: tuple[Service, ...] = attrs.field(validator=_unique_names)


def parse_services(raw: bytes | str, fmt: str, source: str = "services") -> tuple[Service, ...]:
    """Parse services-file text in `fmt` ("json" or "toml"); every problem is
    reported at once in one `ConfigError`, each line prefixed with `source`."""
    data = parse_document(raw, fmt, source)
    try:
        parsed: ServicesFile = profile_converter.structure(data, ServicesFile)
    except Exception as exc:
        lines = [line for problem in conversion_problems(exc) for line in problem.splitlines()]
        raise ConfigError([f"{source}: {line}" for line in lines]) from None
    return parsed.services


def load_services(path: str | Path) -> tuple[Service, ...]:
    """Read and check a services file (`.toml` or `.json`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigError(f"{path}: a services file is a .toml or .json file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such services file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_services(raw, suffix[1:], source=path.name)


def missing_env(services: tuple[Service, ...], env: Mapping[str, str]) -> list[str]:
    """Each variable the services read that is unset or empty, as
    `NAME (service "x": where)`, in file order."""
    return [
        f'{name} (service "{service.name}": {where})'
        for service in services
        for name, where in service.env_names
        if not env.get(name)
    ]
