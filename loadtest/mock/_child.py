"""Entry point of one mock worker process started by `loadtest mock --workers N`.

`python -m loadtest.mock._child INDEX CONFIG_JSON` serves worker INDEX of
the config (whose port is already fixed) and prints its URL on stdout once it
listens. It ignores SIGINT (the parent decides when to stop), stops cleanly on
SIGTERM, and stops when stdin — the parent's pipe — reaches EOF, so it never
outlives the parent. Not imported by `loadtest.mock`, so running it with `-m`
loads it once.
"""

from __future__ import annotations

import signal
import sys
from functools import partial

import trio

from loadtest.mock._config import MockConfig
from loadtest.mock._server import serve_mock
from loadtest.mock._workers import first_user_error, stop_on_signals, stop_on_stdin_eof


async def _serve_child(config: MockConfig, index: int) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(stop_on_signals, nursery.cancel_scope, (signal.SIGTERM,))
        nursery.start_soon(stop_on_stdin_eof, nursery.cancel_scope)
        url: str = await nursery.start(partial(serve_mock, config, worker=index))
        print(url, flush=True)


def main(argv: list[str]) -> int:
    """Serve one worker; the exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    index = int(argv[1])
    try:
        trio.run(_serve_child, MockConfig.from_json(argv[2]), index)
    except BaseExceptionGroup as group:
        error = first_user_error(group)
        if error is group:
            raise
        print(f"loadtest mock worker {index}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
