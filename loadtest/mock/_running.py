"""The mock upstream in a script's own trio run, stopped and restarted at will.

`async with open_mock(config) as mock:` serves `config` (default: a free port
on 127.0.0.1) until the block ends; `mock.url` is its base URL (a profile's
`target`) and `mock.port` its port. `mock.stop()` (sync, from any task) takes
it down: its connections are reset, new ones refused. `await
mock.restart(new_config)` brings it back, with `new_config` or the last
config, on the same host and port, so a running stage reaches it again.

Rules: the server runs in a cancel scope of its own inside the block's
nursery; a restart waits for the stopped server to close its socket before
binding again; leaving the block stops it. A mock that cannot start raises
its `ConfigError` alone, not in an exception group.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs
import trio

from loadtest.mock._config import MockConfig
from loadtest.mock._server import serve_mock
from loadtest.mock._workers import first_user_error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["RunningMock", "open_mock"]


class RunningMock:
    """The mock `open_mock` runs: its URL, its port, stop and restart."""

    def __init__(self, nursery: trio.Nursery, config: MockConfig) -> None:
        self._nursery = nursery
        #: The configuration served now (or last, when stopped).
        self.config = config
        #: The base URL, e.g. "http://127.0.0.1:41234" (set once it listens).
        self.url = ""
        self._scope = trio.CancelScope()
        self._ended = trio.Event()
        self._ended.set()

    @property
    def port(self) -> int:
        """The port it listens on (the same across restarts)."""
        return self.config.port

    @property
    def running(self) -> bool:
        """True from a (re)start until `stop()`."""
        return not self._ended.is_set() and not self._scope.cancel_called

    def stop(self) -> None:
        """Take the mock down now (idempotent): connections reset, new ones refused."""
        self._scope.cancel()

    async def restart(self, config: MockConfig | None = None) -> None:
        """Serve `config` (default: the last one) on the same host and port,
        stopping the running server first; return once it listens."""
        self.stop()
        await self._ended.wait()
        config = config or self.config
        if self.url:  # started before: keep the address clients know
            config = attrs.evolve(config, host=self.config.host, port=self.config.port)
        self._scope = trio.CancelScope()
        self._ended = trio.Event()
        url: str = await self._nursery.start(self._serve, config, self._scope, self._ended)
        port = urlsplit(url).port
        assert port is not None  # base_url always names the port
        self.config = attrs.evolve(config, port=port)
        self.url = url

    @staticmethod
    async def _serve(
        config: MockConfig,
        scope: trio.CancelScope,
        ended: trio.Event,
        *,
        task_status: trio.TaskStatus[str],
    ) -> None:
        try:
            with scope:
                await serve_mock(config, task_status=task_status)
        finally:
            ended.set()


@asynccontextmanager
async def open_mock(config: MockConfig | None = None) -> AsyncIterator[RunningMock]:
    """Serve the mock in this trio run for the block; `config` defaults to
    `MockConfig(port=0)` (a free port; `MockConfig`'s own default is 8000).
    A mock that cannot start (a busy port) raises its `ConfigError` alone."""
    started = False
    try:
        async with trio.open_nursery() as nursery:
            mock = RunningMock(nursery, config or MockConfig(port=0))
            await mock.restart()
            started = True
            try:
                yield mock
            finally:
                mock.stop()
    except BaseExceptionGroup as group:
        if started:
            raise
        raise first_user_error(group) from None
