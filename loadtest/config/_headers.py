"""The grammar of request headers that a profile or a flag may set.

Rules (RFC 9110):
- A name is a token: letters, digits and ``!#$%&'*+-.^_`|~``, at most
  `MAX_NAME_CHARS`. Host, Content-Length and Transfer-Encoding are written
  by the HTTP layer itself and cannot be set.
- A value holds visible ASCII, spaces, tabs and non-ASCII text (sent as
  UTF-8, i.e. obs-text bytes), at most `MAX_VALUE_CHARS`; never CR, LF, NUL
  or another control character, which could smuggle a line into the request.
- Problems never quote a value: it may be a credential.

The engine's HTTP/1.1 writer uses the same token rule and reserved names.
Pure; no I/O.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_HEADERS",
    "MAX_NAME_CHARS",
    "MAX_VALUE_CHARS",
    "RESERVED_REQUEST_HEADERS",
    "TOKEN",
    "header_name_problem",
    "header_value_problem",
]

TOKEN = r"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_TOKEN_RE = re.compile(TOKEN)
#: Headers the HTTP layer writes itself (framing and Host).
RESERVED_REQUEST_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
MAX_NAME_CHARS = 256
MAX_VALUE_CHARS = 16_384
#: Most headers one object (defaults, a scenario) may set.
MAX_HEADERS = 100
_BAD_VALUE_CHAR = re.compile(r"[^\t\x20-\x7e\xa0-\ud7ff\ue000-\U0010ffff]")
_CHAR_NAMES = {"\r": "CR", "\n": "LF", "\x00": "NUL"}


def header_name_problem(name: str, *, settable: bool = True) -> str | None:
    """Why `name` cannot be a request header name (one a profile may set,
    unless `settable` is False), or None if it can."""
    if len(name) > MAX_NAME_CHARS:
        return f"a header name is at most {MAX_NAME_CHARS} characters, got {len(name)}"
    if _TOKEN_RE.fullmatch(name) is None:
        shown = name if name.isprintable() and name.isascii() else ascii(name)
        return (
            f'header name "{shown}" is not an HTTP token (letters, digits and '
            "!#$%&'*+-.^_`|~; no spaces, colons or control characters)"
        )
    if settable and name.lower() in RESERVED_REQUEST_HEADERS:
        return f"header {name} is written by loadtest itself and cannot be set"
    return None


def header_value_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be sent as the value of header `name`, or None.
    The value is never quoted."""
    if len(value) > MAX_VALUE_CHARS:
        return f"the value of header {name} is {len(value)} characters; at most {MAX_VALUE_CHARS}"
    bad = _BAD_VALUE_CHAR.search(value)
    if bad is None:
        return None
    char = bad.group()
    what = _CHAR_NAMES.get(char, f"U+{ord(char):04X}")
    return (
        f"the value of header {name} holds {what} at position {bad.start() + 1}; a value is "
        "visible text, spaces and tabs (no CR, LF, NUL or other control characters)"
    )
