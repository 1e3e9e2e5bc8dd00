"""The command line: thin wiring from flags to the library, nothing more.

Each command lives in its own module and registers itself on `app`; this
package imports them all. Exit codes are those of `loadtest.errors`.
"""

from __future__ import annotations

from loadtest.cli import (
    _compare,  # noqa: F401  (registers compare, merge)
    _mock,  # noqa: F401  (registers mock)
    _report,  # noqa: F401  (registers report)
    _run,  # noqa: F401  (registers run)
    _sweep,  # noqa: F401  (registers sweep)
    _validate,  # noqa: F401  (registers validate, schema)
)
from loadtest.cli._app import _state, app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    _state["program"] = True
    app()
