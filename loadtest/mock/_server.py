"""The mock upstream's trio server: listening, connections, routing.

`serve_mock(config)` binds `config.host:config.port`, reports its base URL
through `task_status.started(url)` and serves until cancelled. One task per
connection reads requests (keep-alive, in order) and answers each one.

Routing:
- A registered protocol adapter whose `server_codec()` is not None owns the
  POST path `Adapter.path` (`/v1/chat/completions`, `/v1/messages`,
  `/v1/responses`); its codec parses the request and renders every answer,
  errors included (400 for a body it rejects, 405 for another method).
- `GET /v1/models` lists `config.models` (OpenAI list format); `GET /health`
  answers `{"status": "ok", "pid": ..., "worker": ...}`.
- Anything else is a 404 (405 for a known path with another method) in
  OpenAI's error format.

Capacity (`--slots`, `--queue`; `loadtest.mock._slots`): a protocol request
that is admitted waits for a slot before anything of its answer is sent, and
its TTFT and pacing start when it gets one, so the wait is part of TTFT; one
refused (the queue is full) is answered 429 at once, before it is planned.
While queued, the connection is watched: a client that closes it leaves the
queue (its request is dropped, nothing is sent).
An injected error takes no slot. Slots are per serving process.

A client that goes away mid-answer only ends its own connection. Any other
exception is a bug and propagates.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from typing import TYPE_CHECKING

import orjson
import trio

from loadtest.errors import ConfigError
from loadtest.mock._answer import AnswerPlan, Fault, Planner
from loadtest.mock._http import HttpError, RequestHead, ServerConnection, response
from loadtest.mock._reply import MockExchange, error_type, write_stream, write_whole
from loadtest.mock._slots import Slots
from loadtest.protocol import available, get_adapter

if TYPE_CHECKING:
    from loadtest.mock._config import MockConfig
    from loadtest.protocol import ServedRequest, ServerCodec

__all__ = ["MockServer", "open_mock_socket", "protocol_codecs", "serve_mock"]

BACKLOG = 4096
_GET_PATHS = ("/v1/models", "/health")


def protocol_codecs() -> dict[str, ServerCodec]:
    """Request path -> server codec, for every registered adapter that has one."""
    codecs: dict[str, ServerCodec] = {}
    for name in available():
        adapter = get_adapter(name)
        codec = adapter().server_codec()
        if codec is not None and adapter.path:
            codecs.setdefault(adapter.path, codec)
    return codecs


def plain_error(status: int, message: str) -> bytes:
    """An error body in OpenAI's format, for answers outside any protocol."""
    error = {"message": message, "type": error_type(status), "code": status}
    return orjson.dumps({"error": error})


class MockServer:
    """The state of one serving process: config, planner (RNG, cache), codecs."""

    def __init__(self, config: MockConfig, *, worker: int = 0) -> None:
        seed = None if config.seed is None else config.seed + worker
        self.config = config
        self.planner = Planner(config, seed)
        self.codecs = protocol_codecs()
        self.echo_name = config.echo_header.lower().encode()
        self.ids = itertools.count(1)
        self.slots = None if config.slots is None else Slots(config.slots, config.queue)
        self.id_prefix = f"mock{self.planner.rng.getrandbits(32):08x}"
        models = [
            {"id": model, "object": "model", "created": 0, "owned_by": "loadtest-mock"}
            for model in config.models
        ]
        self.bodies = {
            "/v1/models": orjson.dumps({"object": "list", "data": models}),
            "/health": orjson.dumps({"status": "ok", "pid": os.getpid(), "worker": worker}),
        }

    async def handle(self, stream: trio.SocketStream) -> None:
        """Serve one connection until the client closes it or an answer ends it."""
        conn = ServerConnection(stream.socket)
        try:
            while True:
                try:
                    request = await conn.read_request(self.echo_name)
                except HttpError as exc:
                    extra = b"connection: close\r\n"
                    await conn.send(
                        response(exc.status, plain_error(exc.status, exc.message), extra)
                    )
                    return
                if request is None:
                    return
                start_s = trio.current_time()
                if not await self.answer(conn, request[0], request[1], start_s):
                    return
        except OSError:
            return  # the client went away
        finally:
            stream.socket.close()

    def _extra_headers(self, head: RequestHead) -> bytes:
        extra = b""
        if head.echo is not None:
            extra = b"%s: %s\r\n" % (self.echo_name, head.echo)
        if not head.keep_alive:
            extra += b"connection: close\r\n"
        elif head.http10:
            extra += b"connection: keep-alive\r\n"
        return extra

    async def answer(
        self, conn: ServerConnection, head: RequestHead, body: bytes, start_s: float
    ) -> bool:
        """Answer one request; whether the connection may go on. Checkpoint."""
        extra = self._extra_headers(head)
        codec = self.codecs.get(head.path)
        if codec is None:
            await conn.send(self._outside_protocols(head, extra))
            return head.keep_alive
        if head.method != "POST":
            message = f"{head.method} is not allowed on {head.path}; use POST"
            await conn.send(
                response(405, codec.render_error(405, message), extra + b"allow: POST\r\n")
            )
            return head.keep_alive
        try:
            served = codec.parse_request(body)
        except ValueError as exc:
            await conn.send(response(400, codec.render_error(400, str(exc)), extra))
            return head.keep_alive
        if served.stream and head.http10 and head.keep_alive:
            head.keep_alive = False  # an HTTP/1.0 stream ends by closing the connection
            extra = self._extra_headers(head)
        slots = self.slots
        if slots is not None and not slots.admits():
            await conn.send(self._at_capacity(codec, slots, extra))
            return head.keep_alive
        plan = self.planner.plan(served)
        if plan.fault is Fault.ERROR:
            await conn.send(self._injected_error(codec, extra))
            return head.keep_alive
        if slots is None:
            return await self._write(conn, head, served, plan, codec, start_s, extra)
        if not await _take_slot(conn, slots):
            return False  # the client left while queued
        try:
            start_s = trio.current_time()
            return await self._write(conn, head, served, plan, codec, start_s, extra)
        finally:
            slots.release()

    async def _write(
        self,
        conn: ServerConnection,
        head: RequestHead,
        served: ServedRequest,
        plan: AnswerPlan,
        codec: ServerCodec,
        start_s: float,
        extra: bytes,
    ) -> bool:
        exchange = MockExchange(
            conn,
            codec,
            served,
            plan,
            self.planner,
            start_s,
            f"{self.id_prefix}{next(self.ids):x}",
            int(time.time()),
            extra,
            head.keep_alive,
            not head.http10,
        )
        return await (write_stream(exchange) if served.stream else write_whole(exchange))

    def _outside_protocols(self, head: RequestHead, extra: bytes) -> bytes:
        body = self.bodies.get(head.path)
        if body is None:
            served = ", ".join([*sorted(self.codecs), *_GET_PATHS])
            message = f"no route for {head.method} {head.path}; the mock serves {served}"
            return response(404, plain_error(404, message), extra)
        if head.method != "GET":
            message = f"{head.method} is not allowed on {head.path}; use GET"
            return response(405, plain_error(405, message), extra + b"allow: GET\r\n")
        return response(200, body, extra)

    def _at_capacity(self, codec: ServerCodec, slots: Slots, extra: bytes) -> bytes:
        message = (
            f"at capacity: {slots.busy} slots busy and {slots.waiting} requests queued "
            "(loadtest mock --slots/--queue)"
        )
        return response(429, codec.render_error(429, message), extra + b"retry-after: 1\r\n")

    def _injected_error(self, codec: ServerCodec, extra: bytes) -> bytes:
        status = self.config.error_status
        if status == 429:
            extra += b"retry-after: 1\r\n"
        message = f"injected error {status} (loadtest mock --error-rate)"
        return response(status, codec.render_error(status, message), extra)


async def _take_slot(conn: ServerConnection, slots: Slots) -> bool:
    """Wait in the queue for a slot; False (holding none) when the client
    closes the connection first. Checkpoint."""
    taken = False
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_cancel_when_closed, conn, nursery.cancel_scope)
        await slots.acquire()
        taken = True
        nursery.cancel_scope.cancel()
    return taken


async def _cancel_when_closed(conn: ServerConnection, scope: trio.CancelScope) -> None:
    await conn.wait_closed()
    scope.cancel()


async def open_mock_socket(host: str, port: int, *, reuse_port: bool) -> trio.socket.SocketType:
    """A listening socket on `host:port` (port 0: a free one). `reuse_port`
    lets several processes listen on the same port. Failure is a
    `ConfigError` naming the address."""
    sock = None
    try:
        infos = await trio.socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = infos[0]
        sock = trio.socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, _so_reuseport(), 1)
        await sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        if sock is not None:
            sock.close()
        reason = exc.strerror or str(exc)
        raise ConfigError(f"--host/--port: cannot listen on {host}:{port}: {reason}") from None
    return sock


def _so_reuseport() -> int:
    option = getattr(socket, "SO_REUSEPORT", None)
    if option is None:
        raise ConfigError("--workers: more than one worker needs SO_REUSEPORT (Linux, BSD)")
    return int(option)


def base_url(sock: trio.socket.SocketType) -> str:
    """The URL clients use to reach `sock` (a wildcard address becomes loopback)."""
    address = sock.getsockname()
    host, port = address[0], address[1]
    if sock.family == socket.AF_INET6:
        return f"http://[{'::1' if host == '::' else host}]:{port}"
    return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"


async def serve_mock(
    config: MockConfig,
    *,
    worker: int = 0,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the mock upstream until cancelled; `task_status.started(url)`
    reports the base URL once the socket listens. `worker` numbers this
    process among `config.workers` (it offsets the seed and shows in /health);
    with `config.workers > 1` the socket is bound with SO_REUSEPORT."""
    server = MockServer(config, worker=worker)
    sock = await open_mock_socket(config.host, config.port, reuse_port=config.workers > 1)
    listener = trio.SocketListener(sock)
    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, server.handle, [listener])
        task_status.started(base_url(sock))
