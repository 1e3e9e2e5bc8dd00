"""deploy/grafana/loadtest-live.json: an importable dashboard whose every
PromQL query names metrics and labels the live endpoint exposes, so that
the dashboard cannot drift from the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from loadtest.report import render_live, stage_exposition
from tests.unit.report.test_live_metrics import BASE, live_stage

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "loadtest-live.json"
NAME = re.compile(r"\b(loadtest_[a-z0-9_]+)\b")
SELECTOR = re.compile(r"\b(loadtest_[a-z0-9_]+)\{([^}]*)\}")
LABEL = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|on)\s*\(([^)]*)\)")


def exposed() -> dict[str, set[str]]:
    """Every sample name of a live exposition with all it can hold (a
    closed and an open stage, errors, streamed turns, health) -> its labels."""
    closed = live_stage(index=0, mode="closed", concurrency=4, rate=None)
    text = render_live(
        [stage_exposition(closed, BASE), stage_exposition(live_stage(), BASE)], BASE, 2
    )
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


def expressions(dashboard: dict[str, Any]) -> list[str]:
    found = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    found += [v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return found


def test_the_dashboard_is_importable() -> None:
    """A uid, a title, a Prometheus data source variable, and panels with
    unique ids, a place on the grid and queries with their refId."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "loadtest-live"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) >= 10
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["datasource"]["uid"] == "${datasource}"
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)) >= 1
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("requests", "errors", "in flight", "latency", "ttft", "stage", "loop lag"):
        assert topic in titles, topic


def test_every_metric_and_label_the_dashboard_queries_is_exposed() -> None:
    """Each `loadtest_*` name in a query is a sample name of the live
    exposition; each label a query selects on or groups by belongs to one
    of the metrics of that query."""
    names = exposed()
    for expr in expressions(json.loads(DASHBOARD.read_text())):
        used = set(NAME.findall(expr))
        assert used, expr
        assert used <= set(names), (expr, used - set(names))
        labels = set().union(*(names[name] for name in used))
        for name, selector in SELECTOR.findall(expr):
            assert set(LABEL.findall(selector)) <= names[name], (expr, name)
        for grouping in GROUPING.findall(expr):
            assert {g.strip() for g in grouping.split(",")} <= labels, expr


def test_the_drift_check_catches_a_renamed_metric() -> None:
    """The check above would fail on a name the exposition does not have."""
    assert "loadtest_requests_total" in exposed()
    assert "loadtest_request_total" not in exposed()
