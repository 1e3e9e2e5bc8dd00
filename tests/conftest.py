"""Shared pytest configuration: trio mode is on for every async test, and
Hypothesis never times anything on the real clock (no per-example deadline,
no too-slow health check): tests must pass on a machine whose cores are busy."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("loadtest", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("loadtest")
