"""Per-turn SLOs: their syntax, canonical text, errors, and where they come
from (the profile's `slo`, `--slo` through `Overrides`)."""

from __future__ import annotations

import pytest

from loadtest.config import (
    SLO_METRICS,
    FieldError,
    Overrides,
    Profile,
    Slo,
    describe_plan,
    parse_slo,
    parse_slos,
    resolve,
    structure_profile,
)
from loadtest.errors import ConfigError

BASE = {"stages": ["1:1s"], "defaults": {"target": "http://gw.test/v1", "model": "m"}}


@pytest.mark.parametrize(
    ("text", "metric", "limit_us", "canonical"),
    [
        ("ttft<=300ms", "ttft", 300_000, "ttft<=300ms"),
        (" latency <= 10s ", "latency", 10_000_000, "latency<=10s"),
        ("itl_p99<=0.05s", "itl_p99", 50_000, "itl_p99<=50ms"),
        ("tpot<=1500us", "tpot", 1_500, "tpot<=1.5ms"),
        ("ttfb<=2m", "ttfb", 120_000_000, "ttfb<=2m"),
    ],
)
def test_an_slo_parses_to_its_metric_limit_and_canonical_text(
    text: str, metric: str, limit_us: int, canonical: str
) -> None:
    slo = parse_slo(text)
    assert slo == Slo(metric, limit_us)
    assert str(slo) == canonical


@pytest.mark.parametrize("metric", SLO_METRICS)
def test_every_metric_is_accepted(metric: str) -> None:
    assert parse_slo(f"{metric}<=1s").metric == metric


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ttft<300ms", 'SLO "ttft<300ms": expected METRIC<=DURATION'),
        ("tft<=300ms", 'SLO "tft<=300ms": unknown metric "tft" (known: ttft,'),
        ("ttft<=fast", 'SLO "ttft<=fast": expected a duration like'),
        ("ttft<=0", 'SLO "ttft<=0": the limit must be longer than 0'),
    ],
)
def test_a_bad_slo_is_one_line_naming_it(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^SLO ") as info:
        parse_slo(text)
    assert str(info.value).startswith(message)


def test_slos_are_comma_separated_or_repeated() -> None:
    slos = parse_slos(["ttft<=300ms,latency<=10s", "itl_max<=80ms"])
    assert [str(s) for s in slos] == ["ttft<=300ms", "latency<=10s", "itl_max<=80ms"]


def test_a_metric_given_twice_or_an_empty_item_is_an_error() -> None:
    with pytest.raises(ValueError, match='ttft already has the limit "ttft<=300ms"'):
        parse_slos(["ttft<=300ms", "ttft<=1s"])
    with pytest.raises(ValueError, match="an empty SLO between commas"):
        parse_slos(["ttft<=300ms,,latency<=1s"])


def test_the_profile_slo_reaches_the_plan() -> None:
    plan = resolve(structure_profile({**BASE, "slo": ["ttft<=300ms", "latency<=10s"]}))
    assert plan.slo == (Slo("ttft", 300_000), Slo("latency", 10_000_000))
    assert resolve(structure_profile(BASE)).slo == ()


def test_a_bad_profile_slo_is_named_by_its_path() -> None:
    with pytest.raises(ValueError, match="p99") as info:
        structure_profile({**BASE, "slo": ["ttft<=1s", "p99<=1s"]})
    assert info.value.args[0] == [
        '$.slo: SLO "p99<=1s": unknown metric "p99" (known: ' + ", ".join(SLO_METRICS) + ")"
    ]


def test_too_many_profile_slos_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 10,000 items"):
        structure_profile({**BASE, "slo": ["ttft<=1s"] * 10_001})
    with pytest.raises(FieldError, match="at most 10,000 items"):  # a Profile built in code
        Profile(slo=("ttft<=1s",) * 10_001)


def test_slo_override_replaces_the_profile_slo_in_canonical_form() -> None:
    profile = structure_profile({**BASE, "slo": ["ttft<=300ms"]})
    plan = resolve(profile, Overrides(slo="latency <= 2s"))
    assert plan.slo == (Slo("latency", 2_000_000),)
    assert plan.profile.slo == ("latency<=2s",)
    assert resolve(profile, Overrides(slo=["ttft<=1s", "itl_p50<=5ms"])).slo == (
        Slo("ttft", 1_000_000),
        Slo("itl_p50", 5_000),
    )
    assert resolve(profile, Overrides()).slo == (Slo("ttft", 300_000),)


def test_a_bad_slo_override_names_the_flag() -> None:
    with pytest.raises(ConfigError, match=r'^--slo: SLO "ttft=1s": expected METRIC<=DURATION'):
        Overrides(slo="ttft=1s")


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"goodput": 1.5}, "goodput: is a fraction from 0 to 1, got 1.5"),
        ({"goodput": -0.1}, "goodput: must be at least 0"),
        ({"goodput_rps": -1}, "goodput_rps"),
    ],
)
def test_goodput_thresholds_are_checked(thresholds: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        structure_profile({**BASE, "thresholds": thresholds})


def test_the_plan_description_names_the_slos() -> None:
    plan = resolve(structure_profile({**BASE, "slo": ["ttft <= 0.3s", "latency<=10s"]}))
    assert "SLOs (goodput per stage): ttft<=300ms, latency<=10s\n" in describe_plan(plan)
    assert "SLOs" not in describe_plan(resolve(structure_profile(BASE)))
