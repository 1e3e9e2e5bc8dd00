"""A gateway that never answers, or refuses, on the mock clock: the pre-flight
names it before any load, and a run against it cannot pass."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.cli._preflight import check_targets
from loadtest.cli._run import exit_code
from loadtest.engine import MemorySink, open_engine
from loadtest.errors import EXIT_NO_SUCCESS
from loadtest.report import RunInfo, build_summary, render_text
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    import trio
    import trio.testing

KEY = "sk-live-0123456789"
SCENARIOS = [
    {"name": "a", "weight": 1},
    {"name": "b", "weight": 1},
    {
        "name": "c",
        "weight": 1,
        "protocol": "anthropic",
        "headers": {"anthropic-version": "2023-06-01"},
    },
]


async def black_hole(stream: trio.abc.Stream) -> None:
    """Accept, read every byte, never answer."""
    while await stream.receive_some(65536):
        pass


def keyed_plan(**changes: Any) -> Any:
    return make_plan(defaults={"headers": {"Authorization": f"Bearer {KEY}"}}, **changes)


async def test_one_probe_per_target_and_protocol_sent_as_the_run_sends(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Three scenarios, two (target, protocol) pairs: two probes, with the run's own
    headers and body fields; nothing reaches a sink."""
    plan = keyed_plan(scenarios=SCENARIOS, stages=["3:1s"], warmup="0s")
    probed = FakeGateway()
    found = await check_targets(plan, backend=MemoryBackend(nursery, probed.serve))
    assert found == ([], [])
    assert sorted(r.path for r in probed.received) == ["/v1/chat/completions", "/v1/messages"]
    ran = FakeGateway()
    sink = MemorySink()
    async with open_engine(plan, sink=sink, backend=MemoryBackend(nursery, ran.serve)) as engine:
        await engine.run_stage(0)
    for probe in probed.received:
        sent = next(r for r in ran.received if r.path == probe.path)
        assert probe.headers.keys() == sent.headers.keys()
        assert probe.headers["authorization"] == f"Bearer {KEY}"
        assert json.loads(probe.body).keys() == json.loads(sent.body).keys()
    assert len(sink.records) == len(ran.received)  # the probes wrote nothing


@pytest.mark.parametrize(
    ("script", "refuse", "line"),
    [
        (
            Script(status=401),
            False,
            "http://gw.test/v1/chat/completions (openai-chat): http_4xx: openai-chat: HTTP 401: ",
        ),
        (
            Script(),
            True,
            "http://gw.test/v1/chat/completions (openai-chat): conn_refused: connecting to gw.test",
        ),
    ],
)
async def test_a_refusing_or_dead_target_fails_with_its_class(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    script: Script,
    refuse: bool,
    line: str,
) -> None:
    """401 (a wrong key) and a refused connection fail the pre-flight, one line each."""
    gateway = FakeGateway(script)
    failures, warnings = await check_targets(
        keyed_plan(), backend=MemoryBackend(nursery, gateway.serve, refuse=refuse)
    )
    assert warnings == []
    assert len(failures) == 1
    assert failures[0].startswith(line)
    assert KEY not in failures[0]


async def test_a_gateway_that_answers_5xx_is_measured_not_stopped(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A 503 is an answer: a warning, and the run goes on."""
    gateway = FakeGateway(Script(status=503))
    failures, warnings = await check_targets(
        keyed_plan(), backend=MemoryBackend(nursery, gateway.serve)
    )
    assert failures == []
    assert warnings == [
        "http://gw.test/v1/chat/completions (openai-chat): http_5xx: openai-chat: HTTP 503: "
        "scripted failure"
    ]


async def test_a_black_hole_fails_the_pre_flight_after_the_read_timeout(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """No byte for timeouts.read: the pre-flight fails with timeout_read."""
    plan = keyed_plan(timeouts={"read": "3s"})
    failures, _ = await check_targets(plan, backend=MemoryBackend(nursery, black_hole))
    assert len(failures) == 1
    assert "(openai-chat): timeout_read" in failures[0]


@pytest.mark.parametrize("warmup", ["0s", "1s"])
async def test_a_black_hole_run_cannot_pass(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, warmup: str
) -> None:
    """Every turn hangs past the stage end with the default timeouts: counted unanswered
    (warm-up ones too) with their wait, named in the verdict, and the exit code is 5."""
    plan = keyed_plan(stages=["2:3s"], warmup=warmup, graceful_stop="2s")
    async with open_engine(plan, backend=MemoryBackend(nursery, black_hole)) as engine:
        result = await engine.run()
    (stage,) = result.stages
    assert (stage.total.requests, stage.total.unanswered) == (0, 2)
    summary = build_summary(plan, result.stages, RunInfo(0.0, 5.0))
    assert summary["stages"][0]["total"]["error_rate"] is None
    text = " ".join(line.strip() for line in render_text(summary).splitlines())
    assert text.startswith("loadtest report: ")
    assert "verdict: FAIL no steady turn succeeded in any stage" in text
    assert (
        "stage 1: 2 turns were cut off by the stage end with no response byte after "
        "waiting up to 5.0 s (p50 5.0 s*): the gateway may be hung"
    ) in text
    assert exit_code(summary, strict_health=False) == EXIT_NO_SUCCESS
