#!/usr/bin/env python3
"""Run one loadtest profile against several gateways at the same time and compare them.

A thin wrapper around `loadtest.multiservice.main`; `./multi-service.py --help`
explains the services file. When the `python3` on PATH cannot import
`loadtest` (the venv is not active), the wrapper re-runs itself with the
repository's `.venv/bin/python` if there is one; `.venv/bin/python
multi-service.py ...` works directly too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

VENV_PYTHON = Path(__file__).resolve().parent / ".venv" / "bin" / "python"


def _reexec_in_venv(error: ImportError) -> NoReturn:
    """Replace this process with the repository venv's Python, if that helps."""
    in_venv = Path(sys.prefix).resolve() == VENV_PYTHON.parent.parent.resolve()
    if VENV_PYTHON.exists() and not in_venv:
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.exit(
        f"multi-service.py: cannot import loadtest ({error}): install it "
        "(pip install -e .) or run .venv/bin/python multi-service.py"
    )


if __name__ == "__main__":
    try:
        from loadtest.multiservice import main
    except ImportError as exc:
        _reexec_in_venv(exc)
    sys.exit(main())
