"""The protocol registry: built-ins, duplicates, unknown names, entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.errors import RegistryError
from loadtest.protocol import (
    Adapter,
    Conversation,
    Request,
    ResponseParser,
    _registry,
    available,
    get_adapter,
    register,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


class _Custom(Adapter):
    path = "/v1/custom"

    def build_request(self, conversation: Conversation) -> Request:
        return Request((), b"")

    def open_response(
        self, status: int, headers: Mapping[str, str], stream: bool
    ) -> ResponseParser:
        raise NotImplementedError


pytestmark = pytest.mark.usefixtures("isolated_registry")


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, *eps: EntryPoint) -> list[str]:
    groups_asked: list[str] = []

    def entry_points(group: str) -> list[EntryPoint]:
        groups_asked.append(group)
        return list(eps)

    monkeypatch.setattr(_registry, "entry_points", entry_points)
    return groups_asked


def test_built_ins_are_registered() -> None:
    """Importing loadtest.protocol registers the four built-in adapters."""
    assert available() == ["anthropic", "openai-chat", "openai-embeddings", "openai-responses"]
    for name in available():
        adapter = get_adapter(name)
        assert adapter.name == name
        assert adapter.path.startswith("/v1/")
        assert adapter().server_codec() is not None


def test_duplicate_name_raises() -> None:
    """Registering a taken name with another class raises RegistryError
    naming the holder; registering the same class again is harmless."""
    with pytest.raises(
        RegistryError, match=r"'openai-chat' is already registered by .*OpenAIChatAdapter"
    ):
        register("openai-chat")(_Custom)
    register("custom")(_Custom)
    assert register("custom")(_Custom) is _Custom


def test_non_adapter_is_refused() -> None:
    """Only Adapter subclasses can be registered."""
    with pytest.raises(RegistryError, match="is not an Adapter subclass"):
        register("bogus")(dict)  # type: ignore[type-var]


def test_unknown_name_lists_the_registered_ones() -> None:
    """An unknown name's error lists every registered name."""
    with pytest.raises(
        RegistryError,
        match="unknown protocol 'nope'; available: anthropic, openai-chat, openai-embeddings, "
        "openai-responses",
    ):
        get_adapter("nope")


def test_entry_point_is_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """An adapter class declared in the loadtest.protocols entry-point group
    is registered under the entry point's name when first looked up, and the
    group is read only once."""
    monkeypatch.setitem(globals(), "_Custom", _Custom)
    ep = EntryPoint(name="custom", value=f"{__name__}:_Custom", group="loadtest.protocols")
    asked = fake_entry_points(monkeypatch, ep)
    assert get_adapter("custom") is _Custom
    assert _Custom.name == "custom"
    assert "custom" in available()
    assert asked == ["loadtest.protocols"]


def test_entry_point_that_is_not_an_adapter_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry point whose object is not an Adapter class is ignored."""
    ep = EntryPoint(name="weird", value="os.path:join", group="loadtest.protocols")
    fake_entry_points(monkeypatch, ep)
    assert "weird" not in available()


def test_broken_entry_point_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry point that fails to load raises RegistryError naming it."""
    ep = EntryPoint(name="broken", value="no_such_module_xyz:Adapter", group="loadtest.protocols")
    fake_entry_points(monkeypatch, ep)
    with pytest.raises(RegistryError, match=r"protocol entry point 'broken' \(.*\) failed to load"):
        get_adapter("broken")


def test_default_server_codec_is_none() -> None:
    """An adapter without a server side says so with None."""
    custom: Any = _Custom()
    assert custom.server_codec() is None
