"""Limits enforced on every route into a profile: the loader, the model's
own validators (library use, flags) and the file checks."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import pytest

from loadtest.config import (
    ClosedStage,
    Defaults,
    Duration,
    FieldError,
    PoolContent,
    Profile,
    Thresholds,
    parse_profile,
    structure_profile,
)
from loadtest.config._files import ca_bundle_problem
from loadtest.config._headers import header_name_problem, header_value_problem
from loadtest.config._limits import MAX_ITEMS, MAX_TEXT_CHARS
from loadtest.config._load import load_profile
from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValueError) as info:  # noqa: PT011  (the lines are checked)
        structure_profile(data)
    lines: list[str] = info.value.args[0]
    return lines


def test_the_converter_refuses_non_finite_long_and_oversized_values() -> None:
    """Parsed data that bypassed the file checks still meets the limits."""
    nan = {"stages": [{"rate": float("nan"), "duration": "1s"}]}
    assert problems(nan) == ["$.stages[0].rate: expected a finite number, got nan"]
    long_text = {"defaults": {"system": "x" * (MAX_TEXT_CHARS + 1)}}
    assert "a string is at most 1,000,000 characters" in problems(long_text)[0]
    many = {"stages": ["1:1s"] * (MAX_ITEMS + 1)}
    assert problems(many) == ["$.stages: a list holds at most 10,000 items, got 10,001"]


def test_model_validators_hold_for_direct_construction() -> None:
    """Objects built in code (or by --flags) obey the same limits."""
    cases: list[tuple[Any, str]] = [
        (lambda: Thresholds(error_rate=-0.5), "must be at least 0"),
        (lambda: Defaults(system="a\ud800"), "lone surrogate"),
        (lambda: Profile(redact_headers=("x",) * 101), "at most 100 names"),
        (lambda: Defaults(headers={f"h{i}": "v" for i in range(101)}), "at most 100 headers"),
        (lambda: PoolContent(("p",) * (MAX_ITEMS + 1)), "at most 10,000 texts"),
        (lambda: PoolContent(("x" * (MAX_TEXT_CHARS + 1),)), "at most 1,000,000 characters"),
        (lambda: PoolContent(("ok\udc80",)), r"prompts\[0\]: holds a lone surrogate"),
        (
            lambda: Profile(stages=(ClosedStage(1, Duration(1)),) * (MAX_ITEMS + 1)),
            "at most 10,000 items",
        ),
    ]
    for build, message in cases:
        with pytest.raises(FieldError, match=message):
            build()


def test_header_rules() -> None:
    """Long names and values are refused; the value is never quoted."""
    assert "at most 256 characters" in (header_name_problem("x" * 257) or "")
    assert header_name_problem("Host", settable=False) is None
    problem = header_value_problem("x-api-key", "k" * 16_385) or ""
    assert "16384" in problem
    assert "kkk" not in problem
    assert header_value_problem("x", "text\twith tab and é") is None


def test_oversized_profile_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file over the size limit is one error, before it is parsed."""
    monkeypatch.setattr("loadtest.config._load.MAX_FILE_BYTES", 10)
    path = tmp_path / "big.json"
    path.write_text('{"stages": ["1:1s"]}')
    with pytest.raises(ConfigError, match="a profile is at most 0 MiB"):
        load_profile(path)
    assert parse_profile('{"stages": ["1:1s"]}', "json").stages


def test_unreadable_or_certificate_free_bundles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle that cannot be read, or that loads but holds no CA certificate."""

    def refuse(_self: ssl.SSLContext, cafile: str) -> None:
        raise PermissionError(13, "Permission denied", cafile)

    with monkeypatch.context() as patch:
        patch.setattr(ssl.SSLContext, "load_verify_locations", refuse)
        assert ca_bundle_problem("x.pem") == 'cannot read "x.pem": Permission denied'
    with monkeypatch.context() as patch:
        patch.setattr(ssl.SSLContext, "load_verify_locations", lambda _self, cafile: None)
        assert ca_bundle_problem("leaf.pem") == '"leaf.pem" holds no CA certificate'
