"""Engine tests: a fake gateway in memory, on trio's mock clock."""

from __future__ import annotations

from typing import Any

from loadtest.config import RunPlan, resolve, structure_profile

BASE_PROFILE: dict[str, Any] = {
    "stages": ["2:10s"],
    "warmup": "2s",
    "graceful_stop": "5s",
    "defaults": {
        "target": "http://gw.test/v1",
        "model": "m",
        "max_tokens": 10,
        "stream": True,
        "content": {"mode": "pool", "prompts": ["hello there"]},
    },
}


def make_plan(**changes: Any) -> RunPlan:
    """BASE_PROFILE with top-level keys replaced and `defaults` merged."""
    data = {**BASE_PROFILE, **changes}
    data["defaults"] = {**BASE_PROFILE["defaults"], **changes.get("defaults", {})}
    return resolve(structure_profile(data), env={})
