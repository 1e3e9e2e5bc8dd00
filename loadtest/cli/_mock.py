"""`loadtest mock`: run the built-in mock upstream (flags -> `MockConfig` -> `run_mock`).

`parse_mock_args` reads the same flags in-process, so `run --mock-args` is
checked before anything starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from loadtest.cli._app import DEBUG_OPTION, command
from loadtest.errors import ConfigError
from loadtest.mock import MockConfig, parse_timing, run_mock

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["config_from_flags", "mock", "parse_mock_args"]

_TIMING_HELP = "Fixed (200ms, 0.2s, 0) or a distribution (see TIMING above)."

_HOST: Any = typer.Option("127.0.0.1", "--host", help="Address to listen on.")
_PORT: Any = typer.Option(8000, "--port", help="Port to listen on; 0 picks a free one.")
_WORKERS: Any = typer.Option(
    1,
    "--workers",
    help="Processes serving the same port (SO_REUSEPORT): this one plus N-1 children. "
    "Each has its own RNG stream (seed + index) and prefix cache.",
)
_TTFT: Any = typer.Option(
    "0",
    "--ttft",
    help="Time to first token, from the request fully received to the first content "
    f"event. {_TIMING_HELP}",
)
_ITL: Any = typer.Option(
    "0", "--itl", help=f"Inter-token latency: the gap between content events. {_TIMING_HELP}"
)
_OUTPUT_TOKENS: Any = typer.Option(
    None,
    "--output-tokens",
    help="Answer length in tokens, capped by the request's max_tokens. Default: the "
    "request's max_tokens (128 when it sets none).",
    show_default=False,
)
_TOKENS_PER_CHUNK: Any = typer.Option(
    1, "--tokens-per-chunk", help="Words (one token each) per streamed content event."
)
_USAGE: Any = typer.Option(
    True, "--usage/--no-usage", help="Report token usage (prompt, completion, cached)."
)
_ERROR_RATE: Any = typer.Option(
    0.0, "--error-rate", help="Probability that a request is answered --error-status."
)
_ERROR_STATUS: Any = typer.Option(
    500,
    "--error-status",
    help="Status of injected errors (400-599), in the protocol's error format; 429 adds "
    "'Retry-After: 1'. Also picks the type of in-stream errors.",
)
_DISCONNECT_RATE: Any = typer.Option(
    0.0,
    "--disconnect-rate",
    help="Probability that the connection is dropped mid-answer: streams stop after a "
    "random number of content events with no terminator; whole answers close before or "
    "in the middle of the body.",
)
_STREAM_ERROR_RATE: Any = typer.Option(
    0.0,
    "--stream-error-rate",
    help="Probability that a stream ends with the protocol's in-stream error event after "
    "a random number of content events.",
)
_STALL_RATE: Any = typer.Option(
    0.0, "--stall-rate", help="Probability that an answer pauses once, mid-stream, for --stall."
)
_STALL: Any = typer.Option("2s", "--stall", help=f"Length of a stall. {_TIMING_HELP}")
_DONE_DELAY: Any = typer.Option(
    "0",
    "--done-delay",
    help="Streams: hold the closing events (finish, usage, [DONE] / message_stop / "
    f"response.completed) this long after the last content event. {_TIMING_HELP}",
)
_SEED: Any = typer.Option(
    None,
    "--seed",
    help="Seed of the RNG behind faults, timing samples and text; default: random.",
    show_default=False,
)
_ECHO_HEADER: Any = typer.Option(
    "x-request-id",
    "--echo-header",
    help="Request header copied to the response when present ('' to echo none).",
)
_CACHE: Any = typer.Option(
    True,
    "--cache/--no-cache",
    help="Prefix cache: report as cached_tokens the leading whole blocks of the prompt "
    "seen recently (with --no-cache, cached_tokens is always 0).",
)
_CACHE_BLOCK_CHARS: Any = typer.Option(
    64, "--cache-block-chars", help="Prefix cache block size, in characters."
)
_CACHE_ENTRIES: Any = typer.Option(
    100_000, "--cache-entries", help="Prefix cache capacity, in blocks (least recently used go)."
)
_CACHE_SKIP_CHARS: Any = typer.Option(
    0,
    "--cache-skip-chars",
    help="Prefix cache: ignore the first N characters of each prompt, so a nonce there "
    "(cache busting's UUID) does not stop hits.",
)
_MODEL: Any = typer.Option(
    None,
    "--model",
    help="Model id listed by GET /v1/models (repeatable; default mock-model). Requests "
    "may name any model; answers echo it.",
    show_default=False,
)
_SLOTS: Any = typer.Option(
    None,
    "--slots",
    help="Capacity: at most N generations at once per worker; the excess waits in a "
    "FIFO queue, and that wait is part of TTFT. Default: no limit.",
)
_QUEUE: Any = typer.Option(
    None,
    "--queue",
    help="With --slots: answer 429 when M requests already wait. Default: unbounded.",
)
_TOOL_CALL_RATE: Any = typer.Option(
    1.0,
    "--tool-call-rate",
    help="Probability that an answer to a request offering tools (tool choice auto) is a "
    "call of its first tool; a required or named tool choice always gets one, 'none' never.",
)
_EMBEDDING_DIM: Any = typer.Option(
    384, "--embedding-dim", help="Numbers per vector of /v1/embeddings answers."
)
_WATCH_STDIN: Any = typer.Option(
    False,
    "--watch-stdin",
    help="Exit when stdin (a pipe) reaches end-of-file, so the mock dies with the "
    "process that started it.",
)


@command
def mock(
    host: str = _HOST,
    port: int = _PORT,
    workers: int = _WORKERS,
    ttft: str = _TTFT,
    itl: str = _ITL,
    output_tokens: int | None = _OUTPUT_TOKENS,
    tokens_per_chunk: int = _TOKENS_PER_CHUNK,
    usage: bool = _USAGE,
    error_rate: float = _ERROR_RATE,
    error_status: int = _ERROR_STATUS,
    disconnect_rate: float = _DISCONNECT_RATE,
    stream_error_rate: float = _STREAM_ERROR_RATE,
    stall_rate: float = _STALL_RATE,
    stall: str = _STALL,
    done_delay: str = _DONE_DELAY,
    seed: int | None = _SEED,
    echo_header: str = _ECHO_HEADER,
    cache: bool = _CACHE,
    cache_block_chars: int = _CACHE_BLOCK_CHARS,
    cache_entries: int = _CACHE_ENTRIES,
    cache_skip_chars: int = _CACHE_SKIP_CHARS,
    model: list[str] | None = _MODEL,
    slots: int | None = _SLOTS,
    queue: int | None = _QUEUE,
    tool_call_rate: float = _TOOL_CALL_RATE,
    embedding_dim: int = _EMBEDDING_DIM,
    watch_stdin: bool = _WATCH_STDIN,
    debug: bool = DEBUG_OPTION,
) -> None:
    """Run the mock upstream: an OpenAI- and Anthropic-compatible server.

    Serves POST /v1/chat/completions, /v1/messages and /v1/responses (streamed
    or not, with usage; tool calls when a request offers tools),
    /v1/embeddings, GET /v1/models and GET /health. The first line on
    stdout is the base URL (e.g. http://127.0.0.1:8000); a summary follows on
    stderr. SIGINT / SIGTERM stop it (exit 0).

    TIMING (--ttft, --itl, --stall, --done-delay) is a fixed duration, 200ms, 0.2s or 0, or
    a distribution: normal:MEAN,STDDEV | lognormal:MEDIAN,SIGMA (SIGMA
    unitless) | uniform:LOW,HIGH | exp:MEAN, with durations in ms or s, e.g.
    --itl normal:20ms,5ms. Samples below 0 count as 0. Deadlines are absolute,
    so sending never adds drift.

    Faults are drawn per request from --seed's RNG: at most one of error,
    disconnect and stream error; a stall can come with any answer but an error.
    See docs/mock.md.
    """
    config = config_from_flags(
        host=host,
        port=port,
        workers=workers,
        ttft=ttft,
        itl=itl,
        output_tokens=output_tokens,
        tokens_per_chunk=tokens_per_chunk,
        usage=usage,
        error_rate=error_rate,
        error_status=error_status,
        disconnect_rate=disconnect_rate,
        stream_error_rate=stream_error_rate,
        stall_rate=stall_rate,
        stall=stall,
        done_delay=done_delay,
        seed=seed,
        echo_header=echo_header,
        cache=cache,
        cache_block_chars=cache_block_chars,
        cache_entries=cache_entries,
        cache_skip_chars=cache_skip_chars,
        model=model,
        slots=slots,
        queue=queue,
        tool_call_rate=tool_call_rate,
        embedding_dim=embedding_dim,
    )
    run_mock(config, watch_stdin=watch_stdin)


def config_from_flags(
    *,
    ttft: str,
    itl: str,
    stall: str,
    done_delay: str,
    model: Sequence[str] | None,
    **flags: Any,
) -> MockConfig:
    """The `MockConfig` of the mock's flag values (`ConfigError` naming the
    flag when one is wrong)."""
    timings: dict[str, Any] = {
        "ttft": parse_timing(ttft, "--ttft"),
        "itl": parse_timing(itl, "--itl"),
        "stall": parse_timing(stall, "--stall"),
        "done_delay": parse_timing(done_delay, "--done-delay"),
    }
    try:
        return MockConfig(models=tuple(model) if model else ("mock-model",), **timings, **flags)
    except ConfigError as exc:
        raise ConfigError([_flag_worded(problem) for problem in exc.problems]) from None


#: MockConfig fields whose flag is not `--` + the field's name with dashes.
_FLAGS = {"models": "--model"}


def _flag_worded(problem: str) -> str:
    """A MockConfig problem (`error_rate: ...`) worded with its flag
    (`--error-rate: ...`)."""
    field, _, rest = problem.partition(": ")
    return f"{_FLAGS.get(field, '--' + field.replace('_', '-'))}: {rest}"


def parse_mock_args(args: Sequence[str]) -> MockConfig:
    """Check `loadtest mock` flags in this process, with the mock's own
    parser: the `MockConfig` they make, or a one-line `ConfigError`."""
    parser = typer.Typer(add_completion=False)
    parser.command()(mock)
    command = typer.main.get_command(parser)
    command.params = [p for p in command.params if p.name not in _NOT_SETTINGS]
    command.add_help_option = False
    try:
        context = command.make_context("loadtest mock", list(args))
    except Exception as exc:  # the parser's usage error (click's, vendored or not)
        message = getattr(exc, "format_message", None)
        if message is None:
            raise
        raise ConfigError(str(message())) from None
    return config_from_flags(**context.params)


#: Flags of `loadtest mock` that are no mock setting (`--debug` would change
#: this process's own setting while parsing).
_NOT_SETTINGS = frozenset({"debug", "watch_stdin"})
