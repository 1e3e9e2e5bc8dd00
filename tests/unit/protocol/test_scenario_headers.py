"""The adapter contract's headers: `scenario_headers` states what every
request of a scenario carries; the engine reads it once per scenario and
never builds a request to learn it. Adapters without it keep working."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from loadtest.config import resolve, structure_profile
from loadtest.engine._scenario import build_runtime
from loadtest.protocol import (
    Adapter,
    Conversation,
    Message,
    Request,
    ResponseParser,
    available,
    get_adapter,
    register,
)
from loadtest.protocol.openai_chat import OpenAIChatAdapter

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loadtest.engine._scenario import ScenarioRuntime


pytestmark = pytest.mark.usefixtures("isolated_registry")


def runtime(protocol: str, stream: bool = True) -> ScenarioRuntime:
    profile: dict[str, Any] = {
        "stages": ["1:1s"],
        "defaults": {
            "target": "http://gw.test/v1",
            "protocol": protocol,
            "model": "m-1",
            "stream": stream,
            "content": {"mode": "pool", "prompts": ["hello"]},
        },
    }
    plan = resolve(structure_profile(profile), env={})
    return build_runtime(
        0, plan.scenarios[0], correlation_header="", total_timeout_s=1.0, keepalive=True
    )


@pytest.mark.parametrize("stream", [True, False])
def test_built_in_adapters_state_the_headers_their_requests_carry(stream: bool) -> None:
    conversation = Conversation(model="m", messages=(Message("user", "hi"),), stream=stream)
    for name in available():
        adapter = get_adapter(name)()
        stated = adapter.scenario_headers(model="m", stream=stream)
        assert stated == adapter.build_request(conversation).headers
        streamed = stream and adapter.streams
        assert ("accept", "text/event-stream" if streamed else "application/json") in stated


class _NoProbe(Adapter):
    """States its headers; building a request to learn them is an error."""

    path = "/v1/x"

    def scenario_headers(self, *, model: str, stream: bool) -> tuple[tuple[str, str], ...]:
        return (("x-model", model), ("x-stream", str(stream).lower()))

    def build_request(self, conversation: Conversation) -> Request:
        raise AssertionError("build_request called to learn the headers")

    def open_response(
        self, status: int, headers: Mapping[str, str], stream: bool
    ) -> ResponseParser:
        raise NotImplementedError


def test_the_engine_reads_the_stated_headers_without_a_probe_request() -> None:
    register("no-probe")(_NoProbe)
    prefix = runtime("no-probe", stream=False).template.prefix
    assert b"x-model: m-1\r\nx-stream: false\r\n" in prefix


class _OldStyle(OpenAIChatAdapter):
    """A subclass written before `scenario_headers`: adds its header in
    `build_request`."""

    def build_request(self, conversation: Conversation) -> Request:
        request = super().build_request(conversation)
        return Request((*request.headers, ("x-old", conversation.model)), request.body)


class _Direct(Adapter):
    """A direct subclass written before `scenario_headers`."""

    path = "/v1/direct"

    def build_request(self, conversation: Conversation) -> Request:
        return Request((("x-direct", str(conversation.stream)),), b"{}")

    def open_response(
        self, status: int, headers: Mapping[str, str], stream: bool
    ) -> ResponseParser:
        raise NotImplementedError


def test_adapters_without_stated_headers_have_them_read_from_build_request() -> None:
    """The default (a one-message request of the scenario's model and
    stream flag) sends what such an adapter always sent, its own header too."""
    register("old-style")(_OldStyle)
    register("direct")(_Direct)
    assert b"x-old: m-1\r\n" in runtime("old-style").template.prefix
    assert b"accept: text/event-stream\r\n" in runtime("old-style").template.prefix
    assert b"x-direct: True\r\n" in runtime("direct").template.prefix
    assert _OldStyle().scenario_headers(model="m", stream=False)[-1] == ("x-old", "m")
