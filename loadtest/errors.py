"""The whole exception tree of loadtest, and the exit code each branch maps to.

Rules:
- Every error a user can cause (a bad profile, a bad flag, an unknown protocol)
  is a `LoadtestError` whose message names what was wrong and where. The CLI
  prints the message, never a traceback (unless `--debug`), and exits with the
  class's `exit_code`.
- A failed *request* is not an exception: the engine records it as data, one
  error class from the fixed taxonomy per failed turn (see `loadtest.metrics`).
  The transport exceptions below exist only inside the engine's I/O seam.
"""

from __future__ import annotations

__all__ = [
    "EXIT_GENERATOR_HEALTH",
    "EXIT_INTERRUPTED",
    "EXIT_NO_SUCCESS",
    "EXIT_OK",
    "EXIT_RUNTIME",
    "EXIT_THRESHOLDS",
    "EXIT_USAGE",
    "ConfigError",
    "LoadtestError",
    "PreflightFailed",
    "RegistryError",
    "RuntimeFailure",
]

EXIT_OK = 0
#: Something failed while running (an output could not be written, a bug).
EXIT_RUNTIME = 1
#: The command line or the profile is wrong; nothing was sent.
EXIT_USAGE = 2
#: The run finished but a threshold failed (or `compare` found a regression).
EXIT_THRESHOLDS = 3
#: `--strict-health` and the generator was not healthy in some stage.
EXIT_GENERATOR_HEALTH = 4
#: The run finished but not one steady turn succeeded (a dead, hung or
#: refusing gateway, a wrong target or key): whatever else it says, it
#: measured no gateway.
EXIT_NO_SUCCESS = 5
#: Ctrl-C or SIGTERM ended the run early; every output was still written.
EXIT_INTERRUPTED = 130


class LoadtestError(Exception):
    """Base of every error loadtest reports to a user."""

    exit_code: int = EXIT_RUNTIME


class ConfigError(LoadtestError):
    """A profile, a flag or an environment variable is wrong.

    `problems` holds one line per problem, each naming where it is
    (`realistic.json: $.scenarios[2].content.mode: expected one of ...`), so
    that every problem in a profile can be reported at once.
    """

    exit_code = EXIT_USAGE

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class RegistryError(ConfigError):
    """A protocol name is unknown, or registered twice."""


class PreflightFailed(LoadtestError):
    """A target did not answer the pre-flight request: no load was sent.

    `problems` holds one line per failing target (URL, protocol, error
    class, status or detail; secrets masked)."""

    exit_code = EXIT_RUNTIME

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class RuntimeFailure(LoadtestError):
    """A run could not go on: an output could not be written, a child died."""
