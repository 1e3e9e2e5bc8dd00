"""The pure decisions of a --cluster run: workers, clock offsets, start skew."""

from __future__ import annotations

import pytest

from loadtest.cluster import (
    SKEW_WARN_MS,
    ClockOffset,
    ShardStart,
    choose_workers,
    clock_offsets,
    skew_report,
)
from loadtest.errors import ConfigError

A1, A2, B1 = "tcp://10.0.0.1:4001", "tcp://10.0.0.1:4002", "tcp://10.0.0.2:4001"


def test_shards_spread_over_hosts_before_any_host_gets_two() -> None:
    assert choose_workers([A2, A1, B1], 2) == [A1, B1]
    assert choose_workers([A2, A1, B1], 3) == [A1, B1, A2]


def test_each_shard_gets_its_own_worker() -> None:
    chosen = choose_workers([A1, A2], 2)
    assert sorted(chosen) == [A1, A2]


@pytest.mark.parametrize(("workers", "word"), [([A1], "1 worker;"), ([], "0 workers;")])
def test_fewer_workers_than_shards_is_refused(workers: list[str], word: str) -> None:
    with pytest.raises(ConfigError, match=f"--workers 2: the cluster has {word}"):
        choose_workers(workers, 2)


def test_a_clock_offset_is_measured_from_the_round_trips_midpoint() -> None:
    offsets = clock_offsets({A1: 1000.150, B1: 999.990}, 1000.0, 1000.2)
    assert offsets[A1] == ClockOffset(offset_ms=50.0, error_ms=100.0)
    assert offsets[B1] == ClockOffset(offset_ms=-110.0, error_ms=100.0)


def test_skew_is_lateness_on_the_workers_clock_minus_its_offset() -> None:
    """A worker whose clock is 40 ms ahead starts 40 ms early, on time by its own clock."""
    lines, warnings = skew_report(
        [
            ShardStart("0/2", A1, late_ms=2.0, offset=ClockOffset(40.0, 0.5)),
            ShardStart("1/2", B1, late_ms=3.0, offset=None),
        ]
    )
    assert lines == [
        f"segment 0/2 on {A1}: started -38.0 ms after the shared start (clock +40.0 ms ± 0.5)",
        f"segment 1/2 on {B1}: started +3.0 ms after the shared start (clock not measured)",
    ]
    assert warnings == []


def test_a_large_skew_or_clock_offset_is_a_warning() -> None:
    late = SKEW_WARN_MS + 50
    _, warnings = skew_report(
        [
            ShardStart("0/2", A1, late_ms=late, offset=ClockOffset(0.0, 0.1)),
            ShardStart("1/2", B1, late_ms=310.0, offset=ClockOffset(300.0, 0.1)),
        ]
    )
    assert len(warnings) == 2
    assert warnings[0].startswith("segment 0/2 started +150 ms after the shared start")
    assert warnings[1] == f"segment 1/2: the clock of {B1} is +300 ms off this host's: " + (
        "synchronise the clocks (NTP)"
    )
