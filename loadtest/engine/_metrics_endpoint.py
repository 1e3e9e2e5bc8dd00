"""The live metrics endpoint: Prometheus exposition of a running engine.

`serve_metrics(engine, port)` serves `GET /metrics` (text format 0.0.4,
`loadtest.report`'s live exposition) from the caller's nursery until it is
cancelled; `loadtest run --metrics-port` runs it beside the engine.

Rules:
- The samples are the file's (`metrics-<ts>.prom`): same names, types and
  labels, rendered by the same code. Finished stages are rendered once, as
  they end (`Engine.on_stage_end`); a scrape renders only the running
  stage, in the event loop, from copies of its counters and of three
  histograms (no await between reading and rendering, so a scrape sees one
  consistent instant), at most once per `MAX_AGE_S` (0.5 s): a scrape
  sooner gets the previous text. bench/README.md has its cost on the load
  loop.
- `listen_metrics` binds the socket synchronously, so a port in use is a
  `ConfigError` (one line) before any load; `serve_metrics` also takes a
  port and binds it itself. The default address is 127.0.0.1; any other is
  the caller's choice (the endpoint has no authentication; it shows no
  header value or prompt, only counts, timings and the profile's name).
- HTTP/1.1 with h11, keep-alive; `GET` (or `HEAD`) `/metrics` only: any
  other path is 404, any other method 405. A client that sends nothing for
  `CLIENT_TIMEOUT_S` is dropped; a broken client ends its own connection
  only.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import h11
import trio

from loadtest.config import ClosedStage, OpenStage
from loadtest.errors import ConfigError
from loadtest.report import (
    LIVE_HISTOGRAMS,
    PROMETHEUS_CONTENT_TYPE,
    LiveStage,
    render_live,
    run_stamp,
    stage_exposition,
)

if TYPE_CHECKING:
    from loadtest.engine._engine import Engine
    from loadtest.metrics import StageSnapshot
    from loadtest.report import Exposition

__all__ = ["CLIENT_TIMEOUT_S", "MAX_AGE_S", "MetricsExporter", "listen_metrics", "serve_metrics"]

#: A render is served again to scrapes within this time: however many
#: scrapers, and however often, the load loop renders at most twice a second.
MAX_AGE_S = 0.5
#: A connection idle this long (no request, or half of one) is closed.
CLIENT_TIMEOUT_S = 30.0
_PATH = b"/metrics"
_MAX_REQUEST_BYTES = 16_384
_REASONS = {200: b"OK", 404: b"Not Found", 405: b"Method Not Allowed"}


def listen_metrics(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A socket listening on `host`:`port` (0: a free port), for
    `serve_metrics`. Sync, so a port in use is found before anything starts:
    a one-line `ConfigError`."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=64)
    except OSError as exc:  # socket.gaierror included
        # create_server adds "(while attempting to bind ...)" to strerror
        reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror
        raise ConfigError(f"cannot listen on {host} port {port}: {reason}") from None


class MetricsExporter:
    """The live exposition of one engine: finished stages kept as rendered
    samples, the running stage read by `render()` at most once per
    `max_age_s` (scrapes closer together get the same text)."""

    def __init__(self, engine: Engine, max_age_s: float = MAX_AGE_S) -> None:
        self._engine = engine
        self._max_age_s = max_age_s
        self._finished: list[Exposition] = []
        self._rendered: tuple[float, str] | None = None
        engine.on_stage_end(self._stage_ended)

    def _base(self) -> dict[str, str] | None:
        started = self._engine.started_unix_s
        if started is None:
            return None
        return {"run": run_stamp({"started_unix_s": started}), "profile": self._engine.plan.name}

    def _stage_ended(self, snapshot: StageSnapshot) -> None:
        base = self._base()
        assert base is not None  # a stage ran, so the engine has started
        stage = LiveStage(
            index=snapshot.index,
            mode=snapshot.mode,
            duration_s=snapshot.duration_s,
            concurrency=snapshot.concurrency,
            rate=snapshot.rate,
            scenarios=snapshot.scenarios,
            elapsed_s=snapshot.ended_unix_s - snapshot.started_unix_s,
            in_flight=0,
            health=snapshot.health.figures if snapshot.health is not None else None,
        )
        self._finished.append(stage_exposition(stage, base))
        self._rendered = None

    def render(self) -> str:
        """The exposition now ("" before the first stage starts), or the one
        rendered less than `max_age_s` ago (trio's clock)."""
        now = trio.current_time()
        if self._rendered is not None and now - self._rendered[0] < self._max_age_s:
            return self._rendered[1]
        text = self._render()
        self._rendered = (now, text)
        return text

    def _render(self) -> str:
        base = self._base()
        if base is None:
            return ""
        view = self._engine.live
        stages = list(self._finished)
        if view is not None:
            stage = view.stage
            closed = isinstance(stage, ClosedStage)
            running = LiveStage(
                index=view.index,
                mode="closed" if closed else "open",
                duration_s=stage.duration_s,
                concurrency=stage.concurrency if isinstance(stage, ClosedStage) else None,
                rate=stage.rate if isinstance(stage, OpenStage) else None,
                scenarios=view.scenario_stats(LIVE_HISTOGRAMS),
                elapsed_s=view.elapsed_s,
                in_flight=view.in_flight,
                health=view.health().figures,
            )
            stages.append(stage_exposition(running, base))
        return render_live(stages, base, view.index if view is not None else None)


async def serve_metrics(
    engine: Engine,
    listener: int | socket.socket = 0,
    *,
    host: str = "127.0.0.1",
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `engine`'s live metrics on `listener` (a port, 0 for a free one,
    or a socket from `listen_metrics`) until cancelled. Start it with `port =
    await nursery.start(serve_metrics, engine, 9464)`: it returns the port
    once it listens."""
    sock = listener if isinstance(listener, socket.socket) else listen_metrics(listener, host)
    exporter = MetricsExporter(engine)
    trio_listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
    async with trio_listener, trio.open_nursery() as nursery:
        task_status.started(sock.getsockname()[1])
        while True:
            stream = await trio_listener.accept()
            nursery.start_soon(_serve_connection, stream, exporter)


async def _serve_connection(stream: trio.SocketStream, exporter: MetricsExporter) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_REQUEST_BYTES)
    async with stream:
        try:
            while True:
                request = await _read_request(conn, stream)
                if request is None:
                    return
                await _answer(conn, stream, request, exporter)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return


async def _read_request(conn: h11.Connection, stream: trio.SocketStream) -> h11.Request | None:
    """The next request, its body discarded; None when the client is gone or idle."""
    request: h11.Request | None = None
    with trio.move_on_after(CLIENT_TIMEOUT_S):
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(bytes(await stream.receive_some(65536)))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.EndOfMessage):
                return request
            elif isinstance(event, h11.ConnectionClosed):
                return None
    return None


async def _answer(
    conn: h11.Connection, stream: trio.SocketStream, request: h11.Request, exporter: MetricsExporter
) -> None:
    path = request.target.split(b"?", 1)[0]
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    if path != _PATH:
        status, body = 404, b"not found: the metrics are at /metrics\n"
    elif request.method not in (b"GET", b"HEAD"):
        status, body = 405, b"method not allowed: GET /metrics\n"
        headers.append(("Allow", "GET, HEAD"))
    else:
        status, body = 200, exporter.render().encode()
        headers = [("Content-Type", PROMETHEUS_CONTENT_TYPE)]
    headers.append(("Content-Length", str(len(body))))
    reason = _REASONS[status]
    events: list[h11.Event] = [h11.Response(status_code=status, headers=headers, reason=reason)]
    if request.method != b"HEAD":
        events.append(h11.Data(data=body))
    events.append(h11.EndOfMessage())
    await stream.send_all(b"".join(conn.send(event) or b"" for event in events))
