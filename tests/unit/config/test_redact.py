"""Masking secrets in headers, URLs and written-out profiles."""

from __future__ import annotations

from loadtest.config import (
    Overrides,
    dump_profile,
    mask_header,
    mask_url,
    parse_profile,
    redact_profile,
    resolve,
    secret_names,
)
from loadtest.config._converter import structure_profile
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
