"""The package's public surface and its place in the layering: it is a client
of the library (config, metrics, report) and starts `loadtest run` as a
program, so importing it pulls in neither the engine nor the CLI."""

from __future__ import annotations

import subprocess
import sys

import loadtest.multiservice


def test_all_lists_real_names_once() -> None:
    """Every name in `__all__` exists, and only once."""
    exported = list(loadtest.multiservice.__all__)
    assert len(exported) == len(set(exported))
    assert [name for name in exported if not hasattr(loadtest.multiservice, name)] == []


def test_importing_it_loads_neither_the_engine_nor_the_cli() -> None:
    """The comparison reads summaries; only the child processes run the engine."""
    code = "import sys, loadtest.multiservice; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.split()
    assert [m for m in loaded if m.startswith(("loadtest.engine", "loadtest.cli"))] == []
