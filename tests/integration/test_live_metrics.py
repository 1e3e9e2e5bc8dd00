"""The live exposition of an engine on the mock clock: counters grow while a
stage runs, finished stages stay, and at the end it agrees sample for sample
with `metrics-<ts>.prom` of the same run."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import trio
from prometheus_client.parser import text_string_to_metric_families

from loadtest.engine import MemorySink, MetricsExporter, open_engine
from loadtest.report import build_summary, render_prometheus, run_info
from loadtest.report._schema import PROM_LIVE
from loadtest.testing import FakeGateway, MemoryBackend, Script

from .conftest import make_plan

if TYPE_CHECKING:
    from loadtest.testing import Received

Key = tuple[str, tuple[tuple[str, str], ...]]


def parse(text: str) -> tuple[dict[str, str], dict[Key, float]]:
    """Family name -> type, and (sample name, labels) -> value."""
    types: dict[str, str] = {}
    values: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            values[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return types, values


def value(values: dict[Key, float], name: str, **labels: str) -> float:
    (found,) = [
        v
        for (n, lab), v in values.items()
        if n == name and all(dict(lab).get(k) == want for k, want in labels.items())
    ]
    return found


def script_with_errors() -> Any:
    answers = itertools.count()

    def script(_received: Received) -> Script:
        failing = next(answers) % 5 == 4
        return Script(ttft_s=0.2, itl_s=0.02, output_tokens=8, status=503 if failing else 200)

    return script


async def test_live_counters_grow_and_end_as_the_file(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Scraped every second of a closed then an open stage: the running
    stage's requests never decrease and grow, `loadtest_current_stage` follows
    the stage, in flight is the stage's; after the run every sample the file
    and the live exposition share is equal, with the same family types."""
    plan = make_plan(stages=["3:4s", "@4:3s"], warmup="1s")
    backend = MemoryBackend(nursery, FakeGateway(script_with_errors()).serve)
    scrapes: list[str] = []
    async with open_engine(plan, sink=MemorySink(), backend=backend) as engine:
        exporter = MetricsExporter(engine)
        assert exporter.render() == ""  # nothing has started: no run label yet

        async def scrape() -> None:
            while True:
                await trio.sleep(1.0)
                scrapes.append(exporter.render())

        async with trio.open_nursery() as inner:
            inner.start_soon(scrape)
            result = await engine.run()
            inner.cancel_scope.cancel()
        final = exporter.render()
    summary = build_summary(plan, result, run_info(result))
    file_types, file_values = parse(render_prometheus(summary))
    live_types, live_values = parse(final)

    # during the run: per stage, requests only grow; the current stage moves on
    seen: dict[str, list[float]] = {"1": [], "2": []}
    current = []
    for text in scrapes:
        _, values = parse(text)
        current.append(value(values, "loadtest_current_stage"))
        for stage, series in seen.items():
            found = [
                v
                for (n, lab), v in values.items()
                if n == "loadtest_requests_total"
                and dict(lab)["stage"] == stage
                and dict(lab)["scenario"] == "total"
            ]
            series.extend(found)
    assert current[0] == 1
    assert 2 in current
    assert current == sorted(current)
    for series in seen.values():
        assert series == sorted(series)
        assert series[-1] > series[0]
    _, first = parse(scrapes[0])
    assert value(first, "loadtest_in_flight", stage="1") == 3

    # after the run: no stage runs, both are kept, and they are the file's
    assert value(live_values, "loadtest_current_stage") == 0
    assert value(live_values, "loadtest_in_flight", stage="2") == 0
    live_only = {family.name for family in PROM_LIVE.values()}
    shared = set(live_types) - live_only
    assert shared <= set(file_types)
    assert {name: live_types[name] for name in shared} == {
        name: file_types[name] for name in shared
    }
    compared = {key: v for key, v in live_values.items() if key in file_values}
    assert len(compared) == len(live_values) - 1 - 2 * 2  # current stage, in flight, elapsed
    assert compared == {key: file_values[key] for key in compared}
    assert value(live_values, "loadtest_errors_total", stage="1", scenario="total") > 0
    assert value(live_values, "loadtest_ttft_seconds_count", stage="2", scenario="total") > 0


async def test_scrapes_closer_than_max_age_share_one_render(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """However often it is scraped, the running stage is rendered at most once
    per `max_age_s`; a stage's end renders again at once."""
    plan = make_plan(stages=["2:3s"], warmup="0s")
    backend = MemoryBackend(nursery, FakeGateway(script_with_errors()).serve)
    async with open_engine(plan, sink=MemorySink(), backend=backend) as engine:
        exporter = MetricsExporter(engine, max_age_s=1.0)
        texts: list[str] = []

        async def scrape() -> None:
            await trio.sleep(1.0)
            for _ in range(5):
                texts.append(exporter.render())
                await trio.sleep(0.3)

        nursery.start_soon(scrape)
        await engine.run()
        after = exporter.render()
    assert texts[0] == texts[1] == texts[2] == texts[3]  # 0.3 to 0.9 s later: the same
    assert texts[4] != texts[0]  # 1.2 s later: a new one
    assert "loadtest_current_stage" in after
    assert value(parse(after)[1], "loadtest_current_stage") == 0
