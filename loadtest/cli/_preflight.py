"""The pre-flight check of `loadtest run`: one request per distinct (target,
protocol) before any load, so a dead or misconfigured target fails in
seconds with its reason instead of producing a run of errors.

Rules:
- One probe per distinct (target URL, protocol): the first scenario that
  uses it, sent by the engine's own request path (`probe_scenarios`: same
  adapter, headers and timeouts as the run). Probes are not part of the
  run: no statistics, no JSONL line.
- A target fails when it gave no HTTP answer at all (refused, timed out,
  reset, DNS, TLS), answered 4xx other than 429 (wrong key, path or model:
  every turn of the run would fail the same way), or answered something
  that is not its protocol (`bad_response`). A 5xx, a 429 or an empty
  completion is a gateway that answers: the run goes on and measures it,
  with a warning.
- Each failing target is one line: URL (masked), protocol, error class,
  status and detail. Values of the scenario's headers (keys) are masked in
  the detail, whatever the server echoed.
- Any failure raises `PreflightFailed` (exit 1) before the plan runs;
  Ctrl-C during the check exits 130 with one line, no traceback.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING

import trio
import typer

from loadtest import taxonomy
from loadtest.config import MASK, mask_url
from loadtest.engine import probe_scenarios
from loadtest.errors import EXIT_INTERRUPTED, PreflightFailed

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpcore

    from loadtest.config import RunPlan, ScenarioPlan
    from loadtest.metrics import TurnRecord

__all__ = ["check_targets", "preflight", "probe_indices"]

#: Classes whose request reached a server that answered in its protocol:
#: the run measures them (anything else with no status is a dead target).
_ANSWERED = frozenset(
    {
        taxonomy.HTTP_5XX,
        taxonomy.HTTP_429,
        taxonomy.EMPTY_COMPLETION,
        taxonomy.STREAM_TRUNCATED,
        taxonomy.TIMEOUT_READ,
        taxonomy.TIMEOUT_TOTAL,
    }
)
#: Shorter header values are not worth masking (and would mask ordinary words).
_MIN_SECRET_CHARS = 6


def probe_indices(plan: RunPlan) -> list[int]:
    """The first scenario of each distinct (target URL, protocol)."""
    first: dict[tuple[str, str], int] = {}
    for index, scenario in enumerate(plan.scenarios):
        first.setdefault((scenario.target.url, scenario.protocol), index)
    return list(first.values())


def _failed(record: TurnRecord) -> bool:
    if record.outcome == "ok":
        return False
    if record.status is None:
        return True
    return record.error_class not in _ANSWERED


def _masked(text: str, scenario: ScenarioPlan) -> str:
    """`text` with every header value of the scenario (and each of its words) masked."""
    secrets = {value for _, value in scenario.headers}
    secrets |= {word for value in list(secrets) for word in value.split()}
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET_CHARS:
            text = text.replace(secret, MASK)
    return text


def _line(record: TurnRecord, scenario: ScenarioPlan) -> str:
    detail = record.error_detail or ""
    status = f"HTTP {record.status}" if record.status is not None else ""
    if status and status not in detail:
        detail = f"{status}: {detail}" if detail else status
    text = f"{mask_url(scenario.target.url)} ({scenario.protocol}): {record.error_class}"
    return _masked(f"{text}: {detail}" if detail else text, scenario)


async def check_targets(
    plan: RunPlan, *, backend: httpcore.AsyncNetworkBackend | None = None
) -> tuple[list[str], list[str]]:
    """Probe every distinct target: (failure lines, warning lines)."""
    indices = probe_indices(plan)
    records = await probe_scenarios(plan, indices, backend=backend)
    failures: list[str] = []
    warnings: list[str] = []
    for index, record in zip(indices, records, strict=True):
        if record.outcome == "ok":
            continue
        line = _line(record, plan.scenarios[index])
        (failures if _failed(record) else warnings).append(line)
    return failures, warnings


def _raise(failures: Iterable[str]) -> None:
    lines = [f"pre-flight: {line}" for line in failures]
    if lines:
        # The target lines come last: supervisors (multi-service.py) quote the last one.
        heading = (
            "pre-flight failed, nothing else was sent (check the target, or --mock; "
            "--no-preflight skips this check):"
        )
        raise PreflightFailed([heading, *lines])


#: A pre-flight still waiting after this long says so (it can wait up to
#: `timeouts.read`, or `timeouts.total`, for a gateway that never answers).
_NOTICE_AFTER_S = 5.0


async def _checked(plan: RunPlan) -> tuple[list[str], list[str]]:
    async with trio.open_nursery() as nursery:
        await nursery.start(_interrupt_on_signal)
        nursery.start_soon(_notice, plan)
        found = await check_targets(plan)
        nursery.cancel_scope.cancel()
    return found


async def _interrupt_on_signal(*, task_status: trio.TaskStatus[None]) -> None:
    """SIGINT or SIGTERM during the check: KeyboardInterrupt from this task
    (never from inside the event loop), whatever handler `run` installed."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            raise KeyboardInterrupt


async def _notice(plan: RunPlan) -> None:
    await trio.sleep(_NOTICE_AFTER_S)
    limit = min(plan.timeouts.read.seconds, plan.timeouts.total.seconds)
    print(
        f"loadtest: pre-flight: still waiting for an answer (up to {limit:g} s, "
        "timeouts.read; --no-preflight skips this check)",
        file=sys.stderr,
    )


def _only_interrupts(exc: BaseException) -> bool:
    """Ctrl-C, possibly wrapped in (nested) exception groups by trio's nurseries."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(KeyboardInterrupt)[1] is None
    return isinstance(exc, KeyboardInterrupt)


def preflight(plan: RunPlan) -> None:
    """Probe every distinct target of `plan`; PreflightFailed (exit 1) if any
    is dead or refuses the request. Warnings go to stderr."""
    try:
        failures, warnings = trio.run(_checked, plan)
    except BaseException as exc:
        if not _only_interrupts(exc):
            raise
        print("loadtest: pre-flight interrupted: no load was sent", file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    for line in warnings:
        print(f"loadtest: warning: pre-flight: {line} (the run goes on)", file=sys.stderr)
    _raise(failures)
