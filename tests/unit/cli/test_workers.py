"""`--workers`: the count, the host checks, and the summed progress line."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs
import pytest

from loadtest.cli import _workers
from loadtest.cli._progress import ProgressFigures
from loadtest.errors import ConfigError
from tests.integration.conftest import make_plan

if TYPE_CHECKING:
    from pathlib import Path


def test_parse_workers() -> None:
    assert _workers.parse_workers(None) == 1
    assert _workers.parse_workers("3") == 3
    assert _workers.parse_workers("auto") == len(os.sched_getaffinity(0))
    for bad in ("0", "x", "1025", "-2"):
        with pytest.raises(ConfigError, match=r"--workers .*: expected a whole number from 1 to"):
            _workers.parse_workers(bad)


def test_host_warnings_check_the_whole_hosts_ports_and_each_workers_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 connections to one target with 10 ephemeral ports: a warning; an
    open-file hard limit below a worker's share: another."""
    ports = tmp_path / "range"
    ports.write_text("1000\t1009\n")
    monkeypatch.setattr(_workers, "_PORT_RANGE", ports)
    plan = make_plan(stages=["20:10s"])
    assert _workers.host_warnings(plan, 2) == [
        "20 connections to one target need more ephemeral ports than this host's range "
        "1000-1009 (10): expect gen_port_exhaustion errors"
    ]
    monkeypatch.setattr(_workers.resource, "getrlimit", lambda _: (10, 10))
    warnings = _workers.host_warnings(make_plan(stages=["4:10s"]), 2)
    assert warnings[0].startswith("worker 0: open-file hard limit 10 is below the")
    monkeypatch.setattr(_workers, "_PORT_RANGE", tmp_path / "missing")
    assert len(_workers.host_warnings(make_plan(stages=["4:10s"]), 2)) == 1


def _figures(**changes: object) -> ProgressFigures:
    base = ProgressFigures(
        stage_index=0,
        stage_count=1,
        load="1 VU",
        elapsed_s=3.0,
        duration_s=10.0,
        in_flight=2,
        done=10,
        rps=5.0,
        ttft_ms=(10.0, 20.0),
        latency_ms=(30.0, None),
        failed=1,
        errors={"http_5xx": 1},
    )
    return attrs.evolve(base, **changes)


def test_the_progress_line_sums_the_workers() -> None:
    """Counts and rates add up, percentiles are the slowest worker's, the
    verdict the worst; the load is the whole stage's."""
    plan = make_plan(stages=["4:10s"])
    line = _workers._sum(
        [
            _figures(),
            _figures(ttft_ms=(15.0, 18.0), verdict="suspect", reason="CPU", errors={"http_5xx": 2}),
        ],
        plan,
    )
    assert (line.in_flight, line.done, line.rps, line.failed) == (4, 20, 10.0, 2)
    assert line.ttft_ms == (15.0, 20.0)
    assert line.latency_ms == (30.0, None)
    assert (line.verdict, line.reason, line.load) == ("suspect", "CPU", "4 VUs")
    assert line.errors == {"http_5xx": 3}
    open_plan = make_plan(stages=["@20:10s"])
    assert _workers._sum([_figures()], open_plan).load == "@20/s"
