"""Masking secrets: which headers are secret, and how a masked value looks.

A header is secret when its name holds one of `SECRET_WORDS` (`key`,
`token`, `secret`, `auth`, `password`, `cookie`, ...: `Authorization`,
`x-api-key`, `apikey`, `x-portkey-api-key`), or a profile names it in
`redact_headers`. A masked value keeps an
auth scheme word (`Bearer ***`) so a reader can tell what kind of credential
was sent, and nothing of the credential itself. URLs lose their password and
the values of query parameters that look like keys. `redact_profile` applies
this to a whole profile before it is written out (`profile-<ts>.toml`),
keeping `${NAME}` references, which name a key's source rather than hold it.
`secret_values` lists what a plan sends in secret headers, and `scrub`
removes each of them from any text the tool writes or prints (an error body
that echoes the key).

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
    "MASK",
    "SECRET_WORDS",
    "holds_mask",
    "is_secret",
    "mask_header",
    "mask_url",
    "redact_profile",
    "scrub",
    "secret_names",
    "secret_values",
]

MASK = "***"
#: A header whose name (any case) holds one of these is secret.
SECRET_WORDS = (
    "key",
    "token",
    "secret",
    "auth",
    "password",
    "passwd",
    "cookie",
    "credential",
)
_SECRET_QUERY = frozenset({"key", "api-key", "api_key", "apikey", "token", "access_token", "sig"})
_SCHEMES = frozenset({"bearer", "basic", "token"})


def secret_names(extra: Iterable[str] = ()) -> frozenset[str]:
    """Lower-case header names to mask besides those `SECRET_WORDS` catch
    (a profile's `redact_headers`)."""
    return frozenset(name.strip().lower() for name in extra)


def is_secret(name: str, secret: frozenset[str] = frozenset()) -> bool:
    """Whether header `name` carries a credential: its name holds one of
    `SECRET_WORDS`, or `secret` (from `secret_names`) lists it."""
    lower = name.lower()
    return lower in secret or any(word in lower for word in SECRET_WORDS)


def secret_values(headers: Iterable[tuple[str, str]], secret: frozenset[str]) -> tuple[str, ...]:
    """The values sent in secret headers, and their credentials without an
    auth scheme word (`sk-1` of `Bearer sk-1`), longest first, for `scrub`."""
    found: set[str] = set()
    for name, value in headers:
        if not is_secret(name, secret):
            continue
        scheme, _, rest = value.partition(" ")
        found.add(value.strip())
        if rest.strip() and scheme.lower() in _SCHEMES:
            found.add(rest.strip())
    found.discard("")
    return tuple(sorted(found, key=lambda v: (-len(v), v)))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of every secret value replaced by the mask
    (`secrets` longest first, as `secret_values` gives them)."""
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    return text


def mask_header(name: str, value: str, secret: frozenset[str]) -> str:
    """`value` as it may be shown: masked when `name` is secret."""
    if not is_secret(name, secret):
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
    if not is_secret(name, secret) or _is_reference(value):
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
