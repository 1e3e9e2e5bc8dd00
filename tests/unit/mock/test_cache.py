"""The prefix cache: chained blocks, whole blocks only, bounded LRU, exact token counts."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.mock._cache import PrefixCache
from loadtest.tokens import estimate_tokens

PROMPT = "You are a helpful assistant. " * 20  # 580 characters


def _words_before(text: str, end: int) -> int:
    """Tokens of the pieces of `text` that end before `end` (the cached figure)."""
    cut = end
    while cut and text[cut - 1].isascii() and text[cut - 1].isalnum():
        cut -= 1
    return estimate_tokens(text[:cut])


def test_first_sight_misses_then_repeat_hits_whole_blocks() -> None:
    """A new prompt reports 0 cached; the same prompt again reports the words
    of all its whole blocks. The prompt count is exact both times."""
    cache = PrefixCache(64, 1000)
    assert cache.lookup(PROMPT) == (0, estimate_tokens(PROMPT))
    cached, total = cache.lookup(PROMPT)
    assert cached == _words_before(PROMPT, len(PROMPT) // 64 * 64)
    assert total == estimate_tokens(PROMPT)
    assert cached > 0.85 * total


def test_shared_prefix_hits_up_to_the_first_different_block() -> None:
    """Two prompts sharing a prefix hit the blocks the prefix fully covers."""
    cache = PrefixCache(64, 1000)
    cache.lookup(PROMPT + "first question")
    other = PROMPT + "another question entirely"
    assert cache.lookup(other) == (
        _words_before(PROMPT, len(PROMPT) // 64 * 64),
        estimate_tokens(other),
    )


def test_a_different_first_block_misses_everything() -> None:
    """A fresh UUID at the front (cache busting) changes every chained hash."""
    cache = PrefixCache(64, 1000)
    cache.lookup(f"{uuid.uuid4()} {PROMPT}")
    assert cache.lookup(f"{uuid.uuid4()} {PROMPT}")[0] == 0


def test_growing_conversation_reports_earlier_turns() -> None:
    """A later turn of a conversation finds the earlier turns cached."""
    cache = PrefixCache(16, 1000)
    turn1 = "system prompt here\nuser: hello, how are you today?"
    cache.lookup(turn1)
    turn2 = turn1 + "\nassistant: fine thanks\nuser: and then?"
    assert cache.lookup(turn2)[0] == _words_before(turn2, len(turn1) // 16 * 16)


def test_partial_block_never_hits() -> None:
    """Text shorter than one block is never cached."""
    cache = PrefixCache(64, 1000)
    cache.lookup("short")
    assert cache.lookup("short") == (0, 1)
    assert len(cache) == 0


def test_capacity_is_bounded_and_least_recent_go_first() -> None:
    """The LRU holds at most `entries` blocks and evicts the least recently used."""
    cache = PrefixCache(5, 3)
    cache.lookup("aaaa.")
    cache.lookup("bbbb.")
    cache.lookup("cccc.")
    assert cache.lookup("aaaa.")[0] == 2  # refreshed: now the most recent
    cache.lookup("dddd.")  # evicts bbbb, the least recent
    assert len(cache) == 3
    assert cache.lookup("bbbb.")[0] == 0
    assert cache.lookup("aaaa.")[0] == 2


def test_hit_after_evicted_first_block_is_a_miss() -> None:
    """A run of hits ends at the first block no longer held."""
    cache = PrefixCache(3, 3)
    cache.lookup("aa bb cc ")  # three chained blocks
    cache.lookup("zz ")  # evicts the first block
    assert cache.lookup("aa bb cc ") == (0, 3)


@given(
    st.lists(
        st.text(alphabet=st.sampled_from("ab1 \n.é\u3000xyzXYZ0"), max_size=120),
        min_size=1,
        max_size=6,
    ),
    st.integers(1, 12),
)
def test_prompt_count_is_always_exact(texts: list[str], block_chars: int) -> None:
    """Whatever was cached before, the prompt count equals `estimate_tokens`
    and the cached count never exceeds it."""
    cache = PrefixCache(block_chars, 40)
    for index, text in enumerate(texts):
        for prompt in (text, texts[0] + text, texts[index - 1] + text):
            cached, total = cache.lookup(prompt)
            assert total == estimate_tokens(prompt)
            assert 0 <= cached <= total


def test_runs_without_cut_points_count_as_uncached() -> None:
    """A run of letters and digits only (base64) has no cut point inside it,
    so its blocks report no cached tokens; the text after it does."""
    blob = "QUJD" * 40
    cache = PrefixCache(16, 100)
    cache.lookup(blob + " then words, more words and more words")
    cached, total = cache.lookup(blob + " then words, more words and more words")
    assert 0 < cached < total
    assert cache.lookup(blob)[0] == 0


def test_bad_sizes_are_rejected() -> None:
    """Block size and capacity must be positive."""
    with pytest.raises(ValueError, match="must be >= 1"):
        PrefixCache(0, 10)
