"""Sized prompts spliced into request bodies from the text pool's bytes: the
body on the wire is byte for byte what encoding the whole body gives (the
reference: the same adapter with no `content_json`, i.e. `orjson.dumps` of
the body), for many seeds, cache modes, system prompts, correlation tags,
turn positions and histories; the text and the draws are those of
`user_message`. `dumps_spliced` itself is fuzzed against `orjson.dumps`."""

from __future__ import annotations

import itertools
import random
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.config import RunPlan, resolve, structure_profile
from loadtest.engine._content import TextPool, json_pieces
from loadtest.engine._stage import new_conversation, user_message, user_message_json
from loadtest.protocol import Conversation, Message
from loadtest.protocol._splice import MARK, dumps_spliced
from loadtest.protocol.openai_chat import OpenAIChatAdapter


def _plan(cache_mode: str, system: str | None, tag: bool, tokens: Any, extra: Any) -> RunPlan:
    defaults: dict[str, Any] = {
        "target": "http://gw.test/v1",
        "model": "m",
        "max_tokens": 10,
        "stream": False,
        "content": {"mode": "sized", "approx_input_tokens": tokens},
    }
    if system is not None:
        defaults["system"] = system
    if extra:
        defaults["extra_body"] = extra
    profile: dict[str, Any] = {
        "stages": ["1:1s"],
        "cache_mode": cache_mode,
        "defaults": defaults,
    }
    if tag:
        profile["correlation"] = {"uuid_in_prompt": True}
    return resolve(structure_profile(profile), env={})


def _plain(conversation: Conversation) -> Conversation:
    """The same conversation with no pre-encoded texts: the reference path."""
    messages = tuple(attrs.evolve(m, content_json=None) for m in conversation.messages)
    return attrs.evolve(conversation, messages=messages)


POOL = TextPool(7, words=3_000)


@pytest.mark.parametrize("cache_mode", ["bust", "shared-prefix", "natural"])
@pytest.mark.parametrize("system", [None, "be brief", 'say "hi"\n\tok'])
@pytest.mark.parametrize("tag", [False, True])
@pytest.mark.parametrize("extra", [None, {"top_p": 0.5}, {"metadata": {"note": MARK}}])
def test_spliced_bodies_equal_encoded_bodies(
    cache_mode: str, system: str | None, tag: bool, extra: Any
) -> None:
    adapter = OpenAIChatAdapter()
    for seed in range(12):
        tokens = [1, 5, 40, 2_999, 3_000, 7_500][seed % 6]
        drawn = {"dist": "uniform", "min": 1, "max": 200}
        plan = _plan(cache_mode, system, tag, tokens if seed % 4 else drawn, extra)
        scenario = plan.scenarios[0]
        rng = random.Random(seed)
        twin = random.Random(seed)
        conversation_id = f"{seed:08x}-0000-4000-8000-000000000000"
        messages: list[Message] = []
        spliced = 0
        for turn in range(3):
            text, pieces = user_message_json(plan, scenario, turn, rng, POOL, conversation_id)
            assert text == user_message(plan, scenario, turn, twin, POOL, conversation_id)
            assert rng.getstate() == twin.getstate()
            if pieces is not None:
                assert b"".join(pieces) == orjson.dumps(text)[1:-1]
                spliced += 1
            messages.append(Message("user", text, content_json=pieces))
            conversation = new_conversation(scenario, scenario.system, messages, 10)
            body = adapter.build_request(conversation).body
            assert body == adapter.build_request(_plain(conversation)).body
            messages.append(Message("assistant", f"answer {turn}"))
        assert spliced == (3 if tokens <= 3_000 or seed % 4 == 0 else 0)


def test_json_pieces_refuses_a_text_that_is_not_the_shape() -> None:
    assert json_pieces("ab", "a", memoryview(b"a"), "\0") is None
    assert json_pieces("ab", "a", memoryview(b"a"), "b") is None
    assert json_pieces("xay", "a", memoryview(b"a"), "x\0y") == (b"x", memoryview(b"a"), b"y")


texts = st.text(max_size=300) | st.text(alphabet='ab \n"\\\0\x1fé☃', max_size=50)


@settings(max_examples=300)
@given(
    contents=st.lists(st.tuples(texts, st.booleans(), st.lists(st.integers(0, 400))), max_size=4),
    other=st.sampled_from(["", MARK, "x" + MARK, 'a"' + MARK, MARK + '"']),
)
def test_dumps_spliced_is_orjson_dumps(
    contents: list[tuple[str, bool, list[int]]], other: str
) -> None:
    body_texts: list[Any] = []
    skeleton: list[Any] = []
    pieces_list: list[tuple[bytes | memoryview, ...]] = []
    for text, splice, cuts in contents:
        body_texts.append({"role": "user", "content": text})
        if splice:
            encoded = orjson.dumps(text)[1:-1]
            bounds = sorted({0, len(encoded), *(c for c in cuts if c < len(encoded))})
            view = memoryview(encoded)
            pieces_list.append(tuple(view[a:b] for a, b in itertools.pairwise(bounds)))
            skeleton.append({"role": "user", "content": MARK})
        else:
            skeleton.append({"role": "user", "content": text})
    expected = orjson.dumps({"messages": body_texts, "other": other})
    result = dumps_spliced({"messages": skeleton, "other": other}, pieces_list)
    if result is not None:  # never a wrong body: a splice or none
        assert result == expected
    if other == MARK:  # a string that is a mark: one mark too many
        assert result is None
    if not other and not any("\0" in text for text, _, _ in contents):
        assert result is not None
