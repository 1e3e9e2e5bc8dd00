"""The text report's health and header lines, and summary round trips."""

from __future__ import annotations

from loadtest.metrics import StageRecorder
from loadtest.report import render_text, stats_from_json, stats_json
from loadtest.report._text import LEGEND
from tests.unit.report.builders import make_plan, snapshot, summary, turn

HEALTHY = {
    "verdict": "ok",
    "reasons": [],
    "figures": {
        "cpu_share": 0.2,
        "loop_lag_p99_ms": 1.0,
        "loop_lag_max_ms": 2.0,
        "peak_in_flight": 3,
        "target_in_flight": 4,
        "dropped": 0,
    },
}


def test_healthy_closed_stage_lines() -> None:
    """A healthy run says so in its first lines; closed-stage figures show
    in-flight against the VUs and no rate or schedule lag."""
    text = render_text(summary([snapshot([turn(0)], health=HEALTHY)]))
    assert "  generator: healthy in every stage" in text.splitlines()[:5]
    assert (
        "    CPU 20%, loop lag p99 1.00 ms (max 2.00), peak in flight 3 of 4 VUs, dropped 0" in text
    )


def test_open_stage_figures_without_vus() -> None:
    """Open-stage figures show the rate and schedule lag, in-flight without VUs."""
    figures = {
        **HEALTHY["figures"],  # type: ignore[dict-item]
        "target_in_flight": None,
        "target_rate": 5.0,
        "achieved_rate": 5.0,
        "schedule_lag_p99_ms": 1.5,
    }
    health = {**HEALTHY, "figures": figures}
    turns = [turn(0, lag_us=1_500) for _ in range(10)]  # the lag p99 of 10 turns: not marked
    text = render_text(summary([snapshot(turns, mode="open", health=health)]))
    folded = " ".join(text.split())  # the figures line is folded to 100 columns
    assert "peak in flight 3, rate 5/s of 5/s, schedule lag p99 1.50 ms, dropped 0" in folded


def test_header_shows_every_seed_of_a_merge() -> None:
    """A merged run whose shards had different seeds lists them; none known: says so."""
    doc = summary([snapshot([turn(0)])])
    doc["run"]["seed"] = None
    doc["run"]["seeds"] = [1, 2]
    assert "(seeds 1, 2)" in render_text(doc).splitlines()[0]
    doc["run"]["seeds"] = []
    assert "(seed unknown)" in render_text(doc).splitlines()[0]


def test_overflow_survives_the_summary_round_trip() -> None:
    """Out-of-range values counted in `overflow` come back from the JSON, even
    for a histogram that holds no in-range value."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(0, latency_us=-5, ttft_us=None, itl_gaps_us=()))
    stats = recorder.freeze(
        index=0,
        mode="closed",
        duration_s=1,
        warmup_s=0,
        steady_s=1,
        started_unix_s=0,
        ended_unix_s=1,
    ).total
    doc = stats_json(stats, 1.0)
    assert doc["overflow"] == {"latency": 1}
    back = stats_from_json(doc)
    assert back.histogram("latency").overflow == 1
    assert back.histogram("latency").count == 0


def test_an_ok_turn_without_latency_is_still_counted() -> None:
    """Histograms skip a missing timing instead of failing the recorder."""
    recorder = StageRecorder(["a"])
    recorder.record(turn(0, latency_us=None))
    stats = recorder.freeze(
        index=0,
        mode="closed",
        duration_s=1,
        warmup_s=0,
        steady_s=1,
        started_unix_s=0,
        ended_unix_s=1,
    ).total
    assert stats.ok == 1
    assert stats.histogram("latency").count == 0


def test_stream_end_and_cache_table() -> None:
    """Each stage shows the chunk gap, the stream tail and the cached share of
    first and later turns, with the legend naming docs/metrics.md."""
    turns = [turn(0, tail_us=40_000, prompt_tokens=10, cached_tokens=0)]
    turns += [turn(0, turn=2, tail_us=60_000, prompt_tokens=40, cached_tokens=30)]
    text = render_text(summary([snapshot(turns)]))
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("scenario") and "stream tail" in line)
    assert " ".join(header.split()) == (
        "scenario chunk gap p50 p99 stream tail p50 p99 max cached 1st turns later turns"
    )
    row = lines[lines.index(header) + 1]
    assert row.split()[-5:] == ["40.0*", "60.0*", "60.0", "0.0%", "75.0%"]  # 2 turns: marked
    assert "docs/metrics.md#definitions" in " ".join(text.split())
    assert LEGEND.startswith("names as defined in docs/metrics.md#definitions")


def test_cache_share_reached_is_stated_outside_bust() -> None:
    """shared-prefix and natural state the cached share they reached; a
    summary without a cache mode (or without prompt tokens) says nothing
    wrong."""
    turns = [turn(0, prompt_tokens=10, cached_tokens=5), turn(0, turn=2, cached_tokens=None)]
    doc = summary([snapshot(turns)], plan=make_plan(cache_mode="shared-prefix"))
    assert (
        "  prompt cache (shared-prefix): cached share 50.0% on first turns, 0.0% on later turns"
        in render_text(doc).splitlines()
    )
    del doc["run"]["cache_mode"]
    assert "on first turns" not in render_text(doc)
    none = summary([snapshot([turn(0, prompt_tokens=0)])], plan=make_plan(cache_mode="natural"))
    assert "cached share - on first turns, - on later turns" in render_text(none)


def test_bust_warning_counts_first_turns_served_from_cache() -> None:
    """bust: one first turn with cached tokens is named in the verdict; later
    turns with cached tokens are expected (their own history) and are not."""
    doc = summary([snapshot([turn(0, cached_tokens=3), turn(0, turn=2, cached_tokens=9)])])
    assert doc["run"]["cache_mode"] == "bust"
    verdict = render_text(doc).split("\n\n")[0]
    assert "  warning: cache busting did not hold: 1 first turn was served from cache" in verdict
    held = summary([snapshot([turn(0, cached_tokens=0), turn(0, turn=2, cached_tokens=9)])])
    assert "cache busting" not in render_text(held)


def test_jsonl_lines_lost_to_a_failed_file_are_shown() -> None:
    """Lines the JSONL file could not take are in the summary and the report;
    a run that lost none does not mention them."""
    doc = summary([snapshot([turn(0)], health=HEALTHY)], jsonl_lines=240, jsonl_lost_lines=6251)
    assert doc["run"]["jsonl_lost_lines"] == 6251
    assert (
        "  JSONL: 240 lines written, 0 dropped (buffer full), 6,251 lost "
        "(the file could not be written)" in render_text(doc).splitlines()
    )
    clean = render_text(summary([snapshot([turn(0)], health=HEALTHY)], jsonl_lines=1))
    assert "  JSONL: 1 lines written, 0 dropped (buffer full)" in clean.splitlines()


def test_a_stage_stopped_early_shows_its_windows_to_one_decimal() -> None:
    """A stop leaves a ragged steady window (4.15078 s): shown as 4.2s, not 4.15078s."""
    doc = summary([snapshot([turn(0)])])
    doc["stages"][0].update(duration_s=15, warmup_s=2, steady_s=4.15078, stopped_early=True)
    title = next(line for line in render_text(doc).splitlines() if line.startswith("Stage 1/"))
    assert title.endswith("15s (warm-up 2s, steady 4.2s)  [stopped early]")
