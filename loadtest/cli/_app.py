"""The typer application object and the one place user errors become exit codes.

Every command is wrapped by `command()`: a `LoadtestError` prints its
message (one line per problem, the first 50 of them) to stderr, prefixed `loadtest: error:`, and
exits with the error's code; anything else is a bug and keeps its traceback.
`--debug` shows the traceback of user errors too. `loadtest --version`
prints the version (`loadtest.__version__`) and exits 0.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from loadtest import __version__
from loadtest.errors import LoadtestError

__all__ = ["DEBUG_OPTION", "app", "command", "fail"]

app = typer.Typer(
    name="loadtest",
    help="A scenario-driven load generator for LLM gateways (OpenAI and Anthropic APIs).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: `debug`: --debug was given; `program`: this process is the `loadtest`
#: program (`main()`), not a caller running a command in-process.
_state = {"debug": False, "program": False}


def _print_version(value: bool) -> None:
    if value:
        print(f"loadtest {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Options of `loadtest` itself, before the command."""


def _set_debug(value: bool) -> bool:
    _state["debug"] = bool(value)
    return value


DEBUG_OPTION: Any = typer.Option(
    False, "--debug", help="Show tracebacks for errors.", callback=_set_debug, is_eager=True
)

F = TypeVar("F", bound=Callable[..., Any])


#: At most this many problems are printed; the rest are counted.
MAX_PRINTED_PROBLEMS = 50


def fail(error: LoadtestError) -> typer.Exit:
    """Print `error` the way every command does (the first MAX_PRINTED_PROBLEMS
    lines, then how many more) and return the Exit to raise."""
    lines = str(error).splitlines() or [type(error).__name__]
    for line in lines[:MAX_PRINTED_PROBLEMS]:
        print(f"loadtest: error: {line}", file=sys.stderr)
    if len(lines) > MAX_PRINTED_PROBLEMS:
        print(f"loadtest: error: ... and {len(lines) - MAX_PRINTED_PROBLEMS} more", file=sys.stderr)
    return typer.Exit(error.exit_code)


def command(fn: F) -> F:
    """Register `fn` as a command whose `LoadtestError`s become clean exits."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LoadtestError as exc:
            if _state["debug"]:
                raise
            raise fail(exc) from None

    app.command()(wrapper)
    return fn
