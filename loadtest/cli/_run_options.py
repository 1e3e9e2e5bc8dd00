"""`loadtest run`'s own flags, and the checks and resources that come
before anything starts (`sweep` shares the mock's and the outputs' flags).

- Every flag is checked before anything starts: --start-at (a Unix time in
  seconds, at most a day ahead), the mock's flags (with the mock's own
  parser), --segment and --workers limits on the plan.
- The live metrics socket (`_metrics_socket`) is bound before the mock
  starts: a port in use is a bad flag (exit 2); it is closed on the way
  out, whatever happens.
"""

from __future__ import annotations

import contextlib
import math
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from loadtest.cli._mock import parse_mock_args
from loadtest.config import Segment
from loadtest.engine import listen_metrics
from loadtest.errors import ConfigError

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator

    from loadtest.config import RunPlan

__all__ = [
    "MAX_START_AHEAD_S",
    "METRICS_HOST_OPTION",
    "METRICS_PORT_OPTION",
    "MOCK_ARGS_OPTION",
    "MOCK_OPTION",
    "NO_PREFLIGHT_OPTION",
    "OUT_OPTION",
    "QUIET_OPTION",
    "SEGMENT_OPTION",
    "START_AT_OPTION",
    "STRICT_HEALTH_OPTION",
    "WATCH_STDIN_OPTION",
    "WORKERS_OPTION",
    "check_start_at",
]

OUT_OPTION: Any = typer.Option(Path("runs"), "--out", help="Directory for the run's outputs.")
QUIET_OPTION: Any = typer.Option(False, "--quiet", "-q", help="No live progress.")
MOCK_OPTION: Any = typer.Option(
    False,
    "--mock",
    help="Start the built-in mock upstream on a free loopback port and point every "
    "scenario at it (each keeps its protocol's path); stop it afterwards.",
)
STRICT_HEALTH_OPTION: Any = typer.Option(
    False,
    "--strict-health",
    help="Exit 4 when the generator was not healthy (suspect or generator-bound) in any stage.",
)
START_AT_OPTION: Any = typer.Option(
    None,
    "--start-at",
    help="Unix time (seconds) at which the first stage starts; processes given the same "
    "value start together (multi-service.py uses it). Default: at once.",
)
#: --start-at is at most this far ahead: a later one is a mistake (milliseconds
#: for seconds), never a run to wait for.
MAX_START_AHEAD_S = 24 * 3600


def check_start_at(start_at: float | None, now_unix_s: float) -> None:
    """ConfigError for a --start-at that is not a Unix time in seconds at
    most a day ahead (milliseconds would wait for millennia, or fail)."""
    if start_at is None:
        return
    if not math.isfinite(start_at) or start_at < 0:
        raise ConfigError(f"--start-at {start_at:g}: expected Unix time in seconds (date +%s)")
    ahead_s = start_at - now_unix_s
    if ahead_s > MAX_START_AHEAD_S:
        raise ConfigError(
            f"--start-at {start_at:.0f}: {ahead_s / 86400:,.0f} days ahead; expected Unix time "
            "in seconds (date +%s), at most a day ahead"
        )


WATCH_STDIN_OPTION: Any = typer.Option(
    False,
    "--watch-stdin",
    help="Stop (as on SIGTERM: end the stage, write outputs) when standard input, a pipe "
    "held by a supervisor, closes: a child run must not outlive its parent.",
)
NO_PREFLIGHT_OPTION: Any = typer.Option(
    False,
    "--no-preflight",
    help="Skip the pre-flight request (one per distinct target and protocol, before any "
    "load, not counted in the results) that stops the run with exit 1 when a target is "
    "dead or refuses the request.",
)
METRICS_PORT_OPTION: Any = typer.Option(
    None,
    "--metrics-port",
    min=0,
    max=65535,
    help="Serve live Prometheus metrics on this port during the run (GET /metrics; "
    "0 picks a free port, printed on stderr). Same names as metrics-<ts>.prom.",
)
_METRICS_HOST = "127.0.0.1"
METRICS_HOST_OPTION: Any = typer.Option(
    _METRICS_HOST,
    "--metrics-host",
    help="Address --metrics-port listens on. The endpoint has no authentication: "
    "another address than loopback (0.0.0.0) exposes it to the network, your choice.",
)
MOCK_ARGS_OPTION: Any = typer.Option(
    "", "--mock-args", help="Flags for the mock with --mock, e.g. '--ttft 200ms --itl 20ms'."
)
SEGMENT_OPTION: Any = typer.Option(
    None,
    "--segment",
    help="Run execution segment K/N of the plan (K 0-based, 0 to N-1): N processes or "
    "hosts given 0/N to N-1/N and one --start-at run the plan together; `loadtest merge` "
    "joins their summaries (docs/scale.md).",
)
WORKERS_OPTION: Any = typer.Option(
    None,
    "--workers",
    help="Run the plan in N worker processes on this host (auto: one per usable core) "
    "and write one merged set of outputs (docs/scale.md). Default 1: one process. "
    "With --cluster: N shards, one per Dask worker (auto: one per worker of the cluster).",
)


def _mock_args(mock: bool, mock_args: str, target: str | None) -> list[str] | None:
    """The mock's flags with --mock (checked with the mock's own parser), else None."""
    if not mock:
        if mock_args:
            raise ConfigError("--mock-args: only used with --mock")
        return None
    if target is not None:
        raise ConfigError("--mock and --target: choose one (--mock sets the target)")
    try:
        args = shlex.split(mock_args)
        parse_mock_args(args)
    except ValueError as exc:  # shlex: an unclosed quote
        raise ConfigError(f"--mock-args: {exc}") from None
    except ConfigError as exc:
        raise ConfigError([f"--mock-args: {line}" for line in exc.problems]) from None
    return args


#: The target a --mock run's plan is checked with before the mock starts.
_MOCK_PLACEHOLDER = "http://127.0.0.1:9"


@contextlib.contextmanager
def _metrics_socket(port: int | None, host: str) -> Iterator[socket.socket | None]:
    """The live metrics endpoint's listening socket (with --metrics-port),
    bound before anything starts, closed at the end; else None."""
    if port is None:
        if host != _METRICS_HOST:
            raise ConfigError("--metrics-host: only used with --metrics-port")
        yield None
        return
    try:
        sock = listen_metrics(port, host)
    except ConfigError as exc:
        raise ConfigError(f"--metrics-port: {exc}") from None
    with sock:
        bound = sock.getsockname()
        where = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        print(f"metrics: http://{where}:{bound[1]}/metrics", file=sys.stderr)
        yield sock


def _for_segments(plan: RunPlan, shard: Segment, workers: int) -> RunPlan:
    """`plan` cut to `--segment`; with `--workers`, its limits checked for
    that many segments (ConfigError before anything starts)."""
    for index in range(workers if workers > 1 else 0):
        plan.for_segment(Segment(index, workers))
    return plan if shard.whole else plan.for_segment(shard)
