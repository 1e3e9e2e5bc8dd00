"""Masking secrets: which headers are secret, and how a masked value looks.

`Authorization`, `Proxy-Authorization`, `x-api-key` and `api-key` are always
secret; a profile adds names with `redact_headers`. A masked value keeps an
auth scheme word (`Bearer ***`) so a reader can tell what kind of credential
was sent, and nothing of the credential itself. URLs lose their password and
the values of query parameters that look like keys. `redact_profile` applies
this to a whole profile before it is written out (`profile-<ts>.toml`),
keeping `${NAME}` references, which name a key's source rather than hold it.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable

    from loadtest.config._model import Profile

__all__ = [
    "ALWAYS_SECRET",
    "MASK",
    "holds_mask",
    "mask_header",
    "mask_url",
    "redact_profile",
    "secret_names",
]

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


def _mask_map(headers: dict[str, str] | None, secret: frozenset[str]) -> dict[str, str] | None:
    if headers is None:
        return None
    return {name: _masked_unless_reference(name, value, secret) for name, value in headers.items()}


def _masked_unless_reference(name: str, value: str, secret: frozenset[str]) -> str:
    """Mask a secret header's value, but keep a pure `${NAME}` reference
    (it names where the key comes from; it is not the key)."""
    if name.lower() not in secret or _is_reference(value):
        return value
    return mask_header(name, value, secret)


def _is_reference(value: str) -> bool:
    scheme, _, rest = value.partition(" ")
    text = rest if rest and scheme.lower() in _SCHEMES else value
    return text.startswith("${") and text.endswith("}") and text.count("${") == 1


def redact_profile(profile: Profile) -> Profile:
    """The profile with every secret header value masked (references to
    environment variables are kept) and secrets dropped from target URLs."""
    secret = secret_names(profile.redact_headers)
    defaults = attrs.evolve(
        profile.defaults,
        headers=_mask_map(profile.defaults.headers, secret) or {},
        target=mask_url(profile.defaults.target) if profile.defaults.target else None,
    )
    scenarios = None
    if profile.scenarios is not None:
        scenarios = tuple(
            attrs.evolve(
                s,
                headers=_mask_map(s.headers, secret),
                target=mask_url(s.target) if s.target else None,
            )
            for s in profile.scenarios
        )
    return attrs.evolve(profile, defaults=defaults, scenarios=scenarios)


def holds_mask(value: str) -> bool:
    """Whether a header value is a masked secret (from a written-out profile)."""
    return MASK in value
