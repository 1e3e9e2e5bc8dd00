"""The live progress line: fitted to the terminal's width by dropping whole
fields, and a rate that restarts with each stage."""

from __future__ import annotations

import io
import re

import attrs
import pytest
import trio

from loadtest.cli._progress import (
    ProgressFigures,
    RateSample,
    fit_line,
    show_progress,
    turn_rate,
)
from loadtest.config import RunPlan, resolve, structure_profile
from loadtest.engine import open_engine
from loadtest.testing import FakeGateway, MemoryBackend, Script

BUSY = ProgressFigures(
    stage_index=1,
    stage_count=3,
    load="40 VUs",
    elapsed_s=75.0,
    duration_s=120.0,
    in_flight=40,
    done=12345,
    rps=51.25,
    ttft_ms=(101.5, 180.0),
    latency_ms=(412.0, 1250.0),
    failed=17,
    errors={"http_5xx": 12, "timeout_read": 4, "conn_reset": 1, "http_429": 0},
    dropped=3,
    verdict="suspect",
    reason="event-loop lag p99 12.5 ms > 10 ms",
)
FULL = (
    "stage 2/3 40 VUs 01:15/02:00  in-flight 40  done 12,345  rps 51.2  "
    "ttft p50/p95 102/180  lat p50/p95 412/1250 ms  "
    "errors 17 (conn_reset 1, http_429 0, http_5xx 12)  dropped 3  "
    "generator suspect: event-loop lag p99 12.5 ms > 10 ms"
)


def test_a_plain_line_is_whole() -> None:
    """Not a terminal (no width): every field, however long the line."""
    assert fit_line(BUSY, None) == FULL
    assert len(FULL) > 200
    assert fit_line(attrs.evolve(BUSY, reason=""), None).endswith("  generator suspect")


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (40, "stage 2/3 40 VUs 01:15/02:00  errors 17"),
        (80, "stage 2/3 40 VUs 01:15/02:00  rps 51.2  errors 17  generator suspect"),
        (
            120,
            "stage 2/3 40 VUs 01:15/02:00  done 12,345  rps 51.2  ttft p50/p95 102/180  "
            "errors 17  dropped 3  generator suspect",
        ),
        (
            200,
            "stage 2/3 40 VUs 01:15/02:00  in-flight 40  done 12,345  rps 51.2  "
            "ttft p50/p95 102/180  lat p50/p95 412/1250 ms  errors 17  dropped 3  "
            "generator suspect: event-loop lag p99 12.5 ms > 10 ms",
        ),
    ],
)
def test_a_terminal_line_fits_by_dropping_whole_fields(width: int, expected: str) -> None:
    """The line fits the width; the least important fields go first (error
    details, the health reason, in-flight, latency, counts, TTFT), none is cut."""
    line = fit_line(BUSY, width)
    assert line == expected
    assert len(line) <= width


def test_a_quiet_stage_keeps_more_fields() -> None:
    """No errors, drops or health warning: an open stage's line is whole in
    120 columns; in 80 it keeps the rate and TTFT."""
    quiet = attrs.evolve(
        BUSY, load="@50/s", errors={}, failed=0, dropped=0, verdict="ok", in_flight=7
    )
    assert fit_line(quiet, 120) == fit_line(quiet, None)
    assert len(fit_line(quiet, None)) == 120
    assert (
        fit_line(quiet, 80)
        == "stage 2/3 @50/s 01:15/02:00  rps 51.2  ttft p50/p95 102/180  errors 0"
    )


def test_a_width_below_the_first_field_cuts_it() -> None:
    """Only the stage field is left, cut to the width: the line still never wraps."""
    assert fit_line(BUSY, 12) == "stage 2/3 40"


def test_rate_over_the_window_within_a_stage() -> None:
    """Same stage: turns since the previous sample over the time since then."""
    assert turn_rate(RateSample(0, 100, 10.0), RateSample(0, 150, 11.0), 30.0) == 50.0
    assert turn_rate(RateSample(0, 100, 10.0), RateSample(0, 100, 10.0), 30.0) == 0.0


def test_rate_right_after_a_stage_change_uses_the_new_stage_only() -> None:
    """Stage 1 ended with 900 turns; stage 2 has done 250 in its first 5 s of
    a 10 s window: 50/s, not (250 - 900) / 10 clamped to 0 nor 250 / 10."""
    before, now = RateSample(0, 900, 100.0), RateSample(1, 250, 110.0)
    assert turn_rate(before, now, 5.0) == 50.0
    assert turn_rate(RateSample(None, 0, 0.0), RateSample(0, 40, 2.0), 2.0) == 20.0
    assert turn_rate(before, RateSample(1, 0, 110.0), 0.0) == 0.0


def test_rate_between_stages_is_zero() -> None:
    assert turn_rate(RateSample(0, 900, 100.0), RateSample(None, 0, 101.0), 0.0) == 0.0


def _plan(stages: list[str]) -> RunPlan:
    """Streamed one-message conversations against the fake gateway."""
    profile = {
        "stages": stages,
        "warmup": "0s",
        "defaults": {
            "target": "http://gw.test/v1",
            "model": "m",
            "stream": True,
            "content": {"mode": "pool", "prompts": ["hello"]},
        },
    }
    return resolve(structure_profile(profile), env={})


def _backend(nursery: trio.Nursery) -> MemoryBackend:
    """The fake gateway at 0.125 s per turn (8 turns/s per VU)."""
    gateway = FakeGateway(Script(ttft_s=0.125, itl_s=0.0, output_tokens=1))
    return MemoryBackend(nursery, gateway.serve)


async def test_plain_progress_after_a_stage_change_shows_the_new_rate(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """1 VU then 6 VUs at 0.125 s per turn (8/s per VU), a plain line every
    10 s: the line at 20 s, 8 s into stage 2, says ~48/s (a window
    spanning both stages said ~28)."""
    plan = _plan(["1:12s", "6:12s"])
    out = io.StringIO()
    backend = _backend(nursery)
    async with open_engine(plan, backend=backend) as engine, trio.open_nursery() as inner:
        inner.start_soon(show_progress, engine, out)
        await engine.run()
        inner.cancel_scope.cancel()
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "stage 1/2 1 VU 00:10/00:12",
        "stage 2/2 6 VUs 00:08/00:12",
    ]
    rates = [float(re.findall(r"  rps ([\d.]+)  ", line)[0]) for line in lines]
    assert rates == [pytest.approx(8.0, rel=0.02), pytest.approx(48.0, rel=0.02)]


def test_a_stage_given_at_run_time_shows_no_plan_count() -> None:
    """`stage i/N` counts the plan's stages; a stage a script adds is `stage i`."""
    line = fit_line(attrs.evolve(BUSY, stage_index=4, stage_count=None), None)
    assert line.startswith("stage 5 40 VUs 01:15/02:00  ")


async def test_progress_of_stages_added_at_run_time(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A plan of one stage and two stages decided by the script, numbered in
    the order they run: the plan's stage, run second, is no longer the plan's
    stage of its number, so no line reads i/N; no two stages share a number."""
    plan = _plan(["1:12s"])
    out = io.StringIO()
    backend = _backend(nursery)
    async with open_engine(plan, backend=backend) as engine, trio.open_nursery() as inner:
        inner.start_soon(show_progress, engine, out)
        await engine.run_stage("2:12s")
        await engine.run_stage(0)
        await engine.run_stage("@8:12s")
        inner.cancel_scope.cancel()
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "stage 1 2 VUs 00:10/00:12",
        "stage 2 1 VU 00:08/00:12",
        "stage 3 @8/s 00:06/00:12",
    ]


async def test_progress_of_ramps_and_a_stage_without_a_duration(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A ramp shows both ends; a stage that ends by its request count only
    has no planned length to show."""
    plan = _plan(["2->4:12s", "@1->@3:12s", "200x2"])
    out = io.StringIO()
    backend = _backend(nursery)
    async with open_engine(plan, backend=backend) as engine, trio.open_nursery() as inner:
        inner.start_soon(show_progress, engine, out)
        await engine.run()
        inner.cancel_scope.cancel()
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "stage 1/3 2->4 VUs 00:10/00:12",
        "stage 2/3 @1->@3/s 00:08/00:12",
        "stage 3/3 2 VUs 00:06/--:--",
    ]
