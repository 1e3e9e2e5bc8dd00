"""openai-embeddings: the OpenAI Embeddings wire format (`/v1/embeddings`), both sides.

Client (`OpenAIEmbeddingsAdapter`): the request body is `model`, `input` (the
turn's user message, after the system prompt and a newline when there is
one: each turn embeds its own text, the history is not sent) and
`encoding_format: "float"`, then `extra_body` merged on top. Never streamed:
the protocol has no stream (`streams = False`), and it sends no tools,
`max_tokens` or `temperature`.

Answers are one JSON body: `data[i].embedding` (a list of numbers, or a
base64 string) -> one `Embeddings(count, dimensions)` event (the vectors
are not kept; dimensions 0 for base64), `usage.prompt_tokens` -> `Usage`
with 0 completion tokens (an embedding generates none), then `Finish(None)`.
An `{"error": ...}` body is a `ResponseError`.

Server (`OpenAIEmbeddingsCodec`, for the mock upstream): `input` is a
string or a list of strings (token-id lists count as no text); the answer
is the API's list object, one embedding per input.

Pure and sync; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import orjson

from loadtest.protocol._base import (
    Adapter,
    Conversation,
    Embeddings,
    Event,
    Finish,
    Reply,
    Request,
    ResponseParser,
    ServedRequest,
    ServerCodec,
    StreamRenderer,
    Usage,
)
from loadtest.protocol._common import (
    JSONBodyParser,
    MalformedError,
    describe,
    error_details,
    expect,
    load_request,
    open_parser,
    openai_error_body,
    reported_error,
    request_headers,
    require,
)
from loadtest.protocol._registry import register

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["OpenAIEmbeddingsAdapter", "OpenAIEmbeddingsCodec"]

PROTOCOL: Final = "openai-embeddings"


# --- client ------------------------------------------------------------------


@register(PROTOCOL)
class OpenAIEmbeddingsAdapter(Adapter):
    """Client side of `/v1/embeddings`; see the module docstring."""

    path = "/v1/embeddings"
    streams = False

    def build_request(self, conversation: Conversation) -> Request:
        text = conversation.messages[-1].content if conversation.messages else ""
        if conversation.system is not None:
            text = f"{conversation.system}\n{text}"
        body: dict[str, Any] = {
            "model": conversation.model,
            "input": text,
            "encoding_format": "float",
        }
        body.update(conversation.extra_body)
        return Request(request_headers(False), orjson.dumps(body))

    def scenario_headers(self, *, model: str, stream: bool) -> tuple[tuple[str, str], ...]:
        del model, stream  # the same headers for every model; never streamed
        return request_headers(False)

    def open_response(
        self, status: int, headers: Mapping[str, str], stream: bool
    ) -> ResponseParser:
        del stream  # never streamed: the answer is one JSON body
        return open_parser(PROTOCOL, status, headers, False, _body_parser, _body_parser)

    def server_codec(self) -> ServerCodec:
        return OpenAIEmbeddingsCodec()


def _body_events(doc: dict[str, Any], where: str) -> list[Event]:
    if "data" not in doc and doc.get("error") is not None:
        return [reported_error(where, *error_details(doc))]
    data = require(doc, "data", list, where)
    dimensions = 0
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            got = describe(item)
            raise MalformedError(f'{where}: expected "data[{index}]" to be an object, got {got}')
        vector = item.get("embedding")
        if isinstance(vector, list):
            dimensions = max(dimensions, len(vector))
        elif not isinstance(vector, str):
            got = describe(vector) if "embedding" in item else "nothing (no such key)"
            raise MalformedError(
                f'{where}: expected "data[{index}].embedding" to be a list or a base64 '
                f"string, got {got}"
            )
    events: list[Event] = [Embeddings(len(data), dimensions)]
    usage = expect(doc, "usage", dict, where)
    if usage is not None:
        events.append(Usage(expect(usage, "prompt_tokens", int, where, "usage."), 0))
    events.append(Finish(None))
    return events


def _body_parser() -> ResponseParser:
    return JSONBodyParser(PROTOCOL, _body_events)


# --- server ------------------------------------------------------------------


def _input_texts(doc: Mapping[str, Any], where: str) -> list[str]:
    items = doc.get("input")
    if isinstance(items, str):
        return [items]
    if isinstance(items, list) and items:
        return [item if isinstance(item, str) else "" for item in items]
    got = describe(items) if "input" in doc else "nothing (no such key)"
    raise MalformedError(f'{where}: expected "input" to be a string or a non-empty list, got {got}')


class OpenAIEmbeddingsCodec(ServerCodec):
    """Server side of `/v1/embeddings`, for the mock upstream."""

    def parse_request(self, body: bytes) -> ServedRequest:
        where = f"{PROTOCOL} request"
        doc = load_request(body, PROTOCOL)
        model = require(doc, "model", str, where)
        texts = _input_texts(doc, where)
        return ServedRequest(model, "\n".join(texts), None, False, embeddings=len(texts))

    def render_body(self, reply: Reply) -> bytes:
        prompt = 0 if reply.usage is None else reply.usage.prompt_tokens or 0
        doc = {
            "object": "list",
            "data": [
                {"object": "embedding", "index": index, "embedding": vector}
                for index, vector in enumerate(reply.embeddings)
            ],
            "model": reply.model,
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
        }
        return orjson.dumps(doc)

    def open_stream(
        self, reply_id: str, model: str, created_s: int, prompt_usage: Usage | None
    ) -> StreamRenderer:
        raise NotImplementedError("embeddings are never streamed")

    def render_error(self, status: int, message: str) -> bytes:
        return openai_error_body(status, message)
