"""The fixed error taxonomy: every failed turn gets exactly one of these classes.

Server-side classes describe what the gateway (or the network to it) did;
generator-side classes (`gen_*`) describe the load generator failing to do its
own job. Reports always show the two groups apart, because a generator-side
error means the numbers describe the generator, not the gateway.

`ErrorClass` is the type; the module constants (`HTTP_429`, ...) are its
members under their old names. Error counts are keyed by plain `str`
(orjson writes no other dict key). Pure data; imported by protocol
adapters, the engine, metrics and reports.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "ALL_CLASSES",
    "BAD_RESPONSE",
    "CONN_REFUSED",
    "CONN_RESET",
    "DNS",
    "EMPTY_COMPLETION",
    "GENERATOR_CLASSES",
    "GEN_DROPPED",
    "GEN_FD_EXHAUSTION",
    "GEN_PORT_EXHAUSTION",
    "GEN_TLS_SETUP",
    "HTTP_4XX",
    "HTTP_5XX",
    "HTTP_429",
    "RESPONSE_TOO_LARGE",
    "SERVER_CLASSES",
    "STREAM_TRUNCATED",
    "TIMEOUT_CONNECT",
    "TIMEOUT_READ",
    "TIMEOUT_TOTAL",
    "TLS",
    "ErrorClass",
    "class_for_status",
    "is_generator_class",
]


class ErrorClass(StrEnum):
    """An error class. A `str`: it equals, hashes and prints as its value
    (`ErrorClass.HTTP_429 == "http_429"`), so JSON, CSV and Prometheus
    output hold the value unchanged."""

    HTTP_429 = "http_429"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    TIMEOUT_CONNECT = "timeout_connect"
    TIMEOUT_READ = "timeout_read"
    TIMEOUT_TOTAL = "timeout_total"
    CONN_REFUSED = "conn_refused"
    CONN_RESET = "conn_reset"
    STREAM_TRUNCATED = "stream_truncated"
    DNS = "dns"
    TLS = "tls"
    #: Unparseable body or stream, wrong content type, missing fields.
    BAD_RESPONSE = "bad_response"
    #: HTTP 200 with no content at all: a silent failure.
    EMPTY_COMPLETION = "empty_completion"
    #: A response body over `http.max_response_bytes` (the connection is closed).
    RESPONSE_TOO_LARGE = "response_too_large"

    GEN_PORT_EXHAUSTION = "gen_port_exhaustion"
    GEN_FD_EXHAUSTION = "gen_fd_exhaustion"
    #: An open-loop arrival dropped because `max_in_flight` was reached.
    GEN_DROPPED = "gen_dropped"
    #: The generator's own TLS settings could not be loaded (`http.ca_bundle`
    #: vanished or broke after validation): nothing was sent.
    GEN_TLS_SETUP = "gen_tls_setup"


#: The classes as module constants (aliases of the members).
HTTP_429: Final = ErrorClass.HTTP_429
HTTP_4XX: Final = ErrorClass.HTTP_4XX
HTTP_5XX: Final = ErrorClass.HTTP_5XX
TIMEOUT_CONNECT: Final = ErrorClass.TIMEOUT_CONNECT
TIMEOUT_READ: Final = ErrorClass.TIMEOUT_READ
TIMEOUT_TOTAL: Final = ErrorClass.TIMEOUT_TOTAL
CONN_REFUSED: Final = ErrorClass.CONN_REFUSED
CONN_RESET: Final = ErrorClass.CONN_RESET
STREAM_TRUNCATED: Final = ErrorClass.STREAM_TRUNCATED
DNS: Final = ErrorClass.DNS
TLS: Final = ErrorClass.TLS
BAD_RESPONSE: Final = ErrorClass.BAD_RESPONSE
EMPTY_COMPLETION: Final = ErrorClass.EMPTY_COMPLETION
RESPONSE_TOO_LARGE: Final = ErrorClass.RESPONSE_TOO_LARGE
GEN_PORT_EXHAUSTION: Final = ErrorClass.GEN_PORT_EXHAUSTION
GEN_FD_EXHAUSTION: Final = ErrorClass.GEN_FD_EXHAUSTION
GEN_DROPPED: Final = ErrorClass.GEN_DROPPED
GEN_TLS_SETUP: Final = ErrorClass.GEN_TLS_SETUP

SERVER_CLASSES: tuple[ErrorClass, ...] = (
    HTTP_429,
    HTTP_4XX,
    HTTP_5XX,
    TIMEOUT_CONNECT,
    TIMEOUT_READ,
    TIMEOUT_TOTAL,
    CONN_REFUSED,
    CONN_RESET,
    STREAM_TRUNCATED,
    DNS,
    TLS,
    BAD_RESPONSE,
    EMPTY_COMPLETION,
    RESPONSE_TOO_LARGE,
)
GENERATOR_CLASSES: tuple[ErrorClass, ...] = (
    GEN_PORT_EXHAUSTION,
    GEN_FD_EXHAUSTION,
    GEN_DROPPED,
    GEN_TLS_SETUP,
)
ALL_CLASSES: tuple[ErrorClass, ...] = SERVER_CLASSES + GENERATOR_CLASSES


def class_for_status(status: int) -> ErrorClass | None:
    """The error class of an HTTP status, or None when the status is a success."""
    if status == 429:
        return HTTP_429
    if 400 <= status < 500:
        return HTTP_4XX
    if status >= 500:
        return HTTP_5XX
    if 200 <= status < 300:
        return None
    # 1xx reaching the caller or 3xx (we never follow redirects): not an answer.
    return BAD_RESPONSE


def is_generator_class(error_class: str) -> bool:
    """True for the classes that blame the load generator, not the gateway."""
    return error_class.startswith("gen_")
