"""The `multi-service.py` command line: flags in, `run_multi_service` called, exit code out.

Rules:
- A `LoadtestError` prints one `multi-service: error: ...` line per problem
  and exits with its code (2 bad input, nothing sent; 1 runtime failure);
  `--debug` shows the traceback instead.
- Exit codes: 0 every gateway gave results in every round; 1 some gateway
  FAILED in some round (its row says why); 2 bad input; 130 interrupted.
- Help is plain text (`rich_markup_mode=None`): the services-file example
  in it must print as written, and rich markup would eat `[[services]]`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from loadtest.config import parse_duration
from loadtest.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME, ConfigError, LoadtestError
from loadtest.multiservice._html import html_path
from loadtest.multiservice._multi import run_multi_service

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["app", "main"]

PROG = "multi-service.py"
HELP = """\
Run PROFILE against every gateway in SERVICES at the same time, round after
round, and compare them: per round a table of TTFT p50/p95, latency p95,
RPS, error % and each gateway's TTFT p50 delta against the round's fastest;
at the end, the median delta per gateway over the rounds.

Running gateways side by side makes the upstream's drift common to all of
them, so a delta is each gateway's own overhead. Each gateway runs in its own
`loadtest run` process; all of a round's processes start at one shared time.

SERVICES is a TOML or JSON file (see profiles/services.example.toml):

\b
    [[services]]
    name = "gw-a"                         # unique, names the row and folder
    target = "http://localhost:4000/v1"   # base URL, as `loadtest run --target`
    key_env = "GW_A_VK"                   # env var holding the key (optional)
\b
    [[services]]
    name = "gw-b"
    target = "http://localhost:8080/v1"
    model = "gpt-4o-mini"                 # optional; else the profile's model
    key_env = "GW_B_VK"
    headers = { "x-team" = "bench" }      # optional extra headers

Keys come only from the environment: export GW_A_VK=... before running.
Every variable named is checked before anything is sent. Outputs go to
OUT/multi-<ts>/round-<k>/<name>/ and the combined JSON to OUT/multi-<ts>.json.
See docs/multi-service.md for fairness (same substrate, caches off, warm-up).

Exit codes: 0 ok; 1 some gateway FAILED in some round; 2 bad input (nothing
sent); 130 interrupted (rounds so far are still written).
"""

app = typer.Typer(
    name=PROG,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SERVICES_ARGUMENT: Any = typer.Argument(
    ..., help="Services file (.toml or .json): the gateways.", show_default=False
)
PROFILE_ARGUMENT: Any = typer.Argument(
    ..., help="Profile file (.json or .toml) run against each gateway.", show_default=False
)
STAGES_OPTION: Any = typer.Option(
    None, "--stages", help="Replace the profile's stages, e.g. '10:60s' or '@50:60s'."
)
ROUNDS_OPTION: Any = typer.Option(3, "--rounds", min=1, help="How many rounds to run.")
OUT_OPTION: Any = typer.Option(
    Path("runs/multi"), "--out", help="Directory for every round's outputs."
)
START_DELAY_OPTION: Any = typer.Option(
    "2s",
    "--start-delay",
    help="Time from launching a round's processes to their shared start; "
    "raise it if a round reports runs starting far apart.",
)
JSON_OPTION: Any = typer.Option(
    None, "--json", help="Write the combined JSON here (default OUT/multi-<ts>.json)."
)
DEBUG_OPTION: Any = typer.Option(False, "--debug", help="Show tracebacks for errors.")


def _progress(line: str) -> None:
    print(f"multi-service: {line}", file=sys.stderr, flush=True)


def _table(text: str) -> None:
    sys.stdout.write("\n" + text)
    sys.stdout.flush()


@app.command(help=HELP)
def multi_service(
    services: Path = SERVICES_ARGUMENT,
    profile: Path = PROFILE_ARGUMENT,
    stages: str | None = STAGES_OPTION,
    rounds: int = ROUNDS_OPTION,
    out: Path = OUT_OPTION,
    start_delay: str = START_DELAY_OPTION,
    json_out: Path | None = JSON_OPTION,
    debug: bool = DEBUG_OPTION,
) -> None:
    try:
        try:
            delay_s = parse_duration(start_delay).seconds
        except ValueError as exc:
            raise ConfigError(f"--start-delay: {exc}") from None
        result = run_multi_service(
            services,
            profile,
            stages=stages,
            rounds=rounds,
            out=out,
            start_delay_s=delay_s,
            json_path=json_out,
            on_table=_table,
            on_progress=_progress,
        )
    except LoadtestError as exc:
        if debug:
            raise
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"multi-service: error: {line}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:  # between rounds, outside any round's signal handling
        _progress("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _progress(f"wrote {result.json_path} and {html_path(result.json_path)}")
    if result.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_RUNTIME if result.any_failed else EXIT_OK)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default `sys.argv[1:]`); return the exit code."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name=PROG)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK
