"""Masking secrets in headers, URLs and written-out profiles."""

from __future__ import annotations

from loadtest.config import (
    Overrides,
    describe_plan,
    dump_profile,
    is_secret,
    mask_header,
    mask_url,
    parse_profile,
    redact_profile,
    resolve,
    scrub,
    secret_names,
    secret_values,
    structure_profile,
)
from loadtest.config._redact import MASK
from loadtest.config._resolve import mask_url_safely

SECRET = secret_names(["x-team"])


def test_header_masking_keeps_the_scheme_only() -> None:
    """Secret headers lose their value (an auth scheme word stays); others are kept."""
    assert mask_header("Authorization", "Bearer sk-1", SECRET) == "Bearer ***"
    assert mask_header("x-api-key", "sk-1", SECRET) == "***"
    assert mask_header("X-Team", "abc", SECRET) == "***"
    assert mask_header("accept", "text/plain", SECRET) == "text/plain"


def test_url_masking() -> None:
    """Passwords and key-like query values are masked; the rest is kept."""
    assert mask_url("https://u:pw@h/v1?key=abc&api-version=1") == (
        "https://u:***@h/v1?key=***&api-version=1"
    )
    assert mask_url("https://token@h/") == "https://***@h/"
    assert mask_url_safely("http://[::1") == "<unparseable URL>"


def test_redacted_profile_keeps_references_and_masks_literals() -> None:
    """Written-out profiles mask literal secrets in defaults and scenarios,
    keep ${NAME} references, and mask secrets in target URLs."""
    profile = structure_profile(
        {
            "stages": ["1:1s"],
            "defaults": {
                "target": "https://u:pw@gw/v1",
                "headers": {"Authorization": "Bearer ${GW_KEY}", "x-api-key": "literal"},
            },
            "scenarios": [
                {"name": "a", "target": "https://gw/v1?key=abc", "headers": {"api-key": "k"}},
                {"name": "b"},
            ],
        }
    )
    redacted = redact_profile(profile)
    assert redacted.defaults.headers == {"Authorization": "Bearer ${GW_KEY}", "x-api-key": "***"}
    assert redacted.defaults.target == "https://u:***@gw/v1"
    assert redacted.scenarios is not None
    assert redacted.scenarios[0].headers == {"api-key": "***"}
    assert redacted.scenarios[0].target == "https://gw/v1?key=***"
    assert redacted.scenarios[1].headers is None
    text = dump_profile(redacted)
    assert "literal" not in text
    assert "pw@" not in text


def test_masked_value_warns_on_rerun() -> None:
    """A written-out profile's masked key warns that the key must be given again."""
    written = dump_profile(
        redact_profile(
            structure_profile(
                {
                    "stages": ["1:1s"],
                    "defaults": {"target": "http://h", "model": "m", "headers": {"x-api-key": "k"}},
                }
            )
        )
    )
    plan = resolve(parse_profile(written, "toml"), env={})
    assert any("masked secret" in w for w in plan.warnings)
    plan = resolve(
        parse_profile(written, "toml"), Overrides(headers=(("x-api-key", "k2"),)), env={}
    )
    assert plan.warnings == ()


def test_any_credential_looking_header_is_secret() -> None:
    """Names holding key, token, secret, auth, password or cookie are masked
    without being listed; plain headers are not."""
    for name in (
        "apikey",
        "x-portkey-api-key",
        "X-Goog-Api-Key",
        "x-auth-token",
        "x-client-secret",
        "x-password",
        "Cookie",
        "Proxy-Authorization",
    ):
        assert is_secret(name), name
        assert mask_header(name, "v4lue", frozenset()) == MASK, name
    for name in ("accept", "x-request-id", "anthropic-version", "content-type"):
        assert not is_secret(name), name
    assert is_secret("x-tenant", secret_names(["X-Tenant"]))


def test_written_profile_and_plan_mask_credential_looking_headers() -> None:
    """`apikey` and `x-portkey-api-key` are masked in the written profile and in
    the printed plan."""
    profile = parse_profile(
        '{"stages": ["1:1s"], "defaults": {"target": "http://h", "model": "m", '
        '"headers": {"apikey": "ak-CLEAR-1", "x-portkey-api-key": "pk-CLEAR-2"}}}',
        "json",
    )
    written = dump_profile(redact_profile(profile))
    plan_text = describe_plan(resolve(profile))
    for text in (written, plan_text):
        assert "ak-CLEAR-1" not in text
        assert "pk-CLEAR-2" not in text
        assert MASK in text


def test_scrub_removes_every_secret_value() -> None:
    """`secret_values` lists whole values and bare credentials, longest first;
    `scrub` masks each wherever it occurs."""
    secrets = secret_values(
        [("Authorization", "Bearer sk-1234"), ("x-key", "k-99"), ("accept", "json")],
        frozenset(),
    )
    assert secrets == ("Bearer sk-1234", "sk-1234", "k-99")
    assert scrub("bad key sk-1234 (k-99) json", secrets) == "bad key *** (***) json"
    assert scrub("Bearer sk-1234", secrets) == MASK


def test_resolved_scenarios_carry_every_secret_value() -> None:
    """Each scenario plan holds the secret values of the whole run, for the
    engine's error details."""
    profile = parse_profile(
        '{"stages": ["1:1s"], "defaults": {"target": "http://h", "model": "m"}, '
        '"scenarios": [{"name": "a", "headers": {"x-api-key": "${K}"}}, {"name": "b"}]}',
        "json",
    )
    plan = resolve(profile, Overrides(vk="sk-vk"), env={"K": "from-env"})
    for scenario in plan.scenarios:
        assert set(scenario.secret_values) == {"Bearer sk-vk", "sk-vk", "from-env"}
