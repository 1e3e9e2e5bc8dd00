"""The shapes every protocol adapter speaks: conversations in, requests out,
response bytes in, typed events out.

Adapters are sans-IO, in the manner of h11: they hold no socket, no trio and
no clock. The engine stamps the time of every event as it comes out of
`ResponseParser.feed`, so TTFT and inter-token gaps are measured in one place
for every protocol.

Rules every adapter follows:
- `feed()` accepts bytes split anywhere (mid-line, mid-UTF-8 character) and
  yields the same events, in the same order, however the input was split.
- Malformed input never raises out of an adapter: it becomes a
  `ResponseError` carrying a class from `loadtest.taxonomy`
  (`bad_response`, `stream_truncated`, or the HTTP-equivalent class of an
  in-stream error event), after which the parser yields nothing more.
- Role-only and empty deltas are not content and yield no `ContentDelta`.
- A tool call the answer makes is output too: each piece of it that carries
  its name or a fragment of its JSON arguments is a `ToolCallDelta`, timed
  like content. An embeddings answer yields `Embeddings` (its vectors are
  not kept).

The server side (`ServerCodec`) is the same wire format seen from the other
end; the mock upstream uses it, so each protocol's format lives in one module.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

import attrs

__all__ = [
    "Adapter",
    "ContentDelta",
    "Conversation",
    "Embeddings",
    "Event",
    "Finish",
    "FunctionTool",
    "Message",
    "Reply",
    "Request",
    "ResponseError",
    "ResponseParser",
    "ServedRequest",
    "ServerCodec",
    "StreamRenderer",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


# --- what goes in ------------------------------------------------------------


@attrs.frozen
class ToolCall:
    """A call of a tool, as an answer made it: `arguments` is its JSON text
    (as received; it may not parse)."""

    id: str
    name: str
    arguments: str


@attrs.frozen
class Message:
    """One turn of a conversation: `role` is "user", "assistant" or "tool".

    An assistant message may carry the `tool_calls` its answer made (its
    `content` is then the answer's text, often empty); a "tool" message is
    the result of the call `tool_call_id`, in `content`. Each adapter writes
    these its protocol's way."""

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@attrs.frozen
class FunctionTool:
    """A function the model may call: its name, description and JSON Schema
    `parameters` (the fields of an OpenAI function tool); each adapter writes
    it its protocol's way."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] = attrs.field(
        factory=lambda: {"type": "object", "properties": {}}
    )


@attrs.frozen
class Conversation:
    """A protocol-neutral request: what to ask, of which model, and how.

    `extra_body` holds pass-through body fields; they are merged into the
    request body last, so they can also override what the adapter wrote.
    `tools` are offered to the model (adapters with `supports_tools`);
    `tool_choice` is None (the protocol's default), "auto", "required",
    "none", or the name of one of `tools` that must be called.
    """

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    max_tokens: int | None = None
    stream: bool = False
    temperature: float | None = None
    extra_body: Mapping[str, Any] = attrs.field(factory=dict)
    tools: tuple[FunctionTool, ...] = ()
    tool_choice: str | None = None


@attrs.frozen
class Request:
    """What an adapter wants sent: headers it needs and the body bytes (the
    engine sends the headers of `Adapter.scenario_headers`).

    The method is always POST; the URL (and so the path) comes from the
    scenario's target, whose default path is `Adapter.path`. The engine adds
    Host, Content-Length and the profile's own headers.
    """

    headers: tuple[tuple[str, str], ...]
    body: bytes


# --- what comes out: events, in the order the response carried them ---------


class ContentDelta:
    """Content-bearing text. `tokens` is how many tokens it carries when the
    protocol says so (e.g. from a usage delta), else None (the engine then
    applies its documented per-token rule). `reasoning` marks reasoning /
    thinking output: it is timed like content (it is generated output) but
    not appended to the conversation history.

    One is made per streamed event, so it is a plain slotted class (0.13 µs
    to build, where a frozen attrs class takes 0.6): immutable by
    convention, compared and hashed by value like the other events."""

    __slots__ = ("reasoning", "text", "tokens")

    def __init__(self, text: str, tokens: int | None = None, reasoning: bool = False) -> None:
        self.text = text
        self.tokens = tokens
        self.reasoning = reasoning

    def _key(self) -> tuple[str, int | None, bool]:
        return (self.text, self.tokens, self.reasoning)

    def __eq__(self, other: object) -> bool:
        if type(other) is not ContentDelta:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        text, tokens, reasoning = self._key()
        return f"ContentDelta(text={text!r}, tokens={tokens!r}, reasoning={reasoning!r})"


@attrs.frozen(slots=True)
class ToolCallDelta:
    """A piece of tool call number `index` of the answer: its `id` and
    `name` when this piece starts the call, and a fragment of its JSON
    `arguments` (the fragments concatenate to the whole). A piece with a
    name or a non-empty fragment is output, timed like content."""

    index: int
    arguments: str = ""
    id: str | None = None
    name: str | None = None


@attrs.frozen(slots=True)
class Embeddings:
    """An embeddings answer: `count` vectors of `dimensions` numbers each."""

    count: int
    dimensions: int


@attrs.frozen(slots=True)
class Usage:
    """Token counts as the server reported them; None where it did not.

    Several `Usage` events may arrive (Anthropic reports input tokens first,
    output tokens last); a later non-None field replaces an earlier one.
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None


@attrs.frozen(slots=True)
class Finish:
    """The response ended normally; `reason` as the protocol spelled it."""

    reason: str | None


@attrs.frozen(slots=True)
class ResponseError:
    """The response failed: an error body, an in-stream error event, or
    malformed input. `error_class` is one of `loadtest.taxonomy`'s classes;
    `error_type` is the server's own type string when it gave one."""

    error_class: str
    message: str
    error_type: str | None = None


Event = ContentDelta | ToolCallDelta | Embeddings | Usage | Finish | ResponseError


class ResponseParser(abc.ABC):
    """Turns the bytes of one response body into events.

    `feed()` is called with each piece of the body as it arrives; `end()`
    once the body is complete (the HTTP layer saw its proper end), or once
    the engine stops reading a body after `complete` turned true. A parser
    that has yielded a `ResponseError` yields nothing more.
    """

    @abc.abstractmethod
    def feed(self, data: bytes) -> list[Event]:
        """Consume a piece of the body; return the events it completed."""

    @abc.abstractmethod
    def end(self) -> list[Event]:
        """The body ended: return the remaining events, including a
        `stream_truncated` or `bad_response` error if the body was not a
        complete, well-formed answer."""

    @property
    def complete(self) -> bool:
        """Whether the answer is already complete as the protocol defines it
        (a stream's terminal event or error event, or malformed input): the
        parser yields nothing more, whatever the rest of the body holds.
        False by default: the answer is complete when the body ends."""
        return False


class Adapter(abc.ABC):
    """One protocol, client side. Subclasses register with
    `loadtest.protocol.register(name)` and set `path`.

    Headers: `scenario_headers(model=, stream=)` states the headers the
    protocol sends on every request of a scenario. The engine encodes them
    once per scenario, with the profile's own headers, and sends them with
    every turn; of `build_request` it sends only the body. The default, for
    adapters written before this method, reads the headers from
    `build_request` of a one-message conversation of that model and stream
    flag; a subclass that overrides `build_request` but not
    `scenario_headers` gets that default too, so a header it adds there is
    still sent. (So a built-in adapter's `build_request` never calls
    `scenario_headers`: that default would call it back.)
    """

    #: The registered name, e.g. "openai-chat"; set by `register`.
    name: ClassVar[str] = ""
    #: The protocol's default request path, e.g. "/v1/chat/completions".
    path: ClassVar[str] = ""
    #: Whether `build_request` sends `Conversation.tools` and the parsers
    #: read tool calls; a profile that gives tools to another protocol is refused.
    supports_tools: ClassVar[bool] = False
    #: Whether the protocol can stream its answers; one that cannot (embeddings)
    #: is always sent `stream=False`.
    streams: ClassVar[bool] = True

    @abc.abstractmethod
    def build_request(self, conversation: Conversation) -> Request:
        """Encode a conversation as a request (pure)."""

    def scenario_headers(self, *, model: str, stream: bool) -> tuple[tuple[str, str], ...]:
        """The headers every request of a scenario of this `model` and
        `stream` flag carries (pure; see the class docstring)."""
        return _probed_headers(self, model=model, stream=stream)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "build_request" in cls.__dict__ and "scenario_headers" not in cls.__dict__:
            cls.scenario_headers = Adapter.scenario_headers  # type: ignore[method-assign]

    @abc.abstractmethod
    def open_response(
        self, status: int, headers: Mapping[str, str], stream: bool
    ) -> ResponseParser:
        """A parser for one response. `headers` has lower-case names;
        `stream` is whether the request asked for streaming. Non-2xx
        statuses get a parser that extracts the error message from the body."""

    def server_codec(self) -> ServerCodec | None:
        """The server side of this protocol, for the mock upstream; None if
        the adapter has none."""
        return None

    @classmethod
    def header_warnings(cls, header_names: Collection[str]) -> list[str]:
        """What a scenario of this protocol may be missing among its headers
        (`header_names` lower-case): warnings for the plan, never errors. None
        by default."""
        del header_names
        return []


def _probed_headers(adapter: Adapter, *, model: str, stream: bool) -> tuple[tuple[str, str], ...]:
    """The headers of `adapter.build_request` for a one-message conversation."""
    probe = Conversation(model=model, messages=(Message("user", "x"),), stream=stream)
    return adapter.build_request(probe).headers


# --- the server side, for the mock upstream ---------------------------------


@attrs.frozen
class ServedRequest:
    """What a server needs to know about a request it received.

    `prompt_text` is the system prompt and every message's text, joined by
    newlines, in order: the input of token estimates and the prefix cache.
    `ignore_eos` is vLLM's request flag: answer exactly `max_tokens` tokens.
    `tools` names the tools the answer may call (none when the request
    offered none or its tool choice is "none"; the one it names when it
    names one); `tool_required` says it must call one. `embeddings` is the
    number of inputs of an embeddings request (None: a generation request).
    """

    model: str
    prompt_text: str
    max_tokens: int | None
    stream: bool
    include_usage: bool = True
    ignore_eos: bool = False
    tools: tuple[str, ...] = ()
    tool_required: bool = False
    embeddings: int | None = None


@attrs.frozen
class Reply:
    """One complete answer, in protocol-neutral terms.

    `finish_reason` is "stop" (the answer ended), "length" (max_tokens
    reached) or "tool_calls" (the answer is `tool_call`, and `text` is
    empty); codecs spell it the protocol's way. `usage` is None when the
    server is told not to report usage. `embeddings` holds the vectors of
    an embeddings answer.
    """

    id: str
    model: str
    created_s: int
    text: str
    finish_reason: str
    usage: Usage | None
    tool_call: ToolCall | None = None
    embeddings: tuple[tuple[float, ...], ...] = ()


class StreamRenderer(abc.ABC):
    """Renders one streamed answer as the protocol's SSE bytes, piece by piece."""

    @abc.abstractmethod
    def head(self) -> bytes:
        """Events sent before the first content (may be empty)."""

    @abc.abstractmethod
    def delta(self, text: str) -> bytes:
        """One content event carrying `text`."""

    @abc.abstractmethod
    def tail(self, finish_reason: str, usage: Usage | None) -> bytes:
        """The closing events, through the protocol's terminal event."""

    @abc.abstractmethod
    def error(self, error_type: str, message: str) -> bytes:
        """An in-stream error event, after which the stream ends."""

    def tool_head(self, call_id: str, name: str) -> bytes:
        """For an answer that is one tool call: what `head()` sends otherwise,
        with the call (its id and name) started. Then `tool_delta` for each
        arguments fragment, and `tail("tool_calls", ...)`. Codecs whose
        `parse_request` offers no tools never get this call."""
        raise NotImplementedError(f"{type(self).__name__} renders no tool calls")

    def tool_delta(self, arguments: str) -> bytes:
        """One fragment of the tool call's JSON arguments."""
        raise NotImplementedError(f"{type(self).__name__} renders no tool calls")


class ServerCodec(abc.ABC):
    """One protocol, server side."""

    @abc.abstractmethod
    def parse_request(self, body: bytes) -> ServedRequest:
        """Decode a request body; raise ValueError with a message a client can
        act on when it is not a valid request of this protocol."""

    @abc.abstractmethod
    def render_body(self, reply: Reply) -> bytes:
        """A complete non-streamed answer (JSON bytes)."""

    @abc.abstractmethod
    def open_stream(
        self, reply_id: str, model: str, created_s: int, prompt_usage: Usage | None
    ) -> StreamRenderer:
        """A renderer for one streamed answer. `prompt_usage` carries the
        prompt-side counts known before the first token (None: no usage is
        reported); protocols that announce them up front (Anthropic's
        `message_start`) do so in `head()`."""

    @abc.abstractmethod
    def render_error(self, status: int, message: str) -> bytes:
        """An error body in the protocol's format (JSON bytes)."""
