"""Masking secrets: which headers are secret, and how a masked value looks.

`Authorization`, `Proxy-Authorization`, `x-api-key` and `api-key` are always
secret; a profile adds names with `redact_headers`. A masked value keeps an
auth scheme word (`Bearer ***`) so a reader can tell what kind of credential
was sent, and nothing of the credential itself. URLs lose their password and
the values of query parameters that look like keys.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ALWAYS_SECRET", "MASK", "mask_header", "mask_url", "secret_names"]

MASK = "***"
ALWAYS_SECRET = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})
_SECRET_QUERY = frozenset({"key", "api-key", "api_key", "apikey", "token", "access_token", "sig"})
_SCHEMES = frozenset({"bearer", "basic", "token"})


def secret_names(extra: Iterable[str] = ()) -> frozenset[str]:
    """Lower-case header names to mask: the fixed set plus `extra`."""
    return ALWAYS_SECRET | {name.strip().lower() for name in extra}


def mask_header(name: str, value: str, secret: frozenset[str]) -> str:
    """`value` as it may be shown: masked when `name` is secret."""
    if name.lower() not in secret:
        return value
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in _SCHEMES:
        return f"{scheme} {MASK}"
    return MASK


def mask_url(url: str) -> str:
    """`url` without a password or key-like query values."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{hostport}" if ":" in userinfo else f"{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if k.lower() in _SECRET_QUERY else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
