"""The pre-flight's pure parts: which scenarios are probed, what fails, and lines
that never show a key."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.cli._preflight import _failed, _line, _only_interrupts, _raise, probe_indices
from loadtest.config import resolve, structure_profile
from loadtest.errors import EXIT_RUNTIME, PreflightFailed
from loadtest.metrics import TurnRecord

KEY = "sk-live-0123456789"


def plan(**defaults: Any) -> Any:
    return resolve(
        structure_profile(
            {
                "stages": ["1:1s"],
                "defaults": {
                    "target": "http://user:pw@gw.test/v1",
                    "model": "m",
                    "headers": {"Authorization": f"Bearer {KEY}", "X-Team": "ab"},
                    "content": {"mode": "pool", "prompts": ["hi"]},
                    **defaults,
                },
                "scenarios": [
                    {"name": "a", "weight": 1},
                    {"name": "b", "weight": 1, "protocol": "anthropic"},
                    {"name": "c", "weight": 1},
                    {"name": "d", "weight": 1, "target": "http://other.test/v1"},
                ],
            }
        ),
        env={},
    )


def record(**changes: Any) -> TurnRecord:
    fields: dict[str, Any] = {
        "stage": 0,
        "scenario": "a",
        "scenario_index": 0,
        "conversation": "c",
        "turn": 1,
        "stream": True,
        "start_unix_s": 0.0,
        "warmup": False,
        "outcome": "error",
    }
    return TurnRecord(**{**fields, **changes})


def test_one_scenario_per_target_and_protocol() -> None:
    """The first scenario of each distinct (URL, protocol) pair, in profile order."""
    assert probe_indices(plan()) == [0, 1, 3]


@pytest.mark.parametrize(
    ("changes", "fails"),
    [
        ({"outcome": "ok", "status": 200}, False),
        ({"error_class": "conn_refused"}, True),
        ({"error_class": "timeout_read"}, True),  # no status: nothing answered
        ({"error_class": "timeout_read", "status": 200}, False),
        ({"error_class": "http_4xx", "status": 401}, True),
        ({"error_class": "bad_response", "status": 200}, True),
        ({"error_class": "http_429", "status": 429}, False),
        ({"error_class": "http_5xx", "status": 502}, False),
        ({"error_class": "empty_completion", "status": 200}, False),
    ],
)
def test_what_fails_the_pre_flight(changes: dict[str, Any], fails: bool) -> None:
    """No HTTP answer, a 4xx other than 429, or not the protocol: fail; else measured."""
    assert _failed(record(**changes)) is fails


def test_a_line_names_target_protocol_class_and_status_and_never_the_key() -> None:
    """URL password and every header value the server echoed are masked."""
    scenario = plan().scenarios[0]
    echoed = record(
        error_class="http_4xx", status=401, error_detail=f"Incorrect API key provided: {KEY}."
    )
    line = _line(echoed, scenario)
    assert line == (
        "http://user:***@gw.test/v1/chat/completions (openai-chat): http_4xx: "
        "HTTP 401: Incorrect API key provided: ***."
    )
    whole = _line(
        record(error_class="http_4xx", status=403, error_detail=f"Bearer {KEY}"), scenario
    )
    assert KEY not in whole
    assert _line(record(error_class="conn_refused"), scenario).endswith("): conn_refused")
    assert _line(record(error_class="http_4xx", status=404), scenario).endswith(": HTTP 404")


def test_failures_raise_one_line_each_and_exit_1() -> None:
    """No failure: nothing raised; failures: one line each plus how to skip the check."""
    _raise([])
    with pytest.raises(PreflightFailed) as info:
        _raise(["a: conn_refused", "b: http_4xx"])
    assert info.value.exit_code == EXIT_RUNTIME
    assert info.value.problems[1:] == ["pre-flight: a: conn_refused", "pre-flight: b: http_4xx"]
    assert "--no-preflight" in info.value.problems[0]


def test_ctrl_c_is_recognised_through_exception_groups() -> None:
    """KeyboardInterrupt, bare or wrapped by nurseries, is Ctrl-C; anything else is not."""
    nested = BaseExceptionGroup("outer", [BaseExceptionGroup("inner", [KeyboardInterrupt()])])
    assert _only_interrupts(KeyboardInterrupt())
    assert _only_interrupts(nested)
    assert not _only_interrupts(ValueError())
    assert not _only_interrupts(BaseExceptionGroup("mixed", [KeyboardInterrupt(), ValueError()]))
