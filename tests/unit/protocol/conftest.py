"""Fixtures of the protocol tests."""

from __future__ import annotations

import pytest

from loadtest.protocol import _registry


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test registers into a copy of the registry, entry points unread."""
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    monkeypatch.setattr(_registry, "_entry_points_loaded", False)
    monkeypatch.setattr(_registry, "entry_points", lambda group: [])
