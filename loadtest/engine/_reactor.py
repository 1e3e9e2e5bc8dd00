"""The shared reader: one task reads every streaming response of a pool.

At a real pace every event of every stream arrives on its own. A turn that
reads for itself pays, per event, one wake-up of its task, one
registration of its socket with trio's epoll (trio registers every wait as
one-shot) and one `epoll_wait`. The shared reader pays those once per batch
of ready sockets instead.

Rules:
- Linux only (`select.epoll`): `SharedReader.available()` says whether it
  can run; elsewhere turns read for themselves, as before.
- A turn hands a response over (`read`) once its head has arrived and the
  body goes on, on a plain-TCP connection of the real backend. The socket
  stays registered, level-triggered, until the response ends, fails, or the
  turn stops waiting (cancelled: the stage's end, its exchange scope's
  deadline); it is never re-registered per event.
- One trio system task per reader, started on first use, waits for the
  epoll fd itself to turn readable (`trio.lowlevel.wait_readable`: trio's
  loop sleeps on one fd for all streams), then reads every ready socket
  once and feeds the bytes to `Reading.take` synchronously (the same code
  as a turn's own reads). A turn's task is woken only when its response
  ended or failed.
- Each read is stamped with the time its bytes reached the host: the
  kernel's receive timestamp (`SO_TIMESTAMPNS`, wall clock, taken to
  trio's clock with an offset measured once per batch), never earlier than
  the response's last stamp; without one (end of stream, or the option
  refused), the time right after the read. So a read's time does not
  depend on when the reader got to it, and after serving a batch the
  reader lets arrivals gather for `BATCH_S` before waiting again: one
  wake-up of trio's loop per batch instead of per event, with the same or
  better accuracy. Only the noticing of a response's end (the turn's next
  step) is up to `BATCH_S` later; its recorded times are not.
- Failures belong to the turn: a failed `recv` becomes `read_failure`, and
  whatever `take` or a handler raises is raised in the turn's task, never
  in the reader's (an exception there would end the whole run).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from typing import TYPE_CHECKING

import trio
from trio.lowlevel import spawn_system_task, wait_readable

from loadtest import taxonomy
from loadtest.engine._connection import READ_SIZE, TransportFailure, read_failure

if TYPE_CHECKING:
    from collections.abc import Callable

    from loadtest.engine._reading import Reading

__all__ = ["BATCH_S", "SharedReader"]

#: How long arrivals gather after a batch was served, before the next wait
#: (measured in bench/README.md, "The gathering time": 2 ms cost 1.2x the CPU
#: per event of 5 ms at a real pace; 10 ms gained 4% more).
BATCH_S = 0.005
#: Linux's SO_TIMESTAMPNS (and SCM_TIMESTAMPNS); the stdlib does not name it.
_SO_TIMESTAMPNS = 35
#: The receive time the kernel attaches: seconds and nanoseconds, two C longs.
_KERNEL_TIME = struct.Struct("@ll")
_STAMP_BYTES = _KERNEL_TIME.size
_ANCILLARY_BYTES = socket.CMSG_SPACE(_STAMP_BYTES)


class _Wait:
    """One response handed to the reader, and how it ended (`receive` and
    `take`: the socket's and the reading's methods, looked up once)."""

    __slots__ = ("done", "epoll", "error", "reading", "receive", "result", "take")

    def __init__(self, sock: socket.socket, reading: Reading, epoll: select.epoll) -> None:
        self.receive = sock.recvmsg_into
        self.reading = reading
        self.take = reading.take
        self.epoll = epoll
        self.done = trio.Event()
        self.result = False
        self.error: BaseException | None = None


class SharedReader:
    """Reads the bodies of the responses handed to it; see the module rules."""

    def __init__(self, now: Callable[[], float] = trio.current_time) -> None:
        self._now = now
        self._epoll: select.epoll | None = None
        self._scope: trio.CancelScope | None = None
        self._waits: dict[int, _Wait] = {}
        # One read buffer for every read: each read's bytes are copied out at
        # their size, never a 64 KiB allocation shrunk per read.
        self._view = memoryview(bytearray(READ_SIZE))
        #: Responses handed over so far.
        self.responses = 0

    @staticmethod
    def available() -> bool:
        return hasattr(select, "epoll")

    @property
    def waiting(self) -> int:
        """Responses being read now."""
        return len(self._waits)

    @staticmethod
    def prepare(sock: socket.socket) -> None:
        """Have the kernel stamp what `sock` receives: called once, when the
        connection opens, so that no byte arrives unstamped."""
        with contextlib.suppress(OSError):  # without it, reads are stamped when read
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)

    async def read(self, sock: socket.socket, reading: Reading) -> bool:
        """Read the rest of the response on `sock` into `reading`: whether the
        connection may be reused. Raises what the reading raised. A
        checkpoint; cancellation stops the reading and propagates."""
        epoll = self._epoll
        if epoll is None:
            epoll = self._start()
        fd = sock.fileno()
        self.responses += 1
        wait = _Wait(sock, reading, epoll)
        epoll.register(fd, select.EPOLLIN)
        self._waits[fd] = wait
        try:
            await wait.done.wait()
        finally:
            if self._waits.get(fd) is wait:
                self._forget(fd, wait)
        error, wait.error = wait.error, None
        if error is not None:
            try:
                raise error
            finally:  # left in this frame, the raised error would hold itself:
                del error  # a cycle, and the handler's body kept until the collector runs
        return wait.result

    def _start(self) -> select.epoll:
        epoll = self._epoll = select.epoll()
        self._scope = trio.CancelScope()
        spawn_system_task(self._run, epoll, self._scope, name="loadtest shared reader")
        return epoll

    async def _run(self, epoll: select.epoll, scope: trio.CancelScope) -> None:
        try:
            with scope:
                fd = epoll.fileno()
                while True:
                    await wait_readable(fd)
                    self._serve(epoll.poll(0, len(self._waits) + 1))
                    await trio.sleep(BATCH_S)
        finally:
            if self._epoll is epoll:
                self._epoll = None
            for fd, wait in list(self._waits.items()):
                if wait.epoll is epoll:
                    self._end(fd, wait, _stopped())
            epoll.close()

    def _serve(self, events: list[tuple[int, int]]) -> None:
        """Read each ready socket once; end the responses that ended."""
        waits = self._waits
        now = self._now
        offset = time.time() - now()  # wall clock minus trio's, for kernel stamps
        view = self._view
        buffers = (view,)
        unpack = _KERNEL_TIME.unpack
        for fd, _mask in events:
            wait = waits.get(fd)
            if wait is None:  # pragma: no cover - forgotten since the poll (defensive)
                continue
            try:
                size, ancillary, _, _ = wait.receive(buffers, _ANCILLARY_BYTES)
            except BlockingIOError:  # a spurious wake-up: wait again
                continue
            except OSError as exc:
                self._end(fd, wait, read_failure(exc, wait.reading.head_seen))
                continue
            data = view[:size].tobytes()
            cmsg = ancillary[0][2] if ancillary else b""
            if len(cmsg) == _STAMP_BYTES:
                seconds, nanoseconds = unpack(cmsg)
                stamp = seconds + nanoseconds * 1e-9 - offset
                last = wait.reading.last
                if stamp < last:  # never before the response's last stamp
                    stamp = last
            else:
                stamp = now()
            try:
                ended = wait.take(data, stamp)
            except Exception as exc:  # the turn's to raise
                self._end(fd, wait, exc)
                continue
            if ended is not None:
                wait.result = ended
                self._end(fd, wait)

    def _end(self, fd: int, wait: _Wait, error: BaseException | None = None) -> None:
        wait.error = error
        self._forget(fd, wait)
        wait.done.set()

    def _forget(self, fd: int, wait: _Wait) -> None:
        del self._waits[fd]
        with contextlib.suppress(OSError, ValueError):  # the epoll is closed already
            wait.epoll.unregister(fd)

    def close(self) -> None:
        """Stop the reader task when no response is being read (it starts
        again on the next `read`)."""
        if self._scope is not None and not self._waits:
            self._scope.cancel()
            self._scope = None
            self._epoll = None


def _stopped() -> TransportFailure:
    return TransportFailure(
        taxonomy.STREAM_TRUNCATED,
        "the connection pool stopped reading the response",
        response_started=True,
    )
