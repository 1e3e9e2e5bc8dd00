"""`loadtest run`'s exit code from its summary: stopped early, no steady
turn succeeded, thresholds, then generator health (only with --strict-health). The healthy case is
decided here, not by a real-clock run, whose verdict depends on the machine."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.cli._run import exit_code
from loadtest.errors import (
    EXIT_GENERATOR_HEALTH,
    EXIT_INTERRUPTED,
    EXIT_NO_SUCCESS,
    EXIT_OK,
    EXIT_THRESHOLDS,
)


def summary(
    *verdicts: str, stopped_early: bool = False, failed: bool = False, ok: int = 5
) -> dict[str, Any]:
    threshold = {"metric": "error_rate", "scope": "total", "passed": not failed}
    return {
        "run": {"stopped_early": stopped_early},
        "thresholds": [threshold],
        "stages": [{"health": {"verdict": verdict}, "total": {"ok": ok}} for verdict in verdicts],
    }


@pytest.mark.parametrize(
    ("doc", "strict", "code"),
    [
        (summary("ok", "ok"), True, EXIT_OK),
        (summary("ok", "suspect"), False, EXIT_OK),
        (summary("ok", "suspect"), True, EXIT_GENERATOR_HEALTH),
        (summary("generator-bound"), True, EXIT_GENERATOR_HEALTH),
        (summary("generator-bound", failed=True), True, EXIT_THRESHOLDS),
        (summary("generator-bound", stopped_early=True, failed=True), True, EXIT_INTERRUPTED),
        ({"run": {"stopped_early": False}, "stages": [{"total": {"ok": 1}}]}, True, EXIT_OK),
        (summary("ok", ok=0, failed=True), True, EXIT_NO_SUCCESS),
        (summary("ok", ok=0, stopped_early=True), True, EXIT_INTERRUPTED),
    ],
)
def test_exit_code_order(doc: dict[str, Any], strict: bool, code: int) -> None:
    """A healthy run exits 0 even with --strict-health; an unhealthy one exits 4
    only with it; failed thresholds, no success at all and an early stop come
    first, in that order of precedence (reversed)."""
    assert exit_code(doc, strict_health=strict) == code
