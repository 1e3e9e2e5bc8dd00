"""The suite holds on a busy machine: nothing in it waits a fixed time or
lets a library judge it on the real clock."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, settings

TESTS = Path(__file__).parent


def test_hypothesis_has_no_real_clock_limits() -> None:
    """No per-example deadline (200 ms by default) and no too-slow health
    check: both fail property tests when other processes hold the cores."""
    assert settings().deadline is None
    assert HealthCheck.too_slow in settings().suppress_health_check


def test_no_fixed_sleeps_in_tests() -> None:
    """Real processes are waited for by polling a condition (tests/e2e/helpers.py),
    never by `time.sleep(N)`, which is too short on a busy machine."""
    found = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "helpers.py" and path != Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\btime\.sleep\(", line)
    ]
    assert found == []
