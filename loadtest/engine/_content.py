"""What each user turn says: content modes, cache modes and correlation tags.

Rules:
- Every random choice comes from the RNG handed in (one per conversation,
  derived from the run's seed), so the same profile and seed give the same
  request plan. The conversation UUID is the one deliberate exception: it is
  fresh in every run, so a re-run cannot hit caches warmed by the last one.
- `bust` puts the UUID at the very front of the conversation's first
  message — the system prompt when there is one, else the first user
  message — so no prefix of any request is shared with another
  conversation. `shared-prefix` puts it at the end of the first user
  message (system prompt and first message stay a cacheable common prefix,
  whole-response caches miss). `natural` adds nothing.
- `sized` text is a slice of one long seeded word stream built once per run
  (generating 12,500 words per turn would cost milliseconds of generator CPU
  per request); each word is one token (see `loadtest.tokens`).
- `dataset` content: a conversation is one record, drawn when it starts;
  it sends the record's user turns in order, and the record's system prompt
  (if any) replaces the scenario's. Drawn with replacement from the
  conversation's RNG, or without (`RecordSampler`): a seeded permutation
  per scenario, shared by its conversations, renewed once all are used.
- Token counts given as distributions (`max_tokens`, `approx_input_tokens`)
  are drawn per turn from the conversation's RNG; fixed ones draw nothing.

Pure; no I/O.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from loadtest.config import (
    DatasetContent,
    DurationRange,
    IntRange,
    PoolContent,
    ScriptedContent,
    SizedContent,
    draw_tokens,
)
from loadtest.tokens import word_stream

if TYPE_CHECKING:
    from loadtest.config import (
        CacheMode,
        Content,
        Dataset,
        DatasetRecord,
        ScenarioPlan,
        ThinkTime,
        Turns,
    )

__all__ = [
    "RecordSampler",
    "TextPool",
    "conversation_rng",
    "draw_max_tokens",
    "draw_think_s",
    "draw_turns",
    "first_system",
    "pick_record",
    "place_uuid",
    "random_uuid",
    "user_text",
]

#: Words in the shared sized-text pool: enough for the largest realistic
#: prompt (~12,500 tokens) many times over, at ~0.5 MB of text.
_POOL_WORDS = 100_000


class TextPool:
    """One long word stream; `take(rng, n)` returns n consecutive words from a
    random offset, in O(1) Python work. Built on first use (~50 ms), so runs
    without sized content never pay for it."""

    def __init__(self, seed: int, words: int = _POOL_WORDS) -> None:
        self._seed = seed
        self._size = words
        self._text = ""
        self._starts: list[int] = []

    def build(self) -> None:
        """Build the pool now (~30 ms), e.g. before a stage starts, so the
        first sized turn does not stall the event loop mid-stage."""
        if not self._starts:
            self._build()

    def _build(self) -> None:
        text = word_stream(random.Random(f"{self._seed}:sized-text"), self._size)
        starts = [0]
        find = text.find
        position = find(" ")
        while position != -1:
            starts.append(position + 1)
            position = find(" ", position + 1)
        starts.append(len(text) + 1)
        self._text, self._starts = text, starts

    def take(self, rng: random.Random, count: int) -> str:
        """`count` words (repeating the pool when `count` exceeds it)."""
        self.build()
        total = len(self._starts) - 1
        if count > total:
            whole, rest = divmod(count, total)
            parts = [self._text] * whole
            if rest:
                parts.append(self.take(rng, rest))
            return " ".join(parts)
        first = int(rng.random() * (total - count + 1))
        return self._text[self._starts[first] : self._starts[first + count] - 1]


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID string from `rng` (~0.8 µs; uuid.uuid4() reads
    os.urandom and costs ~2.5 µs). Give it an RNG seeded from os.urandom:
    conversation ids must differ between runs."""
    bits = rng.getrandbits(128)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[bits & 3]}{h[17:20]}-{h[20:]}"


def conversation_rng(seed: int, *path: object) -> random.Random:
    """A deterministic RNG for one branch of the seed tree (`seed:stage:vu:...`)."""
    return random.Random(":".join(str(part) for part in (seed, *path)))


def draw_turns(turns: Turns, rng: random.Random) -> int:
    """How many turns this conversation has."""
    if isinstance(turns, IntRange):
        return rng.randint(turns.min, turns.max)
    return turns


def draw_think_s(think: ThinkTime, rng: random.Random) -> float:
    """One think time, seconds."""
    if isinstance(think, DurationRange):
        return rng.uniform(think.min.seconds, think.max.seconds)
    return think.seconds


class RecordSampler:
    """Draws the records of one scenario's dataset (see the module rules)."""

    def __init__(self, dataset: Dataset, replacement: bool, seed: int, scenario: int) -> None:
        self._records = dataset.records
        self._replacement = replacement
        self._rng = conversation_rng(seed, "dataset", scenario)
        self._order: list[int] = []

    def draw(self, rng: random.Random) -> DatasetRecord:
        """One record: from `rng` (with replacement), else the next of the
        scenario's permutation."""
        if self._replacement:
            return pick_record(self._records, rng)
        if not self._order:
            self._order = list(range(len(self._records)))
            self._rng.shuffle(self._order)
            self._order.reverse()  # pop() from the end takes them in shuffled order
        return self._records[self._order.pop()]


def pick_record(records: tuple[DatasetRecord, ...], rng: random.Random) -> DatasetRecord:
    """One record drawn uniformly from `rng`."""
    return records[int(rng.random() * len(records))]


def user_text(
    content: Content,
    turn_index: int,
    rng: random.Random,
    pool: TextPool,
    record: DatasetRecord | None = None,
    lengths: tuple[int, ...] = (),
) -> str:
    """The user message of turn `turn_index` (0-based), before any UUID.
    `record`: the conversation's dataset record; `lengths`: those an
    `empirical` approx_input_tokens draws from."""
    if isinstance(content, PoolContent):
        return content.prompts[int(rng.random() * len(content.prompts))]
    if isinstance(content, ScriptedContent):
        return content.script[turn_index % len(content.script)]
    if isinstance(content, DatasetContent):
        assert record is not None, "a dataset conversation draws its record first"
        return record.turns[turn_index]
    assert isinstance(content, SizedContent)
    return pool.take(rng, draw_tokens(content.approx_input_tokens, rng, lengths))


def draw_max_tokens(plan: ScenarioPlan, rng: random.Random) -> int:
    """The max_tokens of one turn."""
    return draw_tokens(plan.max_tokens, rng, plan.output_lengths)


def first_system(system: str | None, cache_mode: CacheMode, uuid: str) -> str | None:
    """The system prompt as sent: `bust` puts the UUID first when there is one."""
    if system and cache_mode == "bust":
        return f"{uuid}\n{system}"
    return system


def place_uuid(
    text: str, first_turn: bool, has_system: bool, cache_mode: CacheMode, uuid: str
) -> str:
    """The user message with the cache-mode UUID placed (first turn only)."""
    if not first_turn or cache_mode == "natural":
        return text
    if cache_mode == "bust":
        return text if has_system else f"{uuid}\n{text}"
    return f"{text}\n{uuid}"
