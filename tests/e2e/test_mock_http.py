"""The mock upstream on a real loopback socket, driven by a raw HTTP client:
routing and errors, keep-alive, echo, usage and cache counts, faults, and
timing (against `loadtest mock` in a subprocess). On the real clock timing
is checked as lower bounds only (the mock is never early), which hold on a
busy machine; its exact pacing is tested on the mock clock
(tests/unit/mock/test_pacing.py)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import attrs
import orjson
import pytest
import trio

from loadtest.mock import MockConfig, parse_timing, run_mock_process, serve_mock
from loadtest.tokens import estimate_tokens

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"


@attrs.define
class Answer:
    """One response as seen on the wire. `chunks` holds each HTTP chunk with
    its arrival time; `complete` says whether the body ended properly."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: list[tuple[float, bytes]] = attrs.Factory(list)
    complete: bool = True

    def json(self) -> dict[str, object]:
        doc = orjson.loads(self.body)
        assert isinstance(doc, dict)
        return doc

    def events(self) -> list[dict[str, object]]:
        """The JSON payloads of the SSE `data:` lines (`[DONE]` skipped)."""
        out = []
        for line in self.body.split(b"\n"):
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                out.append(orjson.loads(line[6:]))
        return out


class RawClient:
    """A keep-alive HTTP/1.1 client that records when each chunk arrives."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.eof = False

    async def _fill(self) -> None:
        data = await self.stream.receive_some(65536)
        self.eof = not data
        self.buf += data

    async def _take(self, size: int) -> bytes | None:
        while len(self.buf) < size and not self.eof:
            await self._fill()
        if len(self.buf) < size:
            return None
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    async def _line(self, sep: bytes = b"\r\n") -> bytes | None:
        while (end := self.buf.find(sep)) < 0 and not self.eof:
            await self._fill()
        if end < 0:
            return None
        return await self._take(end + len(sep))

    async def read_to_eof(self) -> bytes:
        while not self.eof:
            await self._fill()
        return bytes(self.buf)

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def request(self, method: str, path: str, body: object = None, **headers: str) -> Answer:
        data = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
        lines = [f"{method} {path} HTTP/1.1", "host: mock", f"content-length: {len(data)}"]
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        await self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        return await self.read_answer()

    async def read_answer(self) -> Answer:
        head = await self._line(b"\r\n\r\n")
        if head is None:
            return Answer(0, {}, complete=False)
        status_line, *header_lines = head.decode("latin-1").strip().split("\r\n")
        pairs = (line.split(": ", 1) for line in header_lines)
        headers = {name.lower(): value for name, value in pairs}
        answer = Answer(int(status_line.split()[1]), headers)
        if headers.get("transfer-encoding") == "chunked":
            await self._read_chunks(answer)
        elif "content-length" in headers:
            body = await self._take(int(headers["content-length"]))
            answer.body, answer.complete = body or bytes(self.buf), body is not None
        return answer

    async def _read_chunks(self, answer: Answer) -> None:
        while (size_line := await self._line()) is not None:
            size = int(size_line, 16)
            data = await self._take(size + 2)
            if data is None:
                break
            if size == 0:
                return
            answer.chunks.append((trio.current_time(), data[:-2]))
            answer.body += data[:-2]
        answer.complete = False


def _chat(max_tokens: int | None = 5, stream: bool = False, prompt: str = "hello") -> object:
    body: dict[str, object] = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _chat_text(answer: Answer) -> str:
    if answer.chunks:
        texts = []
        for event in answer.events():
            choices = event.get("choices")
            if isinstance(choices, list) and choices:
                texts.append(choices[0]["delta"].get("content") or "")
        return "".join(texts)
    choices = answer.json()["choices"]
    assert isinstance(choices, list)
    return str(choices[0]["message"]["content"])


MockFactory = Callable[..., Awaitable[RawClient]]


@pytest.fixture
def mock_url(nursery: trio.Nursery) -> Callable[..., Awaitable[str]]:
    """A factory: start an in-process mock (port 0, seed 1, plus the given
    knobs) that lives until the test ends; get its URL."""

    async def start(**knobs: object) -> str:
        config = MockConfig(port=0, seed=1, **knobs)  # type: ignore[arg-type]
        url: str = await nursery.start(serve_mock, config)
        return url

    return start


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[str], Awaitable[RawClient]]]:
    """A factory of raw clients to a URL; each is closed when the test ends."""
    clients: list[RawClient] = []

    async def open_client(url: str) -> RawClient:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        clients.append(RawClient(await trio.open_tcp_stream(host, int(port))))
        return clients[-1]

    yield open_client
    for client in clients:
        await client.stream.aclose()


@pytest.fixture
def mock_at(
    mock_url: Callable[..., Awaitable[str]], connect: Callable[[str], Awaitable[RawClient]]
) -> MockFactory:
    """A factory: start an in-process mock with the given knobs; get a client to it."""

    async def start(**knobs: object) -> RawClient:
        return await connect(await mock_url(**knobs))

    return start


async def test_health_models_and_keep_alive(mock_at: MockFactory) -> None:
    """GET /health and /v1/models answer JSON, several requests on one connection."""
    client = await mock_at(models=("a", "b"))
    health = await client.request("GET", "/health")
    assert health.status == 200
    assert health.json()["status"] == "ok"
    models = await client.request("GET", "/v1/models")
    assert models.json() == {
        "object": "list",
        "data": [
            {"id": "a", "object": "model", "created": 0, "owned_by": "loadtest-mock"},
            {"id": "b", "object": "model", "created": 0, "owned_by": "loadtest-mock"},
        ],
    }
    assert models.headers["content-type"] == "application/json"
    again = await client.request("POST", CHAT, _chat())
    assert again.status == 200


async def test_routing_errors(mock_at: MockFactory) -> None:
    """Unknown path 404, wrong method 405 (with Allow), invalid body 400 in the
    protocol's own error format."""
    client = await mock_at()
    missing = await client.request("GET", "/v2/nothing")
    assert missing.status == 404
    assert "no route" in str(missing.json()["error"])
    wrong = await client.request("GET", CHAT)
    assert (wrong.status, wrong.headers["allow"]) == (405, "POST")
    post_health = await client.request("POST", "/health", {})
    assert (post_health.status, post_health.headers["allow"]) == (405, "GET")
    bad_chat = await client.request("POST", CHAT, b"{not json")
    assert bad_chat.status == 400
    assert "error" in bad_chat.json()
    bad_messages = await client.request("POST", "/v1/messages", {"model": "m"})
    assert bad_messages.status == 400
    assert bad_messages.json()["type"] == "error"


async def test_malformed_http_gets_400_and_close(mock_at: MockFactory) -> None:
    """A request the HTTP layer cannot read is answered 400 and the connection closed."""
    client = await mock_at()
    await client.send(b"POST /v1/messages HTTP/1.1\r\nContent-Length: x\r\n\r\n")
    answer = await client.read_answer()
    assert (answer.status, answer.headers["connection"]) == (400, "close")
    assert (await client.read_answer()).status == 0  # closed


async def test_chunked_request_body_is_accepted(mock_at: MockFactory) -> None:
    """A chunked request body is decoded like a Content-Length one."""
    client = await mock_at()
    body = orjson.dumps(_chat(max_tokens=3))
    framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    await client.send(b"POST %s HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n" % CHAT.encode())
    await client.send(framed)
    answer = await client.read_answer()
    assert answer.status == 200
    assert estimate_tokens(_chat_text(answer)) == 3


async def test_echo_header_is_copied(mock_at: MockFactory) -> None:
    """The correlation header comes back on answers, errors included."""
    client = await mock_at(echo_header="X-Corr")
    ok = await client.request("POST", CHAT, _chat(stream=True), x_corr="id-7")
    assert ok.headers["x-corr"] == "id-7"
    missing = await client.request("GET", "/nowhere", x_corr="id-8")
    assert missing.headers["x-corr"] == "id-8"
    assert "x-corr" not in (await client.request("GET", "/health")).headers


async def test_lengths_finish_reasons_and_usage(mock_at: MockFactory) -> None:
    """Output is max_tokens words ("length"), or --output-tokens ("stop"), with
    usage counting the prompt and the words sent; K words per content event."""
    client = await mock_at(output_tokens=6, tokens_per_chunk=4)
    capped = await client.request("POST", CHAT, _chat(max_tokens=3, prompt="one two three"))
    doc = capped.json()
    assert doc["choices"][0]["finish_reason"] == "length"  # type: ignore[index]
    assert doc["usage"]["prompt_tokens"] == 3  # type: ignore[index]
    assert doc["usage"]["completion_tokens"] == 3  # type: ignore[index]
    streamed = await client.request("POST", CHAT, _chat(max_tokens=50, stream=True))
    assert streamed.headers["content-type"] == "text/event-stream"
    assert estimate_tokens(_chat_text(streamed)) == 6
    content_chunks = [c for _, c in streamed.chunks if b'"delta":{"content"' in c]
    assert len(content_chunks) == 2  # 4 + 2 words
    assert len(streamed.chunks) == len(streamed.events()) + 1  # one chunk per event, + [DONE]
    last = streamed.events()[-1]
    assert last["usage"]["completion_tokens"] == 6  # type: ignore[index]


async def test_no_usage(mock_at: MockFactory) -> None:
    """--no-usage drops usage from whole and streamed answers."""
    client = await mock_at(usage=False)
    assert "usage" not in (await client.request("POST", CHAT, _chat())).json()
    streamed = await client.request("POST", CHAT, _chat(stream=True))
    assert all("usage" not in event for event in streamed.events())


def _cached(answer: Answer) -> int:
    usage = answer.json()["usage"]
    assert isinstance(usage, dict)
    return int(usage["prompt_tokens_details"]["cached_tokens"])


async def test_prefix_cache_counts(mock_at: MockFactory) -> None:
    """Repeats hit nearly the whole prompt, a shared prefix hits the prefix, a
    UUID in front hits nothing."""
    client = await mock_at()
    system = "You are a terse assistant who answers in one line. " * 8
    prompt = system + "What is a load test?"
    assert _cached(await client.request("POST", CHAT, _chat(prompt=prompt))) == 0
    repeat = _cached(await client.request("POST", CHAT, _chat(prompt=prompt)))
    assert estimate_tokens(prompt) - 16 <= repeat < estimate_tokens(prompt)
    shared = _cached(await client.request("POST", CHAT, _chat(prompt=system + "Other?")))
    assert estimate_tokens(system) - 16 <= shared <= estimate_tokens(system)
    for _ in range(2):
        busted = await client.request("POST", CHAT, _chat(prompt=f"{uuid.uuid4()} {prompt}"))
        assert _cached(busted) == 0


async def test_no_cache(mock_at: MockFactory) -> None:
    """--no-cache reports 0 cached tokens even on repeats."""
    client = await mock_at(cache=False)
    for _ in range(2):
        assert _cached(await client.request("POST", CHAT, _chat(prompt="z" * 300))) == 0


async def test_injected_429_has_retry_after(mock_at: MockFactory) -> None:
    """--error-rate 1 --error-status 429: every request is a 429 with
    Retry-After, in each protocol's error format, and the connection lives on."""
    client = await mock_at(error_rate=1.0, error_status=429)
    chat = await client.request("POST", CHAT, _chat(stream=True))
    assert (chat.status, chat.headers["retry-after"]) == (429, "1")
    assert chat.json()["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    messages = await client.request(
        "POST", "/v1/messages", {"model": "m", "max_tokens": 5, "messages": chat_messages()}
    )
    assert messages.status == 429
    assert messages.json()["type"] == "error"


def chat_messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": "hi"}]


async def test_stream_disconnect_drops_the_terminator(mock_at: MockFactory) -> None:
    """--disconnect-rate 1: a stream stops before its end, with no last chunk."""
    client = await mock_at(disconnect_rate=1.0)
    answer = await client.request("POST", CHAT, _chat(max_tokens=20, stream=True))
    assert answer.status == 200
    assert not answer.complete
    assert estimate_tokens(_chat_text(answer)) < 20
    assert b"[DONE]" not in answer.body


async def test_whole_answer_disconnect(
    mock_url: Callable[..., Awaitable[str]], connect: Callable[[str], Awaitable[RawClient]]
) -> None:
    """--disconnect-rate 1 on non-streamed answers: no answer or a cut body."""
    url = await mock_url(disconnect_rate=1.0)
    outcomes = set()
    for _ in range(10):
        answer = await (await connect(url)).request("POST", CHAT, _chat(max_tokens=20))
        assert not answer.complete
        outcomes.add(answer.status)
    assert outcomes == {0, 200}  # closed before the head, and in the middle of the body


async def test_stream_error_event(mock_at: MockFactory) -> None:
    """--stream-error-rate 1: the stream carries the protocol's error event and
    then ends properly."""
    client = await mock_at(stream_error_rate=1.0, error_status=529)
    answer = await client.request(
        "POST",
        "/v1/messages",
        {"model": "m", "max_tokens": 10, "stream": True, "messages": chat_messages()},
    )
    assert answer.status == 200
    assert answer.complete
    last = answer.events()[-1]
    assert last["type"] == "error"
    assert last["error"]["type"] == "overloaded_error"  # type: ignore[index]


async def test_stall_delays_the_stream(mock_at: MockFactory) -> None:
    """--stall-rate 1 --stall 300ms on an otherwise instant stream: the stream
    ends complete, no sooner than 300 ms after the request was sent."""
    client = await mock_at(stall_rate=1.0, stall=parse_timing("300ms", "--stall"))
    sent = trio.current_time()
    answer = await client.request("POST", CHAT, _chat(max_tokens=10, stream=True))
    assert answer.complete
    assert answer.chunks[-1][0] - sent >= 0.3


async def test_done_delay_holds_the_end_of_the_stream(mock_at: MockFactory) -> None:
    """--done-delay 300ms: the closing events and `[DONE]` come ~300 ms after
    the last content event, in the stream's last chunks."""
    client = await mock_at(done_delay=parse_timing("300ms", "--done-delay"))
    answer = await client.request("POST", CHAT, _chat(max_tokens=5, stream=True))
    times = [t for t, data in answer.chunks if data]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    held = max(range(len(gaps)), key=gaps.__getitem__)
    assert 0.28 <= gaps[held] <= 0.6
    assert b'"content"' in answer.chunks[held][1]
    assert b"[DONE]" not in b"".join(data for _, data in answer.chunks[: held + 1])
    assert answer.body.endswith(b"data: [DONE]\n\n")


async def test_http10_stream_is_close_delimited(mock_at: MockFactory) -> None:
    """An HTTP/1.0 client gets an unchunked stream ended by closing the
    connection, even when it asked for keep-alive."""
    client = await mock_at()
    body = orjson.dumps(_chat(max_tokens=2, stream=True))
    await client.send(
        b"POST %s HTTP/1.0\r\nconnection: keep-alive\r\ncontent-length: %d\r\n\r\n%s"
        % (CHAT.encode(), len(body), body)
    )
    answer = await client.read_answer()
    assert "transfer-encoding" not in answer.headers
    assert answer.headers["connection"] == "close"
    assert (await client.read_to_eof()).endswith(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def timed_mock() -> Iterator[str]:
    """`loadtest mock --ttft 200ms --itl 20ms` in a subprocess."""
    with run_mock_process(["--ttft", "200ms", "--itl", "20ms", "--seed", "3"]) as url:
        yield url


async def _timed_stream(
    connect: Callable[[str], Awaitable[RawClient]], url: str, tokens: int
) -> tuple[float, list[float]]:
    client = await connect(url)
    body = orjson.dumps(_chat(max_tokens=tokens, stream=True))
    head = b"POST %s HTTP/1.1\r\nhost: m\r\ncontent-length: %d\r\n\r\n" % (CHAT.encode(), len(body))
    sent = trio.current_time()  # before the send: the mock's clock starts later
    await client.send(head + body)
    answer = await client.read_answer()
    times = [t for t, data in answer.chunks if b'"delta":{"content"' in data]
    assert len(times) == tokens
    return times[0] - sent, [b - a for a, b in itertools.pairwise(times)]


async def test_no_token_is_early(
    timed_mock: str, connect: Callable[[str], Awaitable[RawClient]]
) -> None:
    """--ttft 200ms --itl 20ms, 20 concurrent streams of 20 tokens: every
    first token comes at least 200 ms after its request, every last one at
    least 200 + 19 × 20 ms after it."""
    results: list[tuple[float, list[float]]] = []

    async def one() -> None:
        results.append(await _timed_stream(connect, timed_mock, 20))

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(one)
    assert len(results) == 20
    for ttft_s, gaps_s in results:
        assert ttft_s >= 0.2
        assert ttft_s + sum(gaps_s) >= 0.2 + 19 * 0.02 - 1e-9
