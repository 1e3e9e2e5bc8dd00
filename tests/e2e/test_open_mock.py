"""`open_mock`: the mock in a script's own trio run, stopped and restarted on
its port (real sockets on 127.0.0.1)."""

from __future__ import annotations

import pytest
import trio

import loadtest
from loadtest import MockConfig

pytestmark = pytest.mark.e2e


async def _health(port: int) -> bytes:
    """The status line and body of GET /health (one connection)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        with trio.fail_after(10):
            while chunk := await stream.receive_some():
                data += chunk
    return data


async def _refused(port: int) -> bool:
    try:
        await _health(port)
    except OSError:
        return True
    return False


async def test_open_mock_serves_stops_and_restarts_on_its_port() -> None:
    async with loadtest.open_mock() as mock:
        assert mock.port not in (0, 8000)  # a free port, not MockConfig's default
        assert mock.url == f"http://127.0.0.1:{mock.port}"
        assert mock.running
        assert (await _health(mock.port)).startswith(b"HTTP/1.1 200")
        mock.stop()
        mock.stop()  # idempotent
        assert not mock.running
        await trio.sleep(0.05)
        assert await _refused(mock.port)
        port = mock.port
        await mock.restart(MockConfig(ttft="1ms", error_rate=0.5))
        assert (mock.port, mock.url) == (port, f"http://127.0.0.1:{port}")
        assert mock.config.error_rate == 0.5
        assert (await _health(port)).startswith(b"HTTP/1.1 200")
        await mock.restart()  # while running: stops it, then serves the last config
        assert mock.config.error_rate == 0.5
        assert mock.running
        assert (await _health(port)).startswith(b"HTTP/1.1 200")
    assert await _refused(port)  # leaving the block stops it


async def test_a_port_in_use_is_a_config_error() -> None:
    async with loadtest.open_mock() as first:
        with pytest.raises(loadtest.ConfigError, match="cannot listen"):
            async with loadtest.open_mock(MockConfig(port=first.port)):
                pass  # pragma: no cover
