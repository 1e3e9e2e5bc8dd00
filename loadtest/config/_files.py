"""Checking the local files a plan names, before anything is sent.

`http.ca_bundle` must exist, be readable and load as a bundle of CA
certificates (PEM), or the run would blame every turn on the gateway. The
path is taken as written (relative paths from the working directory), as
the engine opens it.

I/O: reads the named files; writes nothing.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from loadtest.config._resolve import RunPlan

__all__ = ["ca_bundle_problem", "check_files"]


def ca_bundle_problem(path: str) -> str | None:
    """Why the CA bundle at `path` cannot be used, or None if it can."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=path)
    except FileNotFoundError:
        return f'no such file: "{path}"'
    except IsADirectoryError:
        return f'"{path}" is a directory, not a PEM file'
    except (ssl.SSLError, ValueError) as exc:  # SSLError before OSError: it is one
        return f'"{path}" is not a PEM bundle of CA certificates ({exc.args[-1]})'
    except OSError as exc:
        return f'cannot read "{path}": {exc.strerror or exc}'
    if not context.get_ca_certs():
        return f'"{path}" holds no CA certificate'
    return None


def check_files(plan: RunPlan) -> None:
    """Raise `ConfigError` if a file the plan names cannot be used."""
    if plan.http.ca_bundle is not None:
        problem = ca_bundle_problem(plan.http.ca_bundle)
        if problem is not None:
            raise ConfigError(f"$.http.ca_bundle: {problem}")
