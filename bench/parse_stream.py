"""Benchmark: the client adapters' hot path, per protocol.

For each built-in protocol, a realistic streamed answer of 128 SSE events
(the protocol's opening events, text deltas of one or two words, and its
closing events, each event shaped like the API's own, ~150-300 bytes of
JSON) is fed to a fresh parser:
- whole: the entire body in one `feed()` call;
- per event: one `feed()` call per SSE event, as gateways send them (one
  HTTP chunk per event).
Figures are µs per SSE event, best of several runs, including parser
creation and `end()`. "orjson only" is `orjson.loads` of every event's JSON,
the floor any Python parser pays. Then µs per `build_request()` for a
three-turn conversation with a system prompt.

Run: .venv/bin/python bench/parse_stream.py [--repeat 7] [--rounds 200]
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

import orjson

from loadtest.protocol import Conversation, Message, get_adapter
from loadtest.protocol._sse import SSEDecoder
from loadtest.tokens import WORDS

if TYPE_CHECKING:
    from collections.abc import Callable

EVENTS_PER_STREAM = 128
CHAT_ID = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
MSG_ID = "msg_67ccd2c0b5f4819093e5bd5e1d3c6a3b0bb6a6b452d3795b"


def sse(payload: dict[str, Any], name: str | None = None) -> bytes:
    line = b"data: " + orjson.dumps(payload) + b"\n\n"
    return line if name is None else f"event: {name}\n".encode() + line


def words(count: int) -> list[str]:
    return [
        " " + " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(1 + i % 2))
        for i in range(count)
    ]


def openai_chat_events() -> list[bytes]:
    """Shaped like api.openai.com chunks (include_usage on)."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        doc = {
            "id": CHAT_ID,
            "object": "chat.completion.chunk",
            "created": 1741569952,
            "model": "gpt-4o-2024-08-06",
            "service_tier": "default",
            "system_fingerprint": "fp_f9f4fb6dbf",
            "choices": [choice],
            "usage": None,
            "obfuscation": "kLm2Q",
            **extra,
        }
        return sse(doc)

    usage = {"prompt_tokens": 1117, "completion_tokens": 125, "total_tokens": 1242}
    head = [chunk({"role": "assistant", "content": "", "refusal": None})]
    tail = [
        chunk({}, "stop"),
        sse({"id": CHAT_ID, "choices": [], "usage": usage}),
        b"data: [DONE]\n\n",
    ]
    body = [chunk({"content": text}) for text in words(EVENTS_PER_STREAM - len(head) - len(tail))]
    return head + body + tail


def anthropic_events() -> list[bytes]:
    """Shaped like api.anthropic.com events."""
    message: dict[str, Any] = {
        "id": "msg_01RkVp7xXq3ZJ8CbmWQnB9Tn",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "cache_read_input_tokens": 2048, "output_tokens": 1},
    }
    block = {"type": "text", "text": ""}
    head = [
        sse({"type": "message_start", "message": message}, "message_start"),
        sse(
            {"type": "content_block_start", "index": 0, "content_block": block},
            "content_block_start",
        ),
        sse({"type": "ping"}, "ping"),
    ]
    stop = {"stop_reason": "end_turn", "stop_sequence": None}
    tail = [
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse(
            {"type": "message_delta", "delta": stop, "usage": {"output_tokens": 125}},
            "message_delta",
        ),
        sse({"type": "message_stop"}, "message_stop"),
    ]
    body = [
        sse(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
            "content_block_delta",
        )
        for text in words(EVENTS_PER_STREAM - len(head) - len(tail))
    ]
    return head + body + tail


def openai_responses_events() -> list[bytes]:
    """Shaped like api.openai.com Responses events (with sequence numbers)."""
    response: dict[str, Any] = {
        "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        "object": "response",
        "created_at": 1741476542,
        "status": "in_progress",
        "model": "gpt-4.1-2025-04-14",
        "output": [],
        "usage": None,
    }
    item = {
        "id": MSG_ID,
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    part = {"type": "output_text", "text": "", "annotations": []}
    at: dict[str, Any] = {"item_id": MSG_ID, "output_index": 0, "content_index": 0}
    head: list[dict[str, Any]] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **at, "part": part},
    ]
    done = {**response, "status": "completed", "usage": {"input_tokens": 36, "output_tokens": 120}}
    tail: list[dict[str, Any]] = [
        {"type": "response.output_text.done", **at, "text": "...", "logprobs": []},
        {"type": "response.content_part.done", **at, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": done},
    ]
    texts = words(EVENTS_PER_STREAM - len(head) - len(tail))
    body = [{"type": "response.output_text.delta", **at, "delta": t, "logprobs": []} for t in texts]
    docs = head + body + tail
    return [sse({**doc, "sequence_number": n}, str(doc["type"])) for n, doc in enumerate(docs)]


STREAMS: dict[str, Callable[[], list[bytes]]] = {
    "openai-chat": openai_chat_events,
    "anthropic": anthropic_events,
    "openai-responses": openai_responses_events,
}


def best_us(repeat: int, rounds: int, run: Callable[[], object]) -> float:
    """Fastest of `repeat` timings of `rounds` calls of `run`, µs per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(rounds):
            run()
        best = min(best, time.perf_counter() - start)
    return best / rounds * 1e6


def bench_protocol(name: str, repeat: int, rounds: int) -> None:
    events = STREAMS[name]()
    assert len(events) == EVENTS_PER_STREAM
    whole = b"".join(events)
    adapter = get_adapter(name)()
    headers = {"content-type": "text/event-stream"}

    def feed_whole() -> None:
        parser = adapter.open_response(200, headers, True)
        parser.feed(whole)
        parser.end()

    def feed_per_event() -> None:
        parser = adapter.open_response(200, headers, True)
        for event in events:
            parser.feed(event)
        parser.end()

    datas = [data for _, data in SSEDecoder().feed(whole)]
    jsons = [data for data in datas if data != b"[DONE]"]

    def orjson_only() -> None:
        for data in jsons:
            orjson.loads(data)

    check = adapter.open_response(200, headers, True)
    outcome = check.feed(whole) + check.end()
    assert type(outcome[-1]).__name__ == "Finish", outcome[-1]
    mean_bytes = sum(len(event) for event in events) / len(events)
    per_whole = best_us(repeat, rounds, feed_whole) / len(events)
    per_event = best_us(repeat, rounds, feed_per_event) / len(events)
    floor = best_us(repeat, rounds, orjson_only) / len(events)
    print(f"{name:<18} {mean_bytes:>7.0f} B {per_whole:>9.2f} {per_event:>11.2f} {floor:>13.2f}")


def bench_build_request(repeat: int, rounds: int) -> None:
    turn = " ".join(WORDS[:120])
    conversation = Conversation(
        model="gpt-4o",
        messages=(Message("user", turn), Message("assistant", turn), Message("user", turn)),
        system="You are a helpful assistant.",
        max_tokens=256,
        stream=True,
        temperature=0.7,
    )
    for name in STREAMS:
        build = get_adapter(name)().build_request
        per_request = best_us(repeat, rounds * 20, lambda: build(conversation))  # noqa: B023
        print(f"{name:<18} {per_request:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timings per figure (best kept)")
    parser.add_argument("--rounds", type=int, default=200, help="streams parsed per timing")
    args = parser.parse_args()
    print(f"µs per SSE event, {EVENTS_PER_STREAM}-event streams, best of {args.repeat}")
    print(f"{'protocol':<18} {'mean size':>9} {'whole':>9} {'per event':>11} {'orjson only':>13}")
    for name in STREAMS:
        bench_protocol(name, args.repeat, args.rounds)
    print("\nµs per build_request (system + 3 turns of 120 words, streaming)")
    bench_build_request(args.repeat, args.rounds)


if __name__ == "__main__":
    main()
