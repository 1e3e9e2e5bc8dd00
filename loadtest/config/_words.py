"""Counts in words for one-line messages: "1 VU", "2 VUs", "1 stage".

Pure; no I/O.
"""

from __future__ import annotations

__all__ = ["counted"]


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """`count` and its noun, singular for exactly one (`counted(1, "VU")` is
    "1 VU", `counted(2, "VU")` "2 VUs"); `plural` defaults to singular + "s"."""
    noun = singular if count == 1 else plural or singular + "s"
    return f"{count:,} {noun}"
