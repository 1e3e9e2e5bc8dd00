"""What the mock answers to one request: length, text, timing and faults.

`Planner.plan()` decides everything about an answer up front, from one seeded
RNG, in the order requests arrive: whether it is an injected error, a
disconnect, an in-stream error, a stall, how many tokens it carries and where
its text starts. The server then only executes the plan. Timing gaps are
sampled lazily (`gap_s()`) as the answer is written.

Rules:
- Output length is the request's max_tokens, or `min(output_tokens,
  max_tokens)` when `--output-tokens` is set (`DEFAULT_OUTPUT_TOKENS` when
  neither is); a request with `ignore_eos` (vLLM's flag) and a max_tokens
  gets exactly max_tokens, whatever `--output-tokens` says. The finish
  reason is "length" when max_tokens was reached, else "stop".
- Text is drawn from `loadtest.tokens.WORDS`, one token per word, words joined
  by single spaces; each content event carries `tokens_per_chunk` words, and
  every event after the first starts with the separating space, so the events
  concatenate to the whole text and `estimate_tokens(text) == tokens`.
- At most one of error / disconnect / stream error happens to a request
  (decided in that order); a stall combines with any non-error answer.
- An injected error skips the prefix cache (a server that refuses a request
  never reads its prompt); every other answer looks its prompt up, from
  its `cache_skip_chars`-th character on (prompt tokens count it whole).
- A streamed answer's `done_delay_s` (sampled from `--done-delay`) holds its
  closing events after the last content event.
- Tool calls: a request that lets the answer call a tool (`served.tools`)
  gets one call of its first such tool when it requires one, else with
  probability `--tool-call-rate`, unless the answer has no tokens. The
  call's arguments are the JSON object `{"text": "<the answer's words>"}`,
  streamed in fragments: the first opens it, each carries the words a
  content event would, the last closes it.
- Embeddings requests get no tokens and one vector of `--embedding-dim`
  numbers per input, drawn once per process from a pool of 16; their
  latency is the TTFT.

Pure and sync: no I/O, no clock.
"""

from __future__ import annotations

import enum
import random
from typing import TYPE_CHECKING

import attrs

from loadtest.mock._cache import PrefixCache
from loadtest.mock._config import DEFAULT_OUTPUT_TOKENS, Fixed
from loadtest.protocol import ToolCall, Usage
from loadtest.tokens import WORDS, estimate_tokens

if TYPE_CHECKING:
    from collections.abc import Iterator

    from loadtest.mock._config import MockConfig
    from loadtest.protocol import ServedRequest

__all__ = [
    "TOOL_ARGUMENTS_CLOSE",
    "TOOL_ARGUMENTS_OPEN",
    "AnswerPlan",
    "Fault",
    "Planner",
    "WordPool",
    "output_length",
    "tool_arguments",
]

#: Words in the pregenerated pool that answers are sliced from.
POOL_WORDS = 16_384
#: Distinct embedding vectors a process answers with.
POOL_VECTORS = 16
#: How a tool call's arguments open and close around the answer's words.
TOOL_ARGUMENTS_OPEN = '{"text": "'
TOOL_ARGUMENTS_CLOSE = '"}'


def tool_arguments(pieces: list[str]) -> list[str]:
    """The argument fragments of a tool call whose text is `pieces` (the
    content events' texts, at least one): the JSON object
    `{"text": "<pieces>"}` cut at the same places. The words need no JSON
    escaping."""
    fragments = list(pieces)
    fragments[0] = TOOL_ARGUMENTS_OPEN + fragments[0]
    fragments[-1] += TOOL_ARGUMENTS_CLOSE
    return fragments


class Fault(enum.Enum):
    """An injected failure; `NONE` for a normal answer."""

    NONE = "none"
    ERROR = "error"
    DISCONNECT = "disconnect"
    STREAM_ERROR = "stream_error"


def output_length(
    max_tokens: int | None, output_tokens: int | None, ignore_eos: bool = False
) -> tuple[int, str]:
    """The answer's token count and finish reason (see the module rules)."""
    if output_tokens is None or (ignore_eos and max_tokens is not None):
        if max_tokens is None:
            return DEFAULT_OUTPUT_TOKENS, "stop"
        return max(0, max_tokens), "length"
    if max_tokens is not None and max_tokens <= output_tokens:
        return max(0, max_tokens), "length"
    return output_tokens, "stop"


class WordPool:
    """A long pregenerated word sequence, sliced into answers without
    per-word work. Word `i` of an answer starting at `offset` is pool word
    `(offset + i) % len(pool)`."""

    def __init__(self, rng: random.Random, size: int = POOL_WORDS) -> None:
        self.words = [WORDS[int(rng.random() * len(WORDS))] for _ in range(size)]
        self.spaced = [" " + word for word in self.words]
        self.text = " ".join(self.words)
        self.starts: list[int] = []
        position = 0
        for word in self.words:
            self.starts.append(position)
            position += len(word) + 1

    def span(self, first: int, count: int) -> str:
        """`count` words from pool index `first` (wrapping), joined by spaces."""
        size = len(self.words)
        if count <= 0:
            return ""
        first %= size
        if first + count <= size:
            end = self.starts[first + count - 1] + len(self.words[first + count - 1])
            return self.text[self.starts[first] : end]
        return " ".join(self.words[(first + i) % size] for i in range(count))

    def chunks(self, offset: int, tokens: int, per_chunk: int) -> Iterator[str]:
        """The content events' texts: `per_chunk` words each (the last may have
        fewer), every one after the first led by a space."""
        if per_chunk == 1 and tokens:  # the common case, without slicing
            size = len(self.words)
            yield self.words[offset % size]
            spaced = self.spaced
            for index in range(offset + 1, offset + tokens):
                yield spaced[index % size]
            return
        for start in range(0, tokens, per_chunk):
            text = self.span(offset + start, min(per_chunk, tokens - start))
            yield text if start == 0 else " " + text


@attrs.frozen
class AnswerPlan:
    """Everything decided about one answer before it is written.

    `events` is the number of content events; `fault_at` how many of them
    are sent before a disconnect or in-stream error; `stall_at` the content
    event before which the stream pauses `stall_s` (`events`: before the
    closing events), None for no stall. `cut_mid_body` says whether a
    non-streamed disconnect sends half the answer first.
    """

    fault: Fault
    tokens: int
    finish_reason: str
    events: int
    word_offset: int
    ttft_s: float
    prompt_tokens: int = 0
    cached_tokens: int = 0
    fault_at: int = 0
    stall_at: int | None = None
    stall_s: float = 0.0
    cut_mid_body: bool = False
    done_delay_s: float = 0.0
    #: The tool the answer calls, None for a text answer.
    tool: str | None = None


class Planner:
    """Decides answers for one server process; holds its RNG, cache and words.
    `seed` overrides `config.seed` (worker i of a seeded config uses seed + i)."""

    def __init__(self, config: MockConfig, seed: int | None = None) -> None:
        self.config = config
        self.rng = random.Random(config.seed if seed is None else seed)
        self.words = WordPool(self.rng)
        self.cache = (
            PrefixCache(config.cache_block_chars, config.cache_entries) if config.cache else None
        )
        self._vectors: list[tuple[float, ...]] = []

    def plan(self, served: ServedRequest) -> AnswerPlan:
        """Decide the answer to `served` (drawing from the RNG, touching the cache)."""
        cfg, rng = self.config, self.rng
        if served.embeddings is None:
            tokens, finish = output_length(served.max_tokens, cfg.output_tokens, served.ignore_eos)
        else:
            tokens, finish = 0, "stop"
        events = -(-tokens // cfg.tokens_per_chunk)
        if cfg.error_rate and rng.random() < cfg.error_rate:
            return AnswerPlan(Fault.ERROR, tokens, finish, events, 0, 0.0)
        fault, fault_at, cut_mid_body = self._terminal_fault(served.stream, events)
        stall_at = None
        if cfg.stall_rate and rng.random() < cfg.stall_rate:
            stall_at = rng.randint(1, events) if events else 0
        prompt_tokens, cached_tokens = self._prompt_tokens(served.prompt_text)
        tool = self._tool(served, tokens)
        return AnswerPlan(
            fault,
            tokens,
            finish,
            events,
            word_offset=rng.randrange(len(self.words.words)),
            ttft_s=cfg.ttft.sample(rng),
            prompt_tokens=prompt_tokens,
            cached_tokens=cached_tokens,
            fault_at=fault_at,
            stall_at=stall_at,
            stall_s=cfg.stall.sample(rng) if stall_at is not None else 0.0,
            cut_mid_body=cut_mid_body,
            done_delay_s=cfg.done_delay.sample(rng) if served.stream else 0.0,
            tool=tool,
        )

    def _tool(self, served: ServedRequest, tokens: int) -> str | None:
        """The tool the answer calls (see the module rules)."""
        if not served.tools or not tokens:
            return None
        rate = self.config.tool_call_rate
        if served.tool_required or rate >= 1 or (rate and self.rng.random() < rate):
            return served.tools[0]
        return None

    def _terminal_fault(self, stream: bool, events: int) -> tuple[Fault, int, bool]:
        cfg, rng = self.config, self.rng
        if cfg.disconnect_rate and rng.random() < cfg.disconnect_rate:
            return Fault.DISCONNECT, rng.randrange(events) if events else 0, rng.random() < 0.5
        if stream and cfg.stream_error_rate and rng.random() < cfg.stream_error_rate:
            return Fault.STREAM_ERROR, rng.randrange(events) if events else 0, False
        return Fault.NONE, 0, False

    def _prompt_tokens(self, prompt_text: str) -> tuple[int, int]:
        """(prompt tokens, cached tokens) of a prompt, through the cache if any."""
        if self.cache is None:
            return estimate_tokens(prompt_text), 0
        skip = self.config.cache_skip_chars
        if skip:
            cached_tokens, _ = self.cache.lookup(prompt_text[skip:])
            prompt_tokens = estimate_tokens(prompt_text)
            return prompt_tokens, min(cached_tokens, prompt_tokens)
        cached_tokens, prompt_tokens = self.cache.lookup(prompt_text)
        return prompt_tokens, cached_tokens

    def gap_s(self) -> float:
        """One inter-token gap, sampled from `--itl`."""
        return self.config.itl.sample(self.rng)

    def generation_s(self, plan: AnswerPlan) -> float:
        """Time from request to a non-streamed answer: TTFT, a gap between
        each pair of content events, and the stall if any."""
        gaps = max(0, plan.events - 1)
        itl = self.config.itl
        total = (
            itl.value_s * gaps if isinstance(itl, Fixed) else sum(self.gap_s() for _ in range(gaps))
        )
        return plan.ttft_s + total + plan.stall_s

    def chunks(self, plan: AnswerPlan) -> Iterator[str]:
        """The content events' texts of `plan`."""
        return self.words.chunks(plan.word_offset, plan.tokens, self.config.tokens_per_chunk)

    def text(self, plan: AnswerPlan) -> str:
        """The whole answer text of `plan` (empty for a tool call)."""
        return (
            self.words.span(plan.word_offset, plan.tokens) if plan.tokens and not plan.tool else ""
        )

    def tool_call(self, plan: AnswerPlan, reply_id: str) -> ToolCall | None:
        """The whole tool call of `plan`, None for a text answer."""
        if plan.tool is None:
            return None
        text = self.words.span(plan.word_offset, plan.tokens)
        return ToolCall(f"call_{reply_id}", plan.tool, "".join(tool_arguments([text])))

    def vectors(self, served: ServedRequest) -> tuple[tuple[float, ...], ...]:
        """One embedding per input of an embeddings request (none otherwise)."""
        if served.embeddings is None:
            return ()
        if not self._vectors:
            dim = self.config.embedding_dim
            self._vectors = [
                tuple(round(self.rng.uniform(-1, 1), 6) for _ in range(dim))
                for _ in range(POOL_VECTORS)
            ]
        pool = self._vectors
        return tuple(pool[int(self.rng.random() * len(pool))] for _ in range(served.embeddings))

    def usage(self, plan: AnswerPlan, include: bool) -> Usage | None:
        """The usage to report (None when usage is off or not asked for)."""
        if not (include and self.config.usage):
            return None
        return Usage(plan.prompt_tokens, plan.tokens, plan.cached_tokens)

    def prompt_usage(self, plan: AnswerPlan, include: bool) -> Usage | None:
        """The prompt-side usage known before the first token."""
        if not (include and self.config.usage):
            return None
        return Usage(plan.prompt_tokens, None, plan.cached_tokens)
