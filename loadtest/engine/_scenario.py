"""A scenario made ready to send: its adapter and its request template.

Rules:
- The fixed part of every request of a scenario (request line, Host, the
  adapter's headers, the profile's headers, User-Agent, Connection) is
  validated and encoded once, when the engine opens (`RequestTemplate`);
  a turn adds only its correlation header, Content-Length and body, and
  hands head and body to the transport apart (a big body is never copied
  to join them).
- The adapter's headers are what it states for the scenario's model and
  stream flag (`Adapter.scenario_headers`): they never depend on a
  conversation.
- A `dataset` scenario draws its conversations' records through one
  `RecordSampler`, shared by all its conversations for the whole run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from loadtest import __version__
from loadtest.config import DatasetContent, DatasetRecord, ScenarioPlan
from loadtest.engine._content import RecordSampler
from loadtest.engine._http1 import build_request_head
from loadtest.protocol import Adapter, get_adapter

if TYPE_CHECKING:
    import random

__all__ = ["RequestTemplate", "ScenarioRuntime", "build_runtime"]

_USER_AGENT = f"loadtest/{__version__}"


class RequestTemplate:
    """The fixed part of a scenario's requests, validated and encoded once."""

    def __init__(
        self, plan: ScenarioPlan, adapter_headers: tuple[tuple[str, str], ...], keepalive: bool
    ) -> None:
        target = plan.target
        default_port = 443 if target.scheme == "https" else 80
        host = f"[{target.host}]" if ":" in target.host else target.host
        if target.port != default_port:
            host = f"{host}:{target.port}"
        headers = [*adapter_headers, *plan.headers]
        names = {name.lower() for name, _ in headers}
        if "user-agent" not in names:
            headers.append(("User-Agent", _USER_AGENT))
        if not keepalive:
            headers.append(("Connection", "close"))
        head = build_request_head("POST", target.path, host, headers, 0)
        suffix = b"Content-Length: 0\r\n\r\n"
        assert head.endswith(suffix)
        self.prefix = head[: -len(suffix)]

    def encode(self, body: bytes, extra_header: tuple[str, str] | None) -> tuple[bytes, bytes]:
        """The whole request as (head, body): the head with `extra_header`
        (the correlation id) and Content-Length; the body as given, not
        copied (the transport writes both pieces with one `sendmsg`)."""
        extra = f"{extra_header[0]}: {extra_header[1]}\r\n" if extra_header else ""
        tail = f"{extra}Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
        return self.prefix + tail, body


@attrs.define
class ScenarioRuntime:
    """One scenario, ready to send: its adapter, request template and origin."""

    index: int
    plan: ScenarioPlan
    adapter: Adapter
    template: RequestTemplate
    correlation_header: str
    total_timeout_s: float
    sampler: RecordSampler | None = None

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.plan.target.origin

    def draw_record(self, rng: random.Random) -> DatasetRecord | None:
        """The dataset record of a new conversation (None: not a dataset scenario)."""
        return self.sampler.draw(rng) if self.sampler is not None else None


def build_runtime(
    index: int,
    plan: ScenarioPlan,
    *,
    correlation_header: str,
    total_timeout_s: float,
    keepalive: bool,
    seed: int = 0,
) -> ScenarioRuntime:
    """Prepare a scenario for sending: its adapter, request template and,
    for a dataset scenario (its dataset loaded), its record sampler seeded
    from `seed`."""
    adapter = get_adapter(plan.protocol)()
    headers = adapter.scenario_headers(model=plan.model, stream=plan.stream)
    template = RequestTemplate(plan, headers, keepalive)
    sampler = None
    if plan.dataset is not None and isinstance(plan.content, DatasetContent):
        sampler = RecordSampler(plan.dataset, plan.content.replacement, seed, index)
    return ScenarioRuntime(
        index=index,
        plan=plan,
        adapter=adapter,
        template=template,
        correlation_header=correlation_header,
        total_timeout_s=total_timeout_s,
        sampler=sampler,
    )
