"""Resolution: overrides, precedence, targets, environment, masking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from loadtest.config import (
    ClosedStage,
    Duration,
    OpenStage,
    Overrides,
    RunPlan,
    describe_plan,
    dump_profile,
    parse_header_flag,
    parse_profile,
    parse_stages,
    resolve,
    structure_profile,
)
from loadtest.config._words import counted
from loadtest.errors import ConfigError
from loadtest.protocol import _registry, register
from loadtest.protocol.openai_chat import OpenAIChatAdapter

if TYPE_CHECKING:
    from collections.abc import Collection

MIXED: dict[str, Any] = {
    "stages": ["100:1m"],
    "defaults": {
        "target": "http://localhost:4000/v1",
        "model": "m-default",
        "headers": {"authorization": "Bearer default", "x-team": "a"},
        "extra_body": {"top_p": 0.9},
    },
    "scenarios": [
        {"name": "chat", "weight": 55},
        {
            "name": "claude",
            "weight": 30,
            "protocol": "anthropic",
            "model": "m-claude",
            "headers": {"anthropic-version": "2023-06-01", "X-Team": "b"},
            "extra_body": {"top_k": 5},
        },
        {
            "name": "resp",
            "weight": 15,
            "protocol": "openai-responses",
            "target": "http://gw:9/custom/path",
        },
    ],
}


def plan_of(
    data: dict[str, Any], overrides: Overrides | None = None, env: dict[str, str] | None = None
) -> RunPlan:
    return resolve(structure_profile(data), overrides, env=env or {})


def test_scenario_settings_win_over_defaults() -> None:
    """Scenario values override defaults; headers merge by name without regard to case."""
    plan = plan_of(MIXED)
    chat, claude, _ = plan.scenarios
    assert chat.model == "m-default"
    assert claude.model == "m-claude"
    assert dict(claude.headers) == {
        "authorization": "Bearer default",
        "anthropic-version": "2023-06-01",
        "X-Team": "b",
    }
    assert claude.extra_body == {"top_p": 0.9, "top_k": 5}


def test_base_url_gets_each_protocol_path() -> None:
    """A base URL ending in /v1 keeps each scenario's protocol path; a full URL stays as is."""
    plan = plan_of(MIXED)
    assert [s.target.path for s in plan.scenarios] == [
        "/v1/chat/completions",
        "/v1/messages",
        "/custom/path",
    ]
    assert plan.scenarios[2].target.host == "gw"
    assert plan.scenarios[2].target.port == 9


@pytest.mark.parametrize(
    ("target", "paths"),
    [
        ("http://other:8080", ["/v1/chat/completions", "/v1/messages", "/v1/responses"]),
        ("http://other:8080/", ["/v1/chat/completions", "/v1/messages", "/v1/responses"]),
        (
            "https://other/gw/v1/",
            ["/gw/v1/chat/completions", "/gw/v1/messages", "/gw/v1/responses"],
        ),
        ("http://other/x/chat", ["/x/chat", "/x/chat", "/x/chat"]),
        (
            "http://other/v1/chat/completions?api-version=1",
            ["/v1/chat/completions?api-version=1"] * 3,
        ),
    ],
)
def test_target_override_rule(target: str, paths: list[str]) -> None:
    """--target: base URLs keep protocol paths, full URLs replace every target as is."""
    plan = plan_of(MIXED, Overrides(target=target))
    assert [s.target.path for s in plan.scenarios] == paths
    assert {s.target.host for s in plan.scenarios} == {"other"}


def test_https_default_port() -> None:
    """https targets default to port 443, http to 80."""
    plan = plan_of(MIXED, Overrides(target="https://secure.example"))
    assert plan.scenarios[0].target.port == 443
    assert plan.scenarios[0].target.scheme == "https"


def test_cli_overrides_win_over_scenarios() -> None:
    """--model, --vk, --header, --stages and --seed override the profile; --header after --vk."""
    overrides = Overrides(
        model="m-cli",
        vk="sk-secret",
        headers=(parse_header_flag("X-Team: cli"),),
        stages=parse_stages("5:10s"),
        seed=7,
    )
    plan = plan_of(MIXED, overrides)
    assert {s.model for s in plan.scenarios} == {"m-cli"}
    for scenario in plan.scenarios:
        headers = {k.lower(): v for k, v in scenario.headers}
        assert headers["authorization"] == "Bearer sk-secret"
        assert headers["x-team"] == "cli"
    assert plan.stages == (ClosedStage(5, Duration(10_000_000)),)
    assert plan.seed == 7
    header_after_vk = plan_of(MIXED, Overrides(vk="a", headers=(("Authorization", "Basic b"),)))
    assert dict(header_after_vk.scenarios[0].headers)["Authorization"] == "Basic b"


def test_implicit_scenario_is_named_default() -> None:
    """No scenarios block: defaults form one scenario called "default"."""
    plan = plan_of({"stages": ["1:1s"], "defaults": {"target": "http://h", "model": "m"}})
    assert [s.name for s in plan.scenarios] == ["default"]
    assert plan.scenarios[0].target.path == "/v1/chat/completions"


def test_environment_variables_expand_in_targets_and_headers() -> None:
    """`${NAME}` reads the environment in targets and header values."""
    data = {
        "stages": ["1:1s"],
        "defaults": {
            "target": "http://${GW_HOST}:4000",
            "model": "m",
            "headers": {"x-api-key": "${GW_KEY}", "x-plain": "a$b"},
        },
    }
    plan = plan_of(data, env={"GW_HOST": "gw", "GW_KEY": "k-1"})
    assert plan.scenarios[0].target.host == "gw"
    assert dict(plan.scenarios[0].headers) == {"x-api-key": "k-1", "x-plain": "a$b"}


def test_every_resolution_problem_is_reported() -> None:
    """Missing env vars, target, model and unknown protocols are all listed with paths."""
    data = {
        "stages": ["1:1s"],
        "defaults": {"headers": {"x-api-key": "${NOPE_KEY}"}},
        "scenarios": [
            {"name": "a", "protocol": "grpc"},
            {"name": "b", "target": "ftp://x", "model": "m"},
        ],
    }
    with pytest.raises(ConfigError) as info:
        plan_of(data)
    problems = info.value.problems
    assert (
        "$.scenarios[0].protocol: unknown protocol 'grpc'; "
        "available: anthropic, openai-chat, openai-embeddings, openai-responses" in problems
    )
    assert "$.scenarios[0].target: no target; set one in the profile or pass --target" in problems
    assert (
        '$.scenarios[0].headers["x-api-key"]: environment variable NOPE_KEY is not set' in problems
    )
    assert "$.scenarios[0].model: no model; set one in the profile or pass --model" in problems
    assert (
        '$.scenarios[1].target: expected an http:// or https:// URL with a host, got "ftp://x"'
        in problems
    )


def test_missing_stages_is_an_error_unless_given() -> None:
    """A profile without stages needs --stages."""
    data = {"defaults": {"target": "http://h", "model": "m"}}
    with pytest.raises(ConfigError, match=r"\$.stages: no stages"):
        plan_of(data)
    assert len(plan_of(data, Overrides(stages=parse_stages("1:1s"))).stages) == 1


def test_bad_port_is_reported() -> None:
    """A target with a non-numeric port is a clear error."""
    with pytest.raises(ConfigError, match="is not a valid URL"):
        plan_of({"stages": ["1:1s"], "defaults": {"target": "http://h:port", "model": "m"}})


def test_anthropic_without_version_header_warns() -> None:
    """An anthropic scenario without anthropic-version gets a warning, not an error."""
    plan = plan_of(
        {
            "stages": ["1:1s"],
            "defaults": {"target": "http://h", "model": "m", "protocol": "anthropic"},
        }
    )
    assert len(plan.warnings) == 1
    assert "anthropic-version" in plan.warnings[0]
    headers = {"Anthropic-Version": "2023-06-01"}
    profile = {
        "stages": ["1:1s"],
        "defaults": {
            "target": "http://h",
            "model": "m",
            "protocol": "anthropic",
            "headers": headers,
        },
    }
    assert plan_of(profile).warnings == ()


class _NeedsTeam(OpenAIChatAdapter):
    """A third-party protocol that wants an x-team header."""

    @classmethod
    def header_warnings(cls, header_names: Collection[str]) -> list[str]:
        return [] if "x-team" in header_names else ["no x-team header"]


def test_a_protocol_states_its_own_header_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warning comes from the scenario's adapter, for any protocol."""
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    register("needs-team")(_NeedsTeam)
    defaults = {"target": "http://h", "model": "m", "protocol": "needs-team"}
    plan = plan_of({"stages": ["1:1s"], "defaults": defaults})
    assert plan.warnings == ("scenario 'default': no x-team header",)


@pytest.mark.parametrize("flag", ["nocolon", ": v", "a b: c"])
def test_bad_header_flag(flag: str) -> None:
    """--header needs "Name: value" with a name free of spaces."""
    with pytest.raises(ConfigError, match="--header"):
        parse_header_flag(flag)


def test_stage_flag_names_the_bad_piece() -> None:
    """--stages reports each bad piece by position."""
    with pytest.raises(ValueError) as info:  # noqa: PT011
        parse_stages("1:10s,@x:10s,5")
    assert info.value.args[0] == [
        'piece 2 "@x:10s": rate must be a positive number, got "x"',
        'piece 3 "5": expected LOAD:DURATION like "100:60s" or "@200:60s"; got "5"',
    ]


def test_describe_masks_secrets_and_shows_split() -> None:
    """The plan text shows the VU split and never a key."""
    plan = plan_of(
        {**MIXED, "redact_headers": ["x-team"], "stages": ["1000:1m", "@20:30s"], "warmup": "10s"},
        Overrides(vk="sk-live-123", target="http://u:pw@gw/v1?key=abc"),
    )
    text = describe_plan(plan)
    assert "sk-live-123" not in text
    assert "abc" not in text
    assert ":pw@" not in text
    assert "Bearer ***" in text
    assert "header X-Team: ***" in text
    assert "VUs: chat 550, claude 300, resp 150" in text
    assert "warm-up 0-10s, steady 10s-1m" in text
    assert "expected: 600 conversations, ~600 requests" in text


def test_effective_profile_round_trips_with_overrides() -> None:
    """The effective profile (overrides written in) dumps to TOML and resolves the same."""
    plan = plan_of(MIXED, Overrides(model="m2", stages=parse_stages("@3:5s")))
    again = resolve(parse_profile(dump_profile(plan.profile), "toml"), env={})
    assert again.scenarios == plan.scenarios
    assert again.stages == plan.stages


def test_warmup_covering_a_stage_warns() -> None:
    """A warm-up as long as a stage leaves it no steady window: a warning names it."""
    plan = plan_of(
        {
            "stages": ["1:10s", "1:3s"],
            "warmup": "5s",
            "defaults": {"target": "http://h", "model": "m"},
        }
    )
    assert plan.warnings == (
        "stage 2: the warm-up (5s) covers the whole stage (3s): it will have no steady "
        "statistics (see --warmup)",
    )
    assert not plan_of(
        {"stages": ["1:3s"], "warmup": "5s", "defaults": {"target": "http://h", "model": "m"}},
        Overrides(warmup=Duration(0)),
    ).warnings


def test_start_spread_as_long_as_a_closed_stage_warns() -> None:
    """A start spread that covers a closed stage leaves VUs unstarted: a warning
    names it; open stages have no VUs to spread."""
    plan = plan_of(
        {
            "stages": ["4:10s", "4:3s", "@5:2s"],
            "start_spread": "3s",
            "defaults": {"target": "http://h", "model": "m"},
        }
    )
    assert plan.start_spread_s == 3.0
    assert plan.warnings == (
        "stage 2: the start spread (3s) is as long as the stage (3s): its last VUs will not start",
    )


def test_overrides_take_the_strings_of_the_flags() -> None:
    """`stages` and `warmup` read the strings `--stages` and `--warmup` read."""
    overrides = Overrides(stages="2:4s,@5:4s", warmup="1s")
    assert overrides.stages == parse_stages("2:4s,@5:4s")
    assert overrides.warmup == Duration.from_seconds(1)
    assert Overrides(stages=("2:4s", ClosedStage(1, Duration(1)))).stages == (
        *parse_stages("2:4s"),
        ClosedStage(1, Duration(1)),
    )
    plan = plan_of(MIXED, Overrides(stages="3:2s", warmup="0"))
    assert plan.stages == parse_stages("3:2s")
    assert plan.warmup_s == 0


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"stages": "2:4s,oops"}, 'stages (override): piece 2 "oops": expected LOAD:DURATION'),
        ({"stages": ["oops"]}, "stages (override): expected LOAD:DURATION"),
        ({"warmup": "1 sec"}, "warmup (override): expected a duration"),
    ],
)
def test_a_bad_override_string_is_refused_at_construction(
    kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Overrides(**kwargs)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(problem)


def test_a_bad_target_override_is_named_as_an_override_once() -> None:
    """Not by the profile path it was written into, and once for all scenarios."""
    with pytest.raises(ConfigError) as caught:
        plan_of(MIXED, Overrides(target="ftp://gw"))
    assert caught.value.problems == [
        'target (override): expected an http:// or https:// URL with a host, got "ftp://gw"'
    ]


def test_describe_counts_in_words() -> None:
    """One stage of one VU reads "1 stage", "1 VU" (never "1 stage(s)", "1 VUs")."""
    text = describe_plan(plan_of(MIXED, Overrides(stages="1:10s")))
    assert ": 1 stage, 10s in all" in text
    assert "closed loop, 1 VU for 10s" in text
    text = describe_plan(plan_of(MIXED, Overrides(stages="2:10s,3:10s")))
    assert ": 2 stages, 20s in all" in text
    assert "closed loop, 3 VUs for 10s" in text


def test_counted() -> None:
    assert counted(1, "VU") == "1 VU"
    assert counted(0, "VU") == "0 VUs"
    assert counted(1200, "turn") == "1,200 turns"
    assert counted(2, "summary", "summaries") == "2 summaries"


def test_each_open_stage_takes_its_own_arrival_process_or_the_profiles() -> None:
    """A stage's arrival (and gamma's burstiness) wins over the profile's;
    the plan text names the process of each open stage."""
    plan = plan_of(
        {**MIXED, "arrival": "gamma", "burstiness": 4, "stages": ["@20:30s", "@5:1s~poisson"]},
        Overrides(stages=parse_stages("@20:30s,@5:1s~poisson,@2:1s~gamma(0.5)")),
    )
    processes = [plan.arrival_process(s) for s in plan.stages if isinstance(s, OpenStage)]
    assert processes == [("gamma", 4.0), ("poisson", 4.0), ("gamma", 0.5)]
    text = describe_plan(plan)
    assert "20 conversations/s (gamma, burstiness 4)" in text
    assert "5 conversations/s (poisson)" in text
    assert "2 conversations/s (gamma, burstiness 0.5)" in text


def test_a_request_count_started_within_the_warmup_warns() -> None:
    """An open stage at a constant rate that starts its whole request count
    inside the warm-up has no steady window either (100 turns at 50/s: 2 s);
    a ramp, a closed stage, a count that outlasts the warm-up or a duration
    that ends the stage first do not warn of it."""
    base = {"warmup": "10s", "defaults": {"target": "http://h", "model": "m"}}
    plan = plan_of({**base, "stages": ["100x@50", "100x@50:30s"]})
    assert plan.warnings == tuple(
        f"stage {n}: its 100 turns start within about 2s at 50/s, inside the warm-up (10s): "
        "it will have no steady statistics (see --warmup)"
        for n in (1, 2)
    )
    quiet = ["1000x@50", "100x@10->@50:30s", "100x10", "100x@50:1s", "600x@50"]
    assert plan_of({**base, "stages": quiet}).warnings == (
        "stage 4: the warm-up (10s) covers the whole stage (1s): it will have no steady "
        "statistics (see --warmup)",
    )


def test_goodput_thresholds_without_slo_warn() -> None:
    """A goodput threshold with no SLO can only fail ("no data"): a warning
    names where it is; with SLOs (the profile's or --slo) there is none."""
    base = {
        "stages": ["1:10s"],
        "thresholds": {"goodput": 0.9, "goodput_rps": 5, "error_rate": 0.01},
        "defaults": {"target": "http://h", "model": "m"},
        "scenarios": [
            {"name": "a", "thresholds": {"goodput_rps": 1}},
            {"name": "b", "thresholds": {"p99_ms": 100}},
            {"name": "c"},
        ],
    }
    assert plan_of(base).warnings == (
        "$.thresholds: goodput and goodput_rps judge turns by the SLOs, and there are none "
        "(set slo or pass --slo): they will fail as no data",
        "$.scenarios[0].thresholds: goodput_rps judges turns by the SLOs, and there are none "
        "(set slo or pass --slo): they will fail as no data",
    )
    assert plan_of({**base, "slo": ["ttft<=1s"]}).warnings == ()
    assert plan_of(base, Overrides(slo=("ttft<=1s",))).warnings == ()
