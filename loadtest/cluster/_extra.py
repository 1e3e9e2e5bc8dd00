"""Dask, imported only when a cluster is used (the `cluster` extra)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["import_distributed"]


def import_distributed() -> ModuleType:
    """`distributed`, or a ConfigError saying which extra installs it."""
    try:
        return importlib.import_module("distributed")
    except ImportError:
        raise ConfigError(
            "--cluster needs Dask, which is not installed: pip install 'loadtest-llm[cluster]'"
        ) from None
