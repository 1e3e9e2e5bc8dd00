"""`python -m loadtest`: the same command line as the `loadtest` script."""

from __future__ import annotations

from loadtest.cli import main

if __name__ == "__main__":
    main()
