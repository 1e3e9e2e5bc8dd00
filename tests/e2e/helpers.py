"""Helpers for tests of real processes on the real clock.

Rule: a test waits for a condition (polled, with a generous deadline that
only turns a hang into a failure), never for a fixed time, and asserts only
what holds on a busy machine: lower bounds on latency (a sleep never ends
early), counts and structure. Exact timings are tested on trio's mock clock.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["wait_for"]


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 60.0) -> None:
    """Poll `condition` every 50 ms until it is true; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:g} s waiting for {what}"
        time.sleep(0.05)
