"""A simple prefix cache, so that a client's cache modes are observable.

The prompt text is cut into blocks of `block_chars` characters; block i is
identified by a chain hash of blocks 0..i (so a block only matches when
everything before it matched too, as in vLLM's and SGLang's prefix caches).
The hashes live in a bounded LRU of `entries` blocks. A lookup reports how
many tokens of the prompt's longest leading run of blocks already held are
cached, and the prompt's token count; then every whole block of the prompt is
held (the ones that hit are refreshed). Only whole blocks are cached: a
trailing partial block never hits.

Token counts are `loadtest.tokens.estimate_tokens`, counted once per block
and kept with it, so a hit costs a count of the uncached tail only. This is
exact because the estimator's pieces never cross a character that is not an
ASCII letter or digit (a space, punctuation, any other script): text cut
right after one counts the same in two parts as in one. Each block records
such a cut point (the last one inside the block, or the previous block's)
and the token count before it; the cached figure is the count before the
last hit block's cut, i.e. the pieces wholly inside the cached blocks. A
long run of letters and digits with no other character (base64) has no cut
point, so it reports as uncached until the run ends.

Each process has its own cache (several `--workers` behave like replicas
without cache-aware routing). Pure and sync.
"""

from __future__ import annotations

from collections import OrderedDict

from loadtest.tokens import estimate_tokens

__all__ = ["PrefixCache"]


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _cut(text: str, low: int, end: int, size: int) -> int:
    """The last position in the block before `end` that follows a character
    other than an ASCII letter or digit; `low` when there is none (or it lies
    before `low`)."""
    start = max(low, end - size)
    kept = len(text[start:end].rstrip(_ALNUM))
    return start + kept if kept else low


class PrefixCache:
    """Chain-hashed blocks of prompt text in a bounded LRU; see the module docstring."""

    def __init__(self, block_chars: int, entries: int) -> None:
        if block_chars < 1 or entries < 1:
            raise ValueError("block_chars and entries must be >= 1")
        self.block_chars = block_chars
        self.entries = entries
        # chain hash -> (cut position, estimate_tokens(text[:cut]))
        self._lru: OrderedDict[int, tuple[int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._lru)

    def lookup(self, text: str) -> tuple[int, int]:
        """`(cached_tokens, prompt_tokens)` of `text`; afterwards every whole
        block of `text` is cached. `prompt_tokens == estimate_tokens(text)`."""
        lru, size = self._lru, self.block_chars
        chain = 0
        cut, tokens = 0, 0  # a cut point and the count of the text before it
        cached_tokens = 0
        leading = True
        for end in range(size, len(text) + 1, size):
            chain = hash((chain, text[end - size : end]))
            known = lru.get(chain)
            if known is None:
                leading = False
                new_cut = _cut(text, cut, end, size)
                known = (new_cut, tokens + estimate_tokens(text[cut:new_cut]))
                lru[chain] = known
                if len(lru) > self.entries:
                    lru.popitem(last=False)
            else:
                lru.move_to_end(chain)
                if leading:
                    cached_tokens = known[1]
            cut, tokens = known
        return cached_tokens, tokens + estimate_tokens(text[cut:])
