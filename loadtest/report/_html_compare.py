"""Pages that overlay several runs on the same axes: `compare` and multi-service.

Rules:
- Each overlaid run (the baseline and the new run; each gateway) has one
  colour on every chart of the page, in the order given.
- `compare_page`: the comparison's verdict, regressions and rules as
  `loadtest compare` prints them, the saturation view of both runs over
  the stage numbers, then per matched stage their latency and TTFT
  distributions and their time series, each from the stage's own start;
  last, the tables per stage `compare` prints.
- Time series charts shade the warm-up and mark the start of the first
  run's stages (the baseline's; on a round's shared clock, every
  gateway's): ok turns are steady turns, none in warm-up.
- `gateways_page` (multi-service): the comparison's text, then per round
  each gateway's latency and TTFT distributions (every stage of its run
  merged exactly) and its time series on the round's shared clock: seconds
  since the round's common start, so what the upstream did at a moment is
  at the same x for every gateway. A gateway that failed in a round has no
  series there, and the round says why.

Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.metrics import Histogram, merge_stats
from loadtest.report._html_model import (
    Chart,
    Item,
    Page,
    Section,
    Series,
    Text,
    distribution_ms,
    log_y,
    percentile_chart,
)
from loadtest.report._html_run import load_text
from loadtest.report._html_series import stage_bands, stage_start_s
from loadtest.report._summary import stats_from_json

__all__ = ["GatewayRun", "compare_page", "gateways_page", "overlay_charts"]

Doc = Mapping[str, Any]

_DISTRIBUTIONS = (("latency", "Latency distribution (ok turns)"), ("ttft", "TTFT distribution"))


def _merged(stages: Sequence[Doc], metric: str) -> Histogram | None:
    hist = merge_stats("all", (stats_from_json(s["total"]) for s in stages)).histogram(metric)
    return hist if hist.count else None


def _second_values(stages: Sequence[Doc], key: str, origin_s: float) -> dict[int, float | None]:
    """Per whole second since `origin_s`: `ok` per second, or a metric's p50."""
    values: dict[int, float | None] = {}
    for stage in stages:
        for bucket in stage.get("timeseries") or ():
            x = int(bucket["t"] - origin_s)
            values[x] = float(bucket["ok"]) if key == "ok" else bucket[f"{key}_ms"]["p50"]
    return values


def _first_s(stages: Sequence[Doc]) -> float:
    """When the first of `stages` started (or its first turn, if earlier)."""
    starts = [stage_start_s(s) for s in stages]
    starts += [b["t"] for s in stages for b in (s.get("timeseries") or ())[:1]]
    return min(starts, default=0.0)


def overlay_charts(
    runs: Sequence[tuple[str, Sequence[Doc]]],
    *,
    id_prefix: str,
    title_suffix: str,
    origin_s: float | None = None,
) -> tuple[Chart, ...]:
    """Distributions and time series of `runs` ((label, stages)), one
    colour each. The time axis starts at `origin_s` (Unix seconds), or at
    each run's own start (its first stage's, or its first turn's if earlier)."""
    charts = []
    for metric, title in _DISTRIBUTIONS:
        curves = [(label, _merged(stages, metric)) for label, stages in runs]
        series = tuple(
            Series(label=label, values=distribution_ms(hist), color=index)
            for index, (label, hist) in enumerate(curves)
            if hist is not None
        )
        if series:
            charts.append(
                percentile_chart(
                    id=f"{id_prefix}-dist-{metric}", title=f"{title}{title_suffix}", series=series
                )
            )
    per_run = [
        (label, stages, origin_s if origin_s is not None else _first_s(stages))
        for label, stages in runs
    ]
    # The stages and warm-ups of the first run (the baseline; on a shared
    # clock, every gateway's).
    _, first_stages, first_origin = per_run[0] if per_run else ("", (), 0.0)
    bands, marks = stage_bands(first_stages, first_origin)
    for key, title, unit in (
        ("ok", "OK turns per second (steady)", "turns per second"),
        ("ttft", "TTFT p50 per second", "ms"),
        ("latency", "Latency p50 per second", "ms"),
    ):
        columns = [(label, _second_values(stages, key, start)) for label, stages, start in per_run]
        seconds = sorted({x for _, values in columns for x in values})
        if not seconds:
            continue
        xs = tuple(float(x) for x in range(seconds[0], seconds[-1] + 1))
        series = tuple(
            Series(label=label, values=tuple(values.get(int(x)) for x in xs), color=index)
            for index, (label, values) in enumerate(columns)
        )
        if any(v is not None for s in series for v in s.values):
            charts.append(
                Chart(
                    id=f"{id_prefix}-ts-{key}",
                    bands=bands,
                    marks=marks,
                    title=f"{title}{title_suffix}",
                    x_kind="seconds",
                    x_label="seconds since the start"
                    if origin_s is None
                    else "seconds since the round's shared start",
                    y_label=unit,
                    xs=xs,
                    series=series,
                )
            )
    return tuple(charts)


def _run_line(label: str, name: str, summary: Doc) -> str:
    run = summary["run"]
    return f"{label}: {name} (profile {run['profile']}, started {run['started_at']})"


def _stage_value(stage: Doc | None, name: str, key: str | None) -> float | None:
    if stage is None:
        return None
    total = stage["total"]
    value: float | None = total[name] if key is None else (total[name] or {}).get(key)
    return value


def compare_page(
    old: Doc, new: Doc, comparison_text: str, *, names: tuple[str, str], regressed: bool
) -> Page:
    """The page of `loadtest compare OLD NEW`."""
    labels = ("baseline", "new")
    runs = (old, new)
    count = max(len(old["stages"]), len(new["stages"]))
    by_index = [{s["index"]: s for s in run["stages"]} for run in runs]
    ticks = tuple(
        f"{i + 1}: " + " / ".join(dict.fromkeys(load_text(m[i]) for m in by_index if i in m))
        for i in range(count)
    )
    common: dict[str, Any] = {
        "x_kind": "category",
        "x_label": "stage: offered load (baseline / new when they differ)",
        "xs": tuple(float(i + 1) for i in range(count)),
        "x_ticks": ticks,
    }
    latency = tuple(
        Series(
            label=f"{label} {title}",
            values=tuple(_stage_value(m.get(i), name, "p99") for i in range(count)),
            color=index,
            dash=name == "ttft_ms",
        )
        for index, (label, m) in enumerate(zip(labels, by_index, strict=True))
        for name, title in (("latency_ms", "latency p99"), ("ttft_ms", "TTFT p99"))
    )
    saturation: list[Item] = [
        Chart(
            id="cmp-sat-rps",
            title="Throughput per stage",
            y_label="completed turns per second",
            series=tuple(
                Series(
                    label=label,
                    values=tuple(
                        _stage_value(m.get(i), "throughput_rps", None) for i in range(count)
                    ),
                    color=index,
                )
                for index, (label, m) in enumerate(zip(labels, by_index, strict=True))
            ),
            **common,
        ),
        Chart(
            id="cmp-sat-latency",
            title="Latency and TTFT p99 per stage",
            y_label="ms",
            series=latency,
            y_log=log_y(latency),
            note="Solid: latency p99; dashed: TTFT p99.",
            **common,
        ),
    ]
    # The verdict and rules first; the tables per stage (after the first
    # blank line) at the end of the page, after the charts.
    head, _, tables = comparison_text.rstrip("\n").partition("\n\n")
    sections = [
        Section(
            id="verdict",
            title="Comparison",
            items=(
                Text(
                    lines=tuple(head.splitlines()),
                    tone="fail" if regressed else "pass",
                    preformatted=True,
                ),
            ),
        ),
        Section(id="saturation", title="Saturation", items=tuple(saturation)),
    ]
    for i in range(count):
        if i in by_index[0] and i in by_index[1]:
            charts = overlay_charts(
                [(label, [m[i]]) for label, m in zip(labels, by_index, strict=True)],
                id_prefix=f"cmp-s{i + 1}",
                title_suffix=f", stage {i + 1}",
            )
            sections.append(
                Section(id=f"stage-{i + 1}", title=f"Stage {i + 1}: {ticks[i][3:]}", items=charts)
            )
    if tables:
        sections.append(
            Section(
                id="tables",
                title="Figures per stage",
                items=(Text(lines=tuple(tables.splitlines()), preformatted=True),),
            )
        )
    header = tuple(
        _run_line(label, name, run) for label, name, run in zip(labels, names, runs, strict=True)
    )
    return Page(title="loadtest compare", header=header, sections=tuple(sections))


#: One gateway in one round: its name, its run's summary (None when it
#: gave none) and why it failed (None when it did not).
GatewayRun = tuple[str, Doc | None, str | None]


def gateways_page(
    rounds: Sequence[tuple[int, float, str, Sequence[GatewayRun]]],
    summary_text: str,
    *,
    profile: str,
) -> Page:
    """The page of a multi-service comparison: `rounds` are (number, shared
    start in Unix seconds, the round's table, gateways)."""
    sections = [
        Section(
            id="summary",
            title="Summary",
            items=(Text(lines=tuple(summary_text.rstrip("\n").splitlines()), preformatted=True),),
        )
    ]
    for number, start_s, table, gateways in rounds:
        failed = tuple(f"{name}: FAILED: {why}" for name, _, why in gateways if why is not None)
        items: list[Item] = [Text(lines=tuple(table.rstrip("\n").splitlines()), preformatted=True)]
        items += [Text(lines=failed, tone="fail")] if failed else []
        items += overlay_charts(
            [(name, doc["stages"]) for name, doc, _ in gateways if doc is not None],
            id_prefix=f"round-{number}",
            title_suffix=f", round {number}",
            origin_s=start_s,
        )
        sections.append(Section(id=f"round-{number}", title=f"Round {number}", items=tuple(items)))
    names = ", ".join(dict.fromkeys(name for *_, gateways in rounds for name, _, _ in gateways))
    return Page(
        title=f"loadtest multi-service: {profile}",
        header=(f"gateways: {names}", f"rounds: {len(rounds)}"),
        sections=tuple(sections),
    )
