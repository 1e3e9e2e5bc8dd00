"""A fake gateway in memory: an h11 server task behind an httpcore network
backend, so engine tests open no sockets and run on trio's mock clock.

`FakeGateway` answers every protocol registered with a `ServerCodec`
(openai-chat, anthropic, openai-responses, and third-party ones) in its real
wire format. What it answers is a `Script`: time to first token, gap between
tokens, output length, status, faults, tool calls; a function of the request
may choose a script per request. Embeddings requests get one 4-number vector
per input after the TTFT. Times are trio time, so under `MockClock` they are exact.

`MemoryBackend(nursery, gateway.serve)` is the `httpcore.AsyncNetworkBackend`
to hand to `open_engine(..., backend=...)`: each connection is a
`trio.testing.memory_stream_pair` whose far end the gateway serves.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import attrs
import h11
import httpcore
import trio
import trio.testing

from loadtest.mock._answer import tool_arguments
from loadtest.protocol import (
    Reply,
    ServedRequest,
    ServerCodec,
    ToolCall,
    Usage,
    available,
    get_adapter,
)
from loadtest.tokens import WORDS, estimate_tokens

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["FakeGateway", "MemoryBackend", "Received", "Script"]


@attrs.frozen
class Script:
    """How the fake gateway answers one request."""

    ttft_s: float = 0.1
    itl_s: float = 0.01
    #: Output tokens; None: the request's max_tokens (16 when it has none).
    output_tokens: int | None = None
    tokens_per_chunk: int = 1
    status: int = 200
    usage: bool = True
    #: Close the connection after this many content events (streamed only).
    disconnect_after: int | None = None
    #: Pause this long once, after the first content event.
    stall_s: float = 0.0
    #: Streamed: hold the closing events (finish, usage, end event) this long
    #: after the last content event, as a gateway that holds `[DONE]`.
    done_delay_s: float = 0.0
    #: Cached prompt tokens to report in usage (capped at the prompt's).
    cached_tokens: int = 0
    #: Close the connection after reading the request, without answering.
    drop: bool = False
    #: Close the connection after answering (no `Connection: close` header).
    close_after: bool = False
    #: Send `100 Continue` as soon as the request is read (the answer follows).
    send_continue: bool = False
    #: Streamed only: end the stream with an in-stream error event of this
    #: type (after the content events) instead of the protocol's tail.
    stream_error: str | None = None
    #: Streamed only: send the last event but never end the HTTP body (no
    #: last chunk); the connection stays open until the client closes it.
    end_body: bool = True
    #: The error message of a non-200 answer.
    error_message: str = "scripted failure"
    #: Answer a request that offers tools with a call of its first one (its
    #: arguments `{"text": "<the words>"}`, as the mock's), when it has tokens.
    tool_calls: bool = True


@attrs.frozen
class Received:
    """One request the gateway saw."""

    path: str
    headers: dict[str, str]
    request: ServedRequest
    body: bytes


def _codecs() -> dict[str, ServerCodec]:
    codecs = {}
    for name in available():
        adapter = get_adapter(name)()
        codec = adapter.server_codec()
        if codec is not None:
            codecs[adapter.path] = codec
    return codecs


class FakeGateway:
    """Serves scripted answers; `received` lists every request in order."""

    def __init__(self, script: Script | Callable[[Received], Script] = Script()) -> None:
        self._script = script
        self._codecs = _codecs()
        self._ids = itertools.count(1)
        self.received: list[Received] = []
        self.connections = 0

    def script_for(self, received: Received) -> Script:
        return self._script(received) if callable(self._script) else self._script

    async def serve(self, stream: trio.abc.Stream) -> None:
        """Serve one connection until the client closes it."""
        self.connections += 1
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read_request(conn, stream)
                if request is None:
                    return
                if not await self._answer(conn, stream, *request):
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return
        finally:
            await stream.aclose()

    async def _read_request(
        self, conn: h11.Connection, stream: trio.abc.Stream
    ) -> tuple[h11.Request, bytes] | None:
        head: h11.Request | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(bytes(await stream.receive_some(65536)))
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return head, body
            else:  # ConnectionClosed
                return None

    async def _answer(
        self, conn: h11.Connection, stream: trio.abc.Stream, head: h11.Request, body: bytes
    ) -> bool:
        path = head.target.decode()
        codec = self._codecs.get(path)
        if codec is None:
            await self._send(conn, stream, 404, b'{"error": "no such path"}', "application/json")
            return True
        headers = {k.decode().lower(): v.decode() for k, v in head.headers}
        served = codec.parse_request(body)
        received = Received(path, headers, served, body)
        self.received.append(received)
        script = self.script_for(received)
        started = trio.current_time()
        if script.drop:
            return False
        if script.send_continue:
            await stream.send_all(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        if script.status != 200:
            await trio.sleep_until(started + script.ttft_s)
            error = codec.render_error(script.status, script.error_message)
            await self._send(conn, stream, script.status, error, "application/json")
            return not script.close_after
        kept = await self._reply(conn, stream, codec, served, script, started)
        return kept and not script.close_after

    async def _send(
        self, conn: h11.Connection, stream: trio.abc.Stream, status: int, body: bytes, kind: str
    ) -> None:
        headers = [("content-type", kind), ("content-length", str(len(body)))]
        data = conn.send(h11.Response(status_code=status, headers=headers))
        data += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        await stream.send_all(data)

    async def _reply(
        self,
        conn: h11.Connection,
        stream: trio.abc.Stream,
        codec: ServerCodec,
        served: ServedRequest,
        script: Script,
        started: float,
    ) -> bool:
        count = (
            script.output_tokens if script.output_tokens is not None else (served.max_tokens or 16)
        )
        if served.embeddings is not None:
            count = 0
        words = [WORDS[i % len(WORDS)] for i in range(count)]
        per = script.tokens_per_chunk
        pieces = [" " + " ".join(words[i : i + per]) for i in range(0, count, per)]
        prompt = estimate_tokens(served.prompt_text)
        cached = min(script.cached_tokens, prompt)
        usage = Usage(prompt, count, cached) if script.usage else None
        reply_id = f"fake-{next(self._ids)}"
        tool = served.tools[0] if served.tools and pieces and script.tool_calls else None
        if tool is not None:
            pieces = tool_arguments(pieces)
        if not served.stream:
            await trio.sleep_until(started + script.ttft_s + script.itl_s * max(len(pieces) - 1, 0))
            call = None if tool is None else ToolCall(f"call_{reply_id}", tool, "".join(pieces))
            vectors = ((0.5, -0.5, 0.25, 0.0),) * (served.embeddings or 0)
            text = "" if tool is not None else "".join(pieces)
            finish = "length" if tool is None else "tool_calls"
            reply = Reply(reply_id, served.model, 0, text, finish, usage, call, vectors)
            await self._send(conn, stream, 200, codec.render_body(reply), "application/json")
            return True
        return await self._stream(
            conn, stream, codec, served, script, started, pieces, usage, reply_id, tool
        )

    async def _stream(
        self,
        conn: h11.Connection,
        stream: trio.abc.Stream,
        codec: ServerCodec,
        served: ServedRequest,
        script: Script,
        started: float,
        pieces: list[str],
        usage: Usage | None,
        reply_id: str,
        tool: str | None = None,
    ) -> bool:
        head = h11.Response(
            status_code=200,
            headers=[("content-type", "text/event-stream"), ("transfer-encoding", "chunked")],
        )
        prompt_usage = Usage(usage.prompt_tokens, None, usage.cached_tokens) if usage else None
        renderer = codec.open_stream(reply_id, served.model, 0, prompt_usage)
        deadline = started + script.ttft_s
        render: Callable[[str], bytes]
        if tool is None:
            await stream.send_all(conn.send(head) + conn.send(h11.Data(data=renderer.head())))
            render = renderer.delta
        else:  # the call's start is output: sent with its first fragment
            await trio.sleep_until(deadline)
            start = renderer.tool_head(f"call_{reply_id}", tool)
            await stream.send_all(conn.send(head) + conn.send(h11.Data(data=start)))
            render = renderer.tool_delta
        for number, piece in enumerate(pieces, start=1):
            await trio.sleep_until(deadline)
            await stream.send_all(conn.send(h11.Data(data=render(piece))))
            if script.disconnect_after is not None and number >= script.disconnect_after:
                return False
            deadline = max(deadline, trio.current_time()) + script.itl_s
            if number == 1:
                deadline += script.stall_s
        if not pieces:
            await trio.sleep_until(deadline)  # an answer without content still takes its TTFT
        elif script.done_delay_s:
            await trio.sleep(script.done_delay_s)
        if script.stream_error is not None:
            last = renderer.error(script.stream_error, "scripted in-stream failure")
        else:
            last = renderer.tail("length" if tool is None else "tool_calls", usage)
        if not script.end_body:
            await stream.send_all(conn.send(h11.Data(data=last)))
            await stream.receive_some(1)  # until the client closes the connection
            return False
        await stream.send_all(conn.send(h11.Data(data=last)) + conn.send(h11.EndOfMessage()))
        return True


class _MemoryStream(httpcore.AsyncNetworkStream):
    """An httpcore network stream over a trio in-memory stream."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            with trio.fail_after(float("inf") if timeout is None else timeout):
                return bytes(await self._stream.receive_some(max_bytes))
        except trio.TooSlowError:
            raise httpcore.ReadTimeout("read timed out") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise httpcore.ReadError(str(exc)) from None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            await self._stream.send_all(buffer)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise httpcore.WriteError(str(exc)) from None

    async def aclose(self) -> None:
        await self._stream.aclose()

    def get_extra_info(self, info: str) -> Any:
        return False if info == "is_readable" else None


class MemoryBackend(httpcore.AsyncNetworkBackend):
    """Each `connect_tcp` makes a memory stream pair and serves its far end
    with `serve` in `nursery`. `refuse` makes connecting fail (conn refused)."""

    def __init__(
        self,
        nursery: trio.Nursery,
        serve: Callable[[trio.abc.Stream], Awaitable[None]],
        *,
        refuse: bool = False,
    ) -> None:
        self._nursery = nursery
        self._serve = serve
        self.refuse = refuse
        self.connects = 0

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        await trio.lowlevel.checkpoint()
        if self.refuse:
            raise httpcore.ConnectError(f"[Errno 111] connection to {host}:{port} refused") from (
                ConnectionRefusedError(111, "Connection refused")
            )
        self.connects += 1
        client, server = trio.testing.memory_stream_pair()
        self._nursery.start_soon(self._serve, server)
        return _MemoryStream(client)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not supported by MemoryBackend")

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)
