"""Answer planning: length and finish reason, text, fault decisions, timing totals."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from loadtest.mock import DEFAULT_OUTPUT_TOKENS, MockConfig, parse_timing
from loadtest.mock._answer import Fault, Planner, WordPool, output_length
from loadtest.protocol import ServedRequest, Usage
from loadtest.tokens import WORDS, estimate_tokens


def _served(max_tokens: int | None = 10, stream: bool = True, prompt: str = "hi") -> ServedRequest:
    return ServedRequest("m", prompt, max_tokens, stream)


@pytest.mark.parametrize(
    ("max_tokens", "output_tokens", "expected"),
    [
        (10, None, (10, "length")),
        (None, None, (DEFAULT_OUTPUT_TOKENS, "stop")),
        (10, 5, (5, "stop")),
        (10, 10, (10, "length")),
        (10, 50, (10, "length")),
        (None, 7, (7, "stop")),
        (0, None, (0, "length")),
    ],
)
def test_output_length_and_finish_reason(
    max_tokens: int | None, output_tokens: int | None, expected: tuple[int, str]
) -> None:
    """max_tokens by default; --output-tokens capped by max_tokens; "length" when capped."""
    assert output_length(max_tokens, output_tokens) == expected


@pytest.mark.parametrize(
    ("max_tokens", "output_tokens", "expected"),
    [
        (10, 5, (10, "length")),
        (10, 50, (10, "length")),
        (10, None, (10, "length")),
        (None, 7, (7, "stop")),
        (None, None, (DEFAULT_OUTPUT_TOKENS, "stop")),
    ],
)
def test_ignore_eos_answers_exactly_max_tokens(
    max_tokens: int | None, output_tokens: int | None, expected: tuple[int, str]
) -> None:
    """A request with ignore_eos gets its max_tokens whatever --output-tokens
    says; without a max_tokens the flag changes nothing."""
    assert output_length(max_tokens, output_tokens, ignore_eos=True) == expected


def test_the_planner_honours_ignore_eos() -> None:
    planner = Planner(MockConfig(output_tokens=4, seed=1))
    served = ServedRequest("m", "hi", 30, True, ignore_eos=True)
    plan = planner.plan(served)
    assert (plan.tokens, plan.finish_reason) == (30, "length")
    assert estimate_tokens(planner.text(plan)) == 30
    assert planner.plan(_served(max_tokens=30)).tokens == 4


@pytest.mark.parametrize("per_chunk", [1, 3, 7])
def test_chunks_concatenate_to_the_text(per_chunk: int) -> None:
    """Content events carry `per_chunk` words each and concatenate to the whole
    text, whose token estimate is exactly the planned token count."""
    planner = Planner(MockConfig(tokens_per_chunk=per_chunk, seed=1))
    plan = planner.plan(_served(max_tokens=20))
    chunks = list(planner.chunks(plan))
    assert len(chunks) == plan.events == -(-20 // per_chunk)
    assert "".join(chunks) == planner.text(plan)
    assert estimate_tokens(planner.text(plan)) == 20
    assert all(estimate_tokens(chunk) == per_chunk for chunk in chunks[:-1])
    assert all(chunk.startswith(" ") for chunk in chunks[1:])


def test_word_pool_wraps_around() -> None:
    """Answers longer than the pool, or starting near its end, wrap cleanly."""
    pool = WordPool(random.Random(3), size=10)
    text = pool.span(7, 25)
    assert text.split() == [pool.words[(7 + i) % 10] for i in range(25)]
    assert "".join(pool.chunks(8, 25, 4)) == pool.span(8, 25)
    assert all(word in WORDS for word in text.split())
    assert pool.span(3, 0) == ""


def test_no_faults_by_default() -> None:
    """With every rate at 0 no answer is faulty or stalled."""
    planner = Planner(MockConfig(seed=2))
    plans = [planner.plan(_served()) for _ in range(500)]
    assert {plan.fault for plan in plans} == {Fault.NONE}
    assert all(plan.stall_at is None for plan in plans)


def test_fault_rates_are_honoured() -> None:
    """Each fault happens to about its rate of requests, at most one per request."""
    config = MockConfig(seed=4, error_rate=0.2, disconnect_rate=0.25, stream_error_rate=0.5)
    planner = Planner(config)
    counts = Counter(planner.plan(_served()).fault for _ in range(8000))
    assert counts[Fault.ERROR] / 8000 == pytest.approx(0.2, abs=0.02)
    assert counts[Fault.DISCONNECT] / 8000 == pytest.approx(0.8 * 0.25, abs=0.02)
    assert counts[Fault.STREAM_ERROR] / 8000 == pytest.approx(0.8 * 0.75 * 0.5, abs=0.02)


def test_stream_errors_only_happen_to_streams() -> None:
    """--stream-error-rate never touches a non-streamed answer."""
    planner = Planner(MockConfig(seed=5, stream_error_rate=1.0))
    assert {planner.plan(_served(stream=False)).fault for _ in range(100)} == {Fault.NONE}


def test_fault_positions_lie_inside_the_answer() -> None:
    """Disconnects come after 0..n-1 content events; stalls before events 1..n."""
    planner = Planner(MockConfig(seed=6, disconnect_rate=1.0, stall_rate=1.0))
    plans = [planner.plan(_served(max_tokens=5)) for _ in range(400)]
    assert {plan.fault_at for plan in plans} == {0, 1, 2, 3, 4}
    assert {plan.stall_at for plan in plans} == {1, 2, 3, 4, 5}
    assert {plan.cut_mid_body for plan in plans} == {False, True}
    assert all(plan.stall_s == 2.0 for plan in plans)


def test_same_seed_same_decisions() -> None:
    """The seed fixes faults, timing samples and text, request by request."""

    def run() -> list[tuple[Fault, float, str]]:
        config = MockConfig(seed=9, error_rate=0.3, ttft=parse_timing("exp:100ms", "--ttft"))
        planner = Planner(config)
        plans = [planner.plan(_served()) for _ in range(50)]
        return [(plan.fault, plan.ttft_s, planner.text(plan)) for plan in plans]

    assert run() == run()


def test_errors_skip_the_cache_and_others_use_it() -> None:
    """An injected error leaves the prompt uncached; a served answer caches it."""
    prompt = "lorem ipsum. " * 20
    erring = Planner(MockConfig(seed=1, error_rate=1.0))
    erring.plan(_served(prompt=prompt))
    assert erring.cache is not None
    assert len(erring.cache) == 0
    planner = Planner(MockConfig(seed=1))
    first = planner.plan(_served(prompt=prompt))
    again = planner.plan(_served(prompt=prompt))
    assert first.cached_tokens == 0
    assert estimate_tokens(prompt) - 4 <= again.cached_tokens < estimate_tokens(prompt)
    assert again.prompt_tokens == estimate_tokens(prompt)


def test_no_cache_reports_zero() -> None:
    """--no-cache: cached_tokens is always 0."""
    planner = Planner(MockConfig(seed=1, cache=False))
    plans = [planner.plan(_served(prompt="y" * 256)) for _ in range(2)]
    assert [plan.cached_tokens for plan in plans] == [0, 0]


def test_usage_follows_the_switches() -> None:
    """Usage is reported unless --no-usage or the request did not ask for it."""
    planner = Planner(MockConfig(seed=1))
    plan = planner.plan(_served(max_tokens=4, prompt="two words"))
    assert planner.usage(plan, include=True) == Usage(2, 4, 0)
    assert planner.prompt_usage(plan, include=True) == Usage(2, None, 0)
    assert planner.usage(plan, include=False) is None
    quiet = Planner(MockConfig(seed=1, usage=False))
    assert quiet.usage(quiet.plan(_served()), include=True) is None


def test_generation_time_of_a_whole_answer() -> None:
    """A non-streamed answer takes TTFT + (events - 1) gaps (+ a stall)."""
    config = MockConfig(
        seed=1,
        ttft=parse_timing("200ms", "--ttft"),
        itl=parse_timing("20ms", "--itl"),
        tokens_per_chunk=2,
    )
    planner = Planner(config)
    plan = planner.plan(_served(max_tokens=10))
    assert planner.generation_s(plan) == pytest.approx(0.2 + 4 * 0.02)
    random_gaps = Planner(MockConfig(seed=1, itl=parse_timing("uniform:10ms,30ms", "--itl")))
    plan = random_gaps.plan(_served(max_tokens=1001))
    assert random_gaps.generation_s(plan) == pytest.approx(1000 * 0.02, rel=0.05)


def test_done_delay_is_planned_for_streams_only() -> None:
    """--done-delay holds a stream's closing events; a whole answer has none."""
    planner = Planner(MockConfig(seed=1, done_delay=parse_timing("300ms", "--done-delay")))
    assert planner.plan(_served(stream=True)).done_delay_s == 0.3
    assert planner.plan(_served(stream=False)).done_delay_s == 0.0


def test_cache_skip_chars_lets_a_leading_nonce_hit() -> None:
    """--cache-skip-chars N: two prompts that differ only in their first N
    characters hit the cache; prompt tokens still count the whole prompt."""
    body = "lorem ipsum. " * 20
    first, second = "a" * 36 + "\n" + body, "b" * 36 + "\n" + body
    plain = Planner(MockConfig(seed=1))
    plain.plan(_served(prompt=first))
    assert plain.plan(_served(prompt=second)).cached_tokens == 0
    skipping = Planner(MockConfig(seed=1, cache_skip_chars=37))
    skipping.plan(_served(prompt=first))
    again = skipping.plan(_served(prompt=second))
    assert estimate_tokens(body) - 4 <= again.cached_tokens < estimate_tokens(body)
    assert again.prompt_tokens == estimate_tokens(second)
