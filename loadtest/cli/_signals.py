"""Ctrl-C and SIGTERM during `loadtest run`: answered, never a traceback.

Rules:
- While `run` runs, SIGINT and SIGTERM are handled alike, and neither kills
  the process nor interrupts it where that would lose what was measured:
  once load may have been sent, every output is still written, and the exit
  code after either signal is 130.
- Before the engine starts (the profile resolved, the mock starting), a
  signal stops at once: `KeyboardInterrupt`, nothing was sent.
- In the engine's trio run, `watch` receives them: the first ends the
  current stage (`engine.request_stop()`: the turns in flight are recorded
  interrupted and the stage's snapshot is frozen from what was measured);
  later ones say that the outputs are on their way and ask the engine to
  stop again (the engine stops at once already: there is no graceful wait
  left to skip). A signal that came
  before the receiver was open counts as the first.
- While the outputs are written, a signal only says so. When `run` returns,
  the `loadtest` program ignores both signals (`keep`: a signal while the
  process exits can neither kill it nor raise); in-process callers (tests)
  get their previous handlers back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Literal, Protocol

import trio

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType


__all__ = ["StopSignals", "Stoppable", "stop_when_stdin_closes"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)

Phase = Literal["starting", "running", "writing"]


class Stoppable(Protocol):
    """What a signal stops: an engine, or `--workers`' worker processes."""

    def request_stop(self) -> None: ...


def _name(signum: int) -> str:
    return signal.Signals(signum).name


class StopSignals:
    """The stop signals one `run` received, and what each one does."""

    def __init__(self) -> None:
        #: Names of the signals received, in order.
        self.received: list[str] = []
        self.phase: Phase = "starting"

    @contextlib.contextmanager
    def installed(self, *, keep: bool = False) -> Iterator[StopSignals]:
        """Handle SIGINT and SIGTERM (outside the engine's receiver) until
        exit; then, with `keep`, ignore them (rather than meet the previous
        handlers again, which would kill or raise)."""
        previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
        for signum in _SIGNALS:
            signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                if keep:
                    handler = signal.SIG_IGN
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        del frame
        name = _name(signum)
        self.received.append(name)
        if self.phase == "starting":
            if len(self.received) == 1:  # later ones must not interrupt the way out
                raise KeyboardInterrupt
        elif self.phase == "writing":
            # Straight to the descriptor: print() could be inside a write to
            # the same stream right now, and buffered streams refuse that.
            message = f"\nloadtest: {name}: writing the outputs of what was measured; a moment\n"
            with contextlib.suppress(OSError):
                os.write(2, message.encode())
        # "running": `watch` acts on it once its receiver is open.

    async def watch(self, engine: Stoppable) -> None:
        """Stop `engine` at the first signal; acknowledge the others."""
        with trio.open_signal_receiver(*_SIGNALS) as signals:
            if self.received:
                self._stop(engine, self.received[0])
            async for signum in signals:
                name = _name(signum)
                self.received.append(name)
                if len(self.received) == 1:
                    self._stop(engine, name)
                    continue
                print(
                    f"\nloadtest: {name} again: already stopping; the outputs of what "
                    "was measured are being written",
                    file=sys.stderr,
                )
                engine.request_stop()  # idempotent: whatever is still waiting ends now

    @staticmethod
    def _stop(engine: Stoppable, name: str) -> None:
        print(
            f"\nloadtest: {name}: ending the current stage and writing the outputs",
            file=sys.stderr,
        )
        engine.request_stop()


async def stop_when_stdin_closes(target: Stoppable) -> None:
    """Stop `target` when standard input (a supervisor's pipe) closes."""
    async with trio.lowlevel.FdStream(os.dup(0)) as stdin:
        while await stdin.receive_some(4096):
            pass
    print("loadtest: standard input closed: stopping", file=sys.stderr)
    target.request_stop()
