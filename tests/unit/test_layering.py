"""The dependency direction of the packages, and their public surfaces.

`config`, `protocol` and `metrics` are leaves: importing one must not import
trio, httpcore, the engine, the reports or the CLI, so the core stays usable
and testable without an event loop.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

FORBIDDEN_IN_LEAVES = ("trio", "httpcore", "loadtest.engine", "loadtest.report", "loadtest.cli")
LEAVES = [
    "loadtest.config",
    "loadtest.protocol",
    "loadtest.metrics",
    "loadtest.tokens",
    "loadtest.taxonomy",
    "loadtest.errors",
]
PUBLIC_PACKAGES = [
    "loadtest.engine",
    "loadtest.report",
    "loadtest.testing",
    "loadtest.mock",
    "loadtest",
    "loadtest.config",
    "loadtest.protocol",
    "loadtest.metrics",
    "loadtest.cli",
    "loadtest.cluster",
    "loadtest.sweep",
]


@pytest.mark.parametrize("module", LEAVES)
def test_leaves_import_no_io_layers(module: str) -> None:
    """Importing a leaf pulls in none of trio, httpcore, engine, report or cli."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    bad = sorted(
        m
        for m in loaded
        if m.split(".")[0] in FORBIDDEN_IN_LEAVES or m.startswith(FORBIDDEN_IN_LEAVES[2:])
    )
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_all_lists_real_names(name: str) -> None:
    """Every name in a package's `__all__` exists, and only once."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported))
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing


def test_report_uses_no_event_loop_or_engine() -> None:
    """`loadtest.report` renders from data: no trio, httpcore, engine or CLI."""
    code = "import sys, loadtest.report; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    bad = sorted(
        m
        for m in loaded
        if m.split(".")[0] in ("trio", "httpcore")
        or m.startswith(("loadtest.engine", "loadtest.cli"))
    )
    assert not bad
