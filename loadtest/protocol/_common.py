"""Pieces shared by the built-in protocol modules, client and server side.

- Field access on decoded JSON that names what was expected, what arrived and
  where (`expect`, `require`), raising `MalformedError`; a `ValueError`, so
  the same helpers validate request bodies for the server codecs.
- `error_class_for`: the one mapping from a server's error code / type to a
  taxonomy class, used for in-stream error events and errors in 200 bodies:
  a numeric code 400-599 (or its string form) maps like an HTTP status;
  otherwise a code or type containing "rate_limit" (or "insufficient_quota")
  is `http_429`; a known client-error type (`invalid_request_error`,
  `authentication_error`, `permission_error`, `not_found_error`,
  `request_too_large`, `billing_error`) is `http_4xx`; anything else,
  unknown included, is `http_5xx` (the server failed mid-answer).
- `open_parser`: the choice every adapter makes on a response head: non-2xx
  -> `ErrorBodyParser`; wrong content type -> `WrongContentTypeParser`
  (a missing content-type is accepted); else the protocol's stream parser
  (built on `_sse.SSEStreamParser`) or body parser (`JSONBodyParser`). Both
  turn invalid JSON (invalid UTF-8 included) and `MalformedError` into one
  `bad_response` error, and then yield nothing more.

Pure and sync; no I/O.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Final, TypeVar

import orjson

from loadtest import taxonomy
from loadtest.protocol._base import Event, ResponseError, ResponseParser

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "ERROR_BODY_LIMIT_BYTES",
    "JSON_BODY_LIMIT_BYTES",
    "ErrorBodyParser",
    "JSONBodyParser",
    "MalformedError",
    "WrongContentTypeParser",
    "content_text",
    "describe",
    "error_class_for",
    "error_details",
    "expect",
    "load_request",
    "open_parser",
    "openai_error_body",
    "reported_error",
    "request_headers",
    "require",
    "snippet",
    "sse_frame",
    "tool_objects",
]

#: How much of an error body is kept to extract its message.
ERROR_BODY_LIMIT_BYTES: Final = 64 * 1024
#: The largest non-streamed answer a body parser accepts.
JSON_BODY_LIMIT_BYTES: Final = 64 * 1024 * 1024
_SNIPPET_CHARS: Final = 200

T = TypeVar("T")

_KIND_NAMES: Final[Mapping[type, str]] = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    bool: "a boolean",
}
_JSON_TYPE_NAMES: Final[Mapping[type, str]] = {
    dict: "object",
    list: "list",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
}
_CLIENT_ERROR_TYPES: Final = frozenset(
    {"invalid_request_error", "authentication_error", "permission_error", "not_found_error"}
    | {"request_too_large", "billing_error"}
)


class MalformedError(ValueError):
    """Decoded JSON is not shaped as the protocol says; the message names
    what was expected, what arrived, and where."""


# --- field access ------------------------------------------------------------


def describe(value: object) -> str:
    """A short description of a JSON value for messages: `string "abc"`."""
    if value is None:
        return "null"
    shown = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{_JSON_TYPE_NAMES.get(type(value), type(value).__name__)} {shown}"


def expect(obj: Mapping[str, Any], key: str, kind: type[T], where: str, path: str = "") -> T | None:
    """`obj[key]` when it is a `kind`; None when missing or null; else raise
    `MalformedError`. `path` prefixes the key in messages (`choices[0].`)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise MalformedError(
        f'{where}: expected "{path}{key}" to be {_KIND_NAMES[kind]}, got {describe(value)}'
    )


def tool_objects(doc: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """The objects of a request's `tools` list (none when absent); an item
    that is not an object is malformed. Each protocol reads its own fields."""
    tools = expect(doc, "tools", list, where) or []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            got = describe(tool)
            raise MalformedError(f'{where}: expected "tools[{index}]" to be an object, got {got}')
    return tools


def require(obj: Mapping[str, Any], key: str, kind: type[T], where: str, path: str = "") -> T:
    """Like `expect`, but a missing or null value is malformed too."""
    value = expect(obj, key, kind, where, path)
    if value is None:
        got = "null" if key in obj else "nothing (no such key)"
        raise MalformedError(
            f'{where}: expected "{path}{key}" to be {_KIND_NAMES[kind]}, got {got}'
        )
    return value


def content_text(content: object, where: str) -> str:
    """The text of a message's content: a string, or a list of content parts
    whose `text` fields are joined (non-text parts such as images count as
    no text); null is no text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise MalformedError(
            f"{where}: expected content to be a string or a list of parts, got {describe(content)}"
        )
    texts: list[str] = []
    for index, part in enumerate(content):
        if not isinstance(part, dict):
            raise MalformedError(
                f"{where}: content[{index}]: expected an object, got {describe(part)}"
            )
        text = expect(part, "text", str, where, f"content[{index}].")
        if text is not None:
            texts.append(text)
    return "".join(texts)


def load_request(body: bytes, protocol: str) -> dict[str, Any]:
    """A request body decoded as a JSON object, for the server codecs."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedError(f"{protocol} request: body is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise MalformedError(f"{protocol} request: expected a JSON object, got {describe(doc)}")
    return doc


def sse_frame(event_name: str | None, payload: Mapping[str, Any]) -> bytes:
    """One SSE event: an optional `event:` line, one `data:` line, a blank line."""
    data = b"data: " + orjson.dumps(payload) + b"\n\n"
    return data if event_name is None else b"event: " + event_name.encode() + b"\n" + data


# --- errors ------------------------------------------------------------------


def error_class_for(code: object, error_type: object) -> str:
    """The taxonomy class of a server-reported error (see the module docstring)."""
    status = code if isinstance(code, int) and not isinstance(code, bool) else None
    if isinstance(code, str) and code.isdigit():
        status = int(code)
    if status is not None and 400 <= status < 600:
        return taxonomy.class_for_status(status) or taxonomy.HTTP_5XX
    labels = [label.lower() for label in (code, error_type) if isinstance(label, str)]
    if any("rate_limit" in label or label == "insufficient_quota" for label in labels):
        return taxonomy.HTTP_429
    if any(label in _CLIENT_ERROR_TYPES for label in labels):
        return taxonomy.HTTP_4XX
    return taxonomy.HTTP_5XX


def error_details(doc: object) -> tuple[str | None, str | None, object]:
    """(message, type, code) of an error document: OpenAI's `{"error": {...}}`,
    Anthropic's `{"type": "error", "error": {...}}`, `{"error": "text"}`, or a
    bare `{"message": ...}` / `{"detail": ...}`. Unknown shapes give Nones."""
    if not isinstance(doc, dict):
        return None, None, None
    error = doc.get("error", doc)
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, dict):
        return None, None, None
    message = error.get("message", error.get("detail"))
    error_type = error.get("type")
    code = error.get("code")
    if not isinstance(error_type, str):
        error_type = code if isinstance(code, str) else None
    return (message if isinstance(message, str) else None), error_type, code


def reported_error(
    where: str, message: str | None, error_type: str | None, code: object
) -> ResponseError:
    """The `ResponseError` for an error the server reported (in the stream or
    in a 200 body), classed by `error_class_for`."""
    text = f"{where}: the server reported an error: {message or '(no message)'}"
    return ResponseError(error_class_for(code, error_type), text, error_type)


_OPENAI_ERROR_TYPES: Final[Mapping[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def openai_error_body(status: int, message: str) -> bytes:
    """An OpenAI-style error body (Chat Completions and Responses share it)."""
    error_type = _OPENAI_ERROR_TYPES.get(status)
    if error_type is None:
        error_type = "server_error" if status >= 500 else "invalid_request_error"
    error = {"message": message, "type": error_type, "param": None, "code": None}
    return orjson.dumps({"error": error})


def snippet(body: bytes) -> str:
    text = body[: _SNIPPET_CHARS * 4].decode("utf-8", "replace")[:_SNIPPET_CHARS]
    return repr(text) if text else "nothing (empty body)"


# --- parsers -----------------------------------------------------------------


class _CollectingParser(ResponseParser):
    """Keeps up to `limit` bytes of the body and answers once, at `end()`."""

    def __init__(self, limit: int) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._limit = limit
        self._ended = False

    def feed(self, data: bytes) -> list[Event]:
        room = self._limit - self._size
        if room > 0 and not self._ended:
            self._chunks.append(data[:room])
        self._size += len(data)
        return []

    def end(self) -> list[Event]:
        if self._ended:
            return []
        self._ended = True
        return self._answer(b"".join(self._chunks))

    @abc.abstractmethod
    def _answer(self, body: bytes) -> list[Event]: ...


class ErrorBodyParser(_CollectingParser):
    """A non-2xx response: one `ResponseError` at `end()`, classed by status,
    carrying the message of the JSON error body (else its first characters)."""

    def __init__(self, protocol: str, status: int) -> None:
        super().__init__(ERROR_BODY_LIMIT_BYTES)
        self._protocol = protocol
        self._status = status

    def _answer(self, body: bytes) -> list[Event]:
        try:
            doc: object = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = None
        message, error_type, _ = error_details(doc)
        if message is None:
            message = f"body: {snippet(body)}"
        error_class = taxonomy.class_for_status(self._status) or taxonomy.BAD_RESPONSE
        text = f"{self._protocol}: HTTP {self._status}: {message}"
        return [ResponseError(error_class, text, error_type)]


class WrongContentTypeParser(_CollectingParser):
    """A 2xx response whose content type is not the one asked for."""

    def __init__(self, protocol: str, expected: str, got: str) -> None:
        super().__init__(_SNIPPET_CHARS * 4)
        self._problem = f"{protocol}: expected content-type {expected}, got {got!r}"

    def _answer(self, body: bytes) -> list[Event]:
        message = f"{self._problem}; body starts: {snippet(body)}"
        return [ResponseError(taxonomy.BAD_RESPONSE, message)]


class JSONBodyParser(_CollectingParser):
    """A non-streamed answer: decoded at `end()` and turned into events by
    `to_events`, which raises `MalformedError` on a badly shaped document."""

    def __init__(self, protocol: str, to_events: Callable[[dict[str, Any], str], list[Event]]):
        super().__init__(JSON_BODY_LIMIT_BYTES)
        self._where = f"{protocol} response body"
        self._to_events = to_events

    def _answer(self, body: bytes) -> list[Event]:
        if self._size > self._limit:
            return [self._bad(f"larger than {self._limit} bytes")]
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return [self._bad(f"not valid JSON ({exc}); body starts: {snippet(body)}")]
        if not isinstance(doc, dict):
            return [self._bad(f"expected a JSON object, got {describe(doc)}")]
        try:
            return self._to_events(doc, self._where)
        except MalformedError as exc:
            return [ResponseError(taxonomy.BAD_RESPONSE, str(exc))]

    def _bad(self, problem: str) -> ResponseError:
        return ResponseError(taxonomy.BAD_RESPONSE, f"{self._where}: {problem}")


def _media_type(headers: Mapping[str, str]) -> str | None:
    value = headers.get("content-type")
    if value is None:
        return None
    return value.partition(";")[0].strip().lower()


def open_parser(
    protocol: str,
    status: int,
    headers: Mapping[str, str],
    stream: bool,
    make_stream_parser: Callable[[], ResponseParser],
    make_body_parser: Callable[[], ResponseParser],
) -> ResponseParser:
    """The parser for a response head (see the module docstring)."""
    if not 200 <= status < 300:
        return ErrorBodyParser(protocol, status)
    media_type = _media_type(headers)
    if stream:
        if media_type is not None and media_type != "text/event-stream":
            expected = "text/event-stream (a stream was asked for)"
            return WrongContentTypeParser(protocol, expected, headers["content-type"])
        return make_stream_parser()
    if (
        media_type is not None
        and media_type != "application/json"
        and not media_type.endswith("+json")
    ):
        expected = "application/json (no stream was asked for)"
        return WrongContentTypeParser(protocol, expected, headers["content-type"])
    return make_body_parser()


_STREAM_HEADERS: Final = (("content-type", "application/json"), ("accept", "text/event-stream"))
_BODY_HEADERS: Final = (("content-type", "application/json"), ("accept", "application/json"))


def request_headers(stream: bool) -> tuple[tuple[str, str], ...]:
    """The headers every JSON-over-HTTP protocol here sends: a JSON body, and
    SSE or JSON accepted back."""
    return _STREAM_HEADERS if stream else _BODY_HEADERS
