"""Writing a request on the raw-socket path (`Connection.send_all`): the pieces
arrive whole and in order, byte for byte as their join, however the kernel
splits the write (a small send buffer and a slow reader force partial writes
and waits); a cancelled task writes nothing."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.engine._connection import Connection

pytestmark = pytest.mark.e2e


class _Stream:
    """The one thing `Connection` asks of a real backend's stream: its socket."""

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> Any:
        return self.sock if name == "socket" else None

    async def aclose(self) -> None:
        self.sock.close()


def _pair(send_buffer: int) -> tuple[Connection, socket.socket]:
    """A raw `Connection` over one end of a socket pair; the other end."""
    ours, peer = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, send_buffer)
    ours.setblocking(False)
    peer.setblocking(False)
    conn = Connection(("http", "x", 80), _Stream(trio.socket.from_stdlib_socket(ours)), raw=True)  # type: ignore[arg-type]
    assert conn.raw is ours
    return conn, peer


async def _read_all(peer: socket.socket, size: int, read_size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        await trio.lowlevel.wait_readable(peer)
        got += peer.recv(read_size)
        await trio.lowlevel.checkpoint()
    return bytes(got)


pieces_strategy = st.lists(st.binary(max_size=20_000), max_size=5).map(tuple) | st.lists(
    st.sampled_from([b"", b"h", b"head\r\n\r\n", bytes(70_000), b"\x00" * 3]), max_size=4
).map(tuple)


@settings(max_examples=60)
@given(
    pieces=pieces_strategy,
    send_buffer=st.sampled_from([1024, 4096, 65536]),
    read_size=st.sampled_from([1, 777, 65536]),
)
def test_pieces_arrive_whole_and_in_order(
    pieces: tuple[bytes, ...], send_buffer: int, read_size: int
) -> None:
    expected = b"".join(pieces)
    if read_size == 1:
        expected = expected[:3000]
        pieces = (expected,)

    async def main() -> bytes:
        conn, peer = _pair(send_buffer)
        with peer:
            async with trio.open_nursery() as nursery:
                result: list[bytes] = []

                async def reader() -> None:
                    result.append(await _read_all(peer, len(expected), read_size))

                nursery.start_soon(reader)
                await conn.send_all(pieces)
            await conn.aclose()
        return result[0]

    assert trio.run(main) == expected


async def test_a_cancelled_task_writes_nothing() -> None:
    conn, peer = _pair(65536)
    with peer:
        with trio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(trio.Cancelled):
                await conn.send_all((b"POST / HTTP/1.1\r\n", b"body"))
        with pytest.raises(BlockingIOError):
            peer.recv(10)
    await conn.aclose()


async def test_a_write_to_a_closed_peer_raises_os_error() -> None:
    conn, peer = _pair(4096)
    peer.close()
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        await conn.send_all((b"x" * 100_000,))
    await conn.aclose()


async def test_a_write_that_fits_does_not_yield() -> None:
    """No scheduler turn per request: a task started before the write has
    not run when a write that fits the socket returns (trio's `send` yields)."""
    conn, peer = _pair(65536)
    ran: list[bool] = []

    async def other() -> None:
        ran.append(True)

    with peer:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(other)
            await conn.send_all((b"POST / HTTP/1.1\r\n\r\n", b"{}"))
            assert ran == []
        assert ran == [True]
        assert peer.recv(100) == b"POST / HTTP/1.1\r\n\r\n{}"
    await conn.aclose()
