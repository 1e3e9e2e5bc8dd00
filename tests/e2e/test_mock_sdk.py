"""The official `openai` and `anthropic` SDKs parse the mock's answers,
streamed and not: text (word count), usage and cached tokens, finish reasons,
error statuses. The mock runs as `loadtest mock` in a subprocess."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anthropic
import openai
import pytest

from loadtest.mock import run_mock_process
from loadtest.tokens import estimate_tokens

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

SYSTEM = "You answer questions about load testing in plain words. " * 4
QUESTION = "What does time to first token measure?"
PROMPT_TOKENS = estimate_tokens(SYSTEM + "\n" + QUESTION)


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """One mock process for the module (3 words per streamed event)."""
    with run_mock_process(["--seed", "11", "--tokens-per-chunk", "3"]) as url:
        yield url


@pytest.fixture
def oai(mock_url: str) -> Iterator[openai.OpenAI]:
    """An OpenAI client on the mock; no retries, a dummy key."""
    with openai.OpenAI(base_url=f"{mock_url}/v1", api_key="dummy", max_retries=0) as client:
        yield client


@pytest.fixture
def claude(mock_url: str) -> Iterator[anthropic.Anthropic]:
    """An Anthropic client on the mock; no retries, a dummy key."""
    with anthropic.Anthropic(base_url=mock_url, api_key="dummy", max_retries=0) as client:
        yield client


def _chat_messages() -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]


def test_openai_chat(oai: openai.OpenAI) -> None:
    """chat.completions.create: max_tokens words, finish "length", full usage;
    the same prompt again reports most of it cached."""
    first = oai.chat.completions.create(model="gpt-x", messages=_chat_messages(), max_tokens=9)  # type: ignore[arg-type]
    assert first.model == "gpt-x"
    assert estimate_tokens(first.choices[0].message.content or "") == 9
    assert first.choices[0].finish_reason == "length"
    assert first.usage is not None
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (PROMPT_TOKENS, 9)
    again = oai.chat.completions.create(model="gpt-x", messages=_chat_messages(), max_tokens=9)  # type: ignore[arg-type]
    assert again.usage is not None
    assert again.usage.prompt_tokens_details is not None
    assert (again.usage.prompt_tokens_details.cached_tokens or 0) >= PROMPT_TOKENS - 20


def test_openai_chat_stream(oai: openai.OpenAI) -> None:
    """Streamed chat completion with include_usage: the deltas join to
    max_tokens words and the last chunk carries usage."""
    stream = oai.chat.completions.create(
        model="gpt-x",
        messages=_chat_messages(),  # type: ignore[arg-type]
        max_tokens=10,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert estimate_tokens(text) == 10
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["length"]
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (PROMPT_TOKENS, 10)


def test_openai_responses(oai: openai.OpenAI) -> None:
    """responses.create: output_text has max_output_tokens words; usage counts input and output."""
    response = oai.responses.create(
        model="gpt-x", instructions=SYSTEM, input=QUESTION, max_output_tokens=8
    )
    assert estimate_tokens(response.output_text) == 8
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (PROMPT_TOKENS, 8)
    assert response.usage.input_tokens_details.cached_tokens >= 0


def test_openai_responses_stream(oai: openai.OpenAI) -> None:
    """Streamed responses: the text deltas join to the answer and the final
    event's response carries usage."""
    events = list(
        oai.responses.create(
            model="gpt-x", instructions=SYSTEM, input=QUESTION, max_output_tokens=12, stream=True
        )
    )
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert estimate_tokens(text) == 12
    final = events[-1]
    assert final.type in ("response.completed", "response.incomplete")
    usage = final.response.usage  # type: ignore[union-attr]
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (PROMPT_TOKENS, 12)


def test_anthropic_messages(claude: anthropic.Anthropic) -> None:
    """messages.create: max_tokens words, stop_reason "max_tokens"; input plus
    cache-read tokens make the prompt."""
    message = claude.messages.create(
        model="claude-x",
        system=SYSTEM,
        max_tokens=7,
        messages=[{"role": "user", "content": QUESTION}],
    )
    text = "".join(block.text for block in message.content if block.type == "text")
    assert estimate_tokens(text) == 7
    assert message.stop_reason == "max_tokens"
    cached = message.usage.cache_read_input_tokens or 0
    assert message.usage.input_tokens + cached == PROMPT_TOKENS
    assert message.usage.output_tokens == 7


def test_anthropic_messages_raw_stream(claude: anthropic.Anthropic) -> None:
    """messages.create(stream=True): text deltas join to the answer; message_delta
    carries the output tokens."""
    events = list(
        claude.messages.create(
            model="claude-x",
            system=SYSTEM,
            max_tokens=11,
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
        )
    )
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    text = "".join(d.text for d in deltas if d.type == "text_delta")
    assert estimate_tokens(text) == 11
    assert (events[0].type, events[-1].type) == ("message_start", "message_stop")
    message_delta = next(e for e in events if e.type == "message_delta")
    assert message_delta.usage.output_tokens == 11


def test_anthropic_messages_stream_helper(claude: anthropic.Anthropic) -> None:
    """messages.stream: text_stream and get_final_message agree with the request."""
    with claude.messages.stream(
        model="claude-x",
        system=SYSTEM,
        max_tokens=6,
        messages=[{"role": "user", "content": QUESTION}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert estimate_tokens(text) == 6
    assert final.content[0].type == "text"
    assert final.content[0].text == text
    cached = final.usage.cache_read_input_tokens or 0
    assert (final.usage.input_tokens + cached, final.usage.output_tokens) == (PROMPT_TOKENS, 6)


def test_sdks_raise_on_injected_errors() -> None:
    """Injected 429s surface as each SDK's RateLimitError."""
    with run_mock_process(["--error-rate", "1", "--error-status", "429"]) as url:
        with (
            openai.OpenAI(base_url=f"{url}/v1", api_key="d", max_retries=0) as oai,
            pytest.raises(openai.RateLimitError),
        ):
            oai.chat.completions.create(model="m", messages=_chat_messages(), max_tokens=3)  # type: ignore[arg-type]
        with (
            anthropic.Anthropic(base_url=url, api_key="d", max_retries=0) as claude,
            pytest.raises(anthropic.RateLimitError),
        ):
            claude.messages.create(
                model="m", max_tokens=3, messages=[{"role": "user", "content": "hi"}]
            )


def test_sdks_see_natural_stops() -> None:
    """With --output-tokens below max_tokens each SDK sees its protocol's
    natural stop: "stop", a completed response, "end_turn"."""
    with run_mock_process(["--output-tokens", "4"]) as url:
        with openai.OpenAI(base_url=f"{url}/v1", api_key="d", max_retries=0) as oai:
            chat = oai.chat.completions.create(
                model="m",
                messages=_chat_messages(),  # type: ignore[arg-type]
                max_tokens=50,
            )
            assert chat.choices[0].finish_reason == "stop"
            events = list(oai.responses.create(model="m", input=QUESTION, stream=True))
            assert events[-1].type == "response.completed"
            assert estimate_tokens(events[-1].response.output_text) == 4  # type: ignore[union-attr]
        with anthropic.Anthropic(base_url=url, api_key="d", max_retries=0) as claude:
            message = claude.messages.create(
                model="m", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
            )
            assert message.stop_reason == "end_turn"


# --- tool calls and embeddings ----------------------------------------------------

WEATHER_PARAMETERS = {"type": "object", "properties": {"text": {"type": "string"}}}
OPENAI_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_PARAMETERS}}
]
ANTHROPIC_TOOLS = [{"name": "get_weather", "input_schema": WEATHER_PARAMETERS}]


def _arguments_words(arguments: str | object) -> int:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return estimate_tokens(json.loads(text)["text"])


def test_openai_chat_tool_call(oai: openai.OpenAI) -> None:
    """A request offering a tool gets a call of it: name, and JSON arguments
    of max_tokens words; finish reason tool_calls."""
    answer = oai.chat.completions.create(
        model="gpt-x",
        messages=_chat_messages(),  # type: ignore[arg-type]
        max_tokens=7,
        tools=OPENAI_TOOLS,  # type: ignore[arg-type]
    )
    (call,) = answer.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert _arguments_words(call.function.arguments) == 7  # type: ignore[union-attr]
    assert answer.choices[0].finish_reason == "tool_calls"


def test_openai_chat_tool_call_stream(oai: openai.OpenAI) -> None:
    """The SDK's stream helper rebuilds the streamed call from its pieces."""
    with oai.chat.completions.stream(
        model="gpt-x",
        messages=_chat_messages(),  # type: ignore[arg-type]
        max_tokens=8,
        tools=OPENAI_TOOLS,  # type: ignore[arg-type]
        tool_choice="required",
    ) as stream:
        final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert call.id.startswith("call_")
    assert _arguments_words(call.function.arguments) == 8
    assert final.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tool_use(claude: anthropic.Anthropic, stream: bool) -> None:
    """A tool_use block with the input as an object, stop reason tool_use,
    streamed (the SDK's accumulator parses the input_json_delta pieces) or not."""
    request: dict[str, Any] = {
        "model": "claude-x",
        "max_tokens": 6,
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": ANTHROPIC_TOOLS,
        "tool_choice": {"type": "tool", "name": "get_weather"},
    }
    if stream:
        with claude.messages.stream(**request) as events:
            message = events.get_final_message()
    else:
        message = claude.messages.create(**request)
    (block,) = message.content
    assert block.type == "tool_use"
    assert block.name == "get_weather"
    assert _arguments_words(block.input) == 6
    assert message.stop_reason == "tool_use"


def test_openai_embeddings(oai: openai.OpenAI) -> None:
    """One vector per input, of the mock's default dimension; prompt tokens."""
    answer = oai.embeddings.create(model="emb-x", input=[QUESTION, "second input"])
    assert [item.index for item in answer.data] == [0, 1]
    assert {len(item.embedding) for item in answer.data} == {384}
    assert answer.usage.prompt_tokens == estimate_tokens(QUESTION + "\nsecond input")
    assert answer.model == "emb-x"


@pytest.mark.parametrize("stream", [False, True])
def test_openai_responses_function_call(oai: openai.OpenAI, stream: bool) -> None:
    """Responses: one function_call output item with the call's name and
    JSON arguments, streamed (the SDK's stream helper) or not."""
    request: dict[str, Any] = {
        "model": "gpt-x",
        "input": QUESTION,
        "max_output_tokens": 5,
        "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER_PARAMETERS}],
    }
    if stream:
        with oai.responses.stream(**request) as events:
            response = events.get_final_response()
    else:
        response = oai.responses.create(**request)
    (call,) = response.output
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert _arguments_words(call.arguments) == 5
