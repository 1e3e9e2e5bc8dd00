"""`import loadtest` is the one namespace a script needs, and it stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import loadtest
from tests.unit.test_layering import PUBLIC_PACKAGES

SCRIPT_NAMES = (
    "load_profile",
    "resolve",
    "open_engine",
    "closed_stage",
    "open_stage",
    "parse_stage",
    "serve_mock",
    "MockConfig",
    "build_summary",
    "render_text",
    "Metric",
    "LiveView",
    "register",
    "ENTRY_POINT_GROUP",
    "profile_converter",
)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_a_script_finds_its_names_at_the_top(name: str) -> None:
    assert name in loadtest.__all__
    assert getattr(loadtest, name) is not None
    assert name in dir(loadtest)


def test_every_exported_name_is_the_packages_own() -> None:
    """Each name is the object its layer package exports (one definition)."""
    for name, package in loadtest._EXPORTS.items():
        module = sys.modules.get(package) or __import__(package, fromlist=[name])
        assert getattr(loadtest, name) is getattr(module, name), name
        assert name in module.__all__, name
    assert sorted(loadtest.__all__) == sorted(["__version__", *loadtest._EXPORTS])


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = loadtest.nope  # type: ignore[attr-defined]


def test_importing_loadtest_loads_no_event_loop() -> None:
    code = "import sys, loadtest; loadtest.load_profile; print('trio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_name_is_spelled_twice_across_the_public_packages() -> None:
    """Two public packages never export different objects under one name."""
    seen: dict[str, object] = {}
    clashes = []
    for package in PUBLIC_PACKAGES:
        if package in ("loadtest", "loadtest.cli"):
            continue
        module = __import__(package, fromlist=["__all__"])
        for name in module.__all__:
            value = getattr(module, name)
            if name in seen and seen[name] is not value:
                clashes.append(f"{package}.{name}")
            seen.setdefault(name, value)
    assert not clashes


def test_dir_lists_the_public_names_only() -> None:
    """Not the module's own imports (`Any`, `TYPE_CHECKING`, `importlib`, ...)."""
    assert dir(loadtest) == sorted(loadtest.__all__)
    assert not {"Any", "TYPE_CHECKING", "importlib", "annotations"} & set(dir(loadtest))
