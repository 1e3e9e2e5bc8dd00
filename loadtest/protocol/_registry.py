"""The protocol registry: a name -> adapter class dict, filled explicitly.

Built-in adapters register with the `register` decorator when
`loadtest.protocol` imports them. Third-party packages register by declaring
an entry point in the `loadtest.protocols` group whose object is the adapter
class (its module may also call `register` itself); entry points are loaded
once, the first time a name is looked up that is not already known.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, TypeVar

from loadtest.errors import RegistryError
from loadtest.protocol._base import Adapter

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ENTRY_POINT_GROUP", "available", "get_adapter", "register"]

ENTRY_POINT_GROUP = "loadtest.protocols"

_REGISTRY: dict[str, type[Adapter]] = {}
_entry_points_loaded = False

A = TypeVar("A", bound=type[Adapter])


def register(name: str) -> Callable[[A], A]:
    """Class decorator: register an adapter under `name` (which it sets as
    the class's `name`). Registering a taken name raises `RegistryError`."""

    def decorate(cls: A) -> A:
        if not issubclass(cls, Adapter):
            raise RegistryError(f"protocol {name!r}: {cls.__name__} is not an Adapter subclass")
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls:
            raise RegistryError(
                f"protocol {name!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:
            raise RegistryError(
                f"protocol entry point {ep.name!r} ({ep.value}) failed to load: {exc}"
            ) from exc
        if isinstance(obj, type) and issubclass(obj, Adapter) and ep.name not in _REGISTRY:
            register(ep.name)(obj)


def get_adapter(name: str) -> type[Adapter]:
    """The adapter class registered as `name`; an unknown name raises a
    `RegistryError` that lists every registered name."""
    cls = _REGISTRY.get(name)
    if cls is None:
        _load_entry_points()
        cls = _REGISTRY.get(name)
    if cls is None:
        raise RegistryError(f"unknown protocol {name!r}; available: {', '.join(available())}")
    return cls


def available() -> list[str]:
    """Every registered protocol name, sorted (entry points included)."""
    _load_entry_points()
    return sorted(_REGISTRY)
