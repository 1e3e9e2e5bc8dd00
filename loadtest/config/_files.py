"""Checking and reading the local files a plan names, before anything is sent.

- `http.ca_bundle` must exist, be readable and load as a bundle of CA
  certificates (PEM), or the run would blame every turn on the gateway. The
  path is taken as written (relative paths from the working directory), as
  the engine opens it.
- Dataset files (`dataset` content, `empirical` token counts) are read once,
  when the plan is loaded (`load_datasets`), never per turn: each file once
  however many scenarios name it. A relative path is relative to the
  profile's directory: `anchor_paths` makes it absolute when the profile
  file is read, so a written-out profile reruns from anywhere.

I/O: reads the named files; writes nothing.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from loadtest.config._dataset import (
    MAX_DATASET_BYTES,
    Dataset,
    DatasetContent,
    DatasetRecord,
    parse_dataset,
    select,
)
from loadtest.config._lengths import EmpiricalDist, TokenCount
from loadtest.config._model import SizedContent
from loadtest.errors import ConfigError

if TYPE_CHECKING:
    from loadtest.config._model import Content, Profile
    from loadtest.config._resolve import RunPlan, ScenarioPlan

_C = TypeVar("_C", bound="Content | None")

__all__ = ["anchor_paths", "ca_bundle_problem", "check_files", "load_datasets"]


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


# --- dataset paths -----------------------------------------------------------------


def _anchor(path: str, base: Path) -> str:
    return str((base / path).resolve())


def _anchor_count(count: Any, base: Path) -> Any:
    if isinstance(count, EmpiricalDist) and count.dataset is not None:
        return attrs.evolve(count, dataset=_anchor(count.dataset, base))
    return count


def _anchor_content(content: _C, base: Path) -> _C:
    if isinstance(content, DatasetContent):
        return attrs.evolve(content, path=_anchor(content.path, base))
    if isinstance(content, SizedContent):
        return attrs.evolve(
            content, approx_input_tokens=_anchor_count(content.approx_input_tokens, base)
        )
    return content


def anchor_paths(profile: Profile, base: Path) -> Profile:
    """`profile` with every dataset path made absolute, relative ones taken
    from `base` (the profile file's directory)."""
    defaults = attrs.evolve(
        profile.defaults,
        content=_anchor_content(profile.defaults.content, base),
        max_tokens=_anchor_count(profile.defaults.max_tokens, base),
    )
    scenarios = profile.scenarios
    if scenarios is not None:
        scenarios = tuple(
            attrs.evolve(
                s,
                content=_anchor_content(s.content, base),
                max_tokens=_anchor_count(s.max_tokens, base),
            )
            for s in scenarios
        )
    return attrs.evolve(profile, defaults=defaults, scenarios=scenarios)


# --- reading datasets --------------------------------------------------------------


class _Files:
    """Dataset files read so far in one plan: each is read and parsed once."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[DatasetRecord, ...]] = {}

    def read(self, path: str, content: DatasetContent | None) -> Dataset:
        fields = content.fields if content is not None else None
        key = f"{path}\0{fields!r}"
        if key not in self.records:
            self.records[key] = parse_dataset(_read(path), path, fields)
        return select(self.records[key], path, content)


def _read(path: str) -> bytes:
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_DATASET_BYTES:
            raise ConfigError(f"{path}: a dataset is at most {MAX_DATASET_BYTES // 2**20} MiB")
        return file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such dataset file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a directory, not a dataset file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _lengths(
    count: TokenCount, files: _Files, own: Dataset | None, what: str, where: str
) -> tuple[int, ...]:
    """The lengths an `empirical` count draws from: its file's (prompt
    lengths for inputs, reply lengths for outputs), else the scenario's own
    dataset's."""
    if not isinstance(count, EmpiricalDist):
        return ()
    if count.dataset is not None:
        source: Dataset | None = files.read(count.dataset, None)
    else:
        source = own
    if source is None:
        raise ConfigError(
            f'{where}: an "empirical" distribution names its "dataset" unless the '
            "scenario's content is a dataset"
        )
    lengths = source.prompt_lengths if what == "prompt" else source.reply_lengths
    if not lengths:
        raise ConfigError(f"{where}: {source.source} holds no assistant reply to take lengths from")
    return lengths


def _load_scenario(plan: ScenarioPlan, files: _Files) -> ScenarioPlan:
    content = plan.content
    dataset = files.read(content.path, content) if isinstance(content, DatasetContent) else None
    where = f"scenario {plan.name!r}"
    input_lengths: tuple[int, ...] = ()
    if isinstance(content, SizedContent):
        input_lengths = _lengths(
            content.approx_input_tokens, files, None, "prompt", f"{where}: approx_input_tokens"
        )
    output_lengths = _lengths(plan.max_tokens, files, dataset, "reply", f"{where}: max_tokens")
    return attrs.evolve(
        plan, dataset=dataset, input_lengths=input_lengths, output_lengths=output_lengths
    )


def load_datasets(plan: RunPlan) -> RunPlan:
    """`plan` with the dataset files its scenarios name read in (a plan
    already loaded comes back as it is). `ConfigError` names the file, and
    the line and field of a bad record."""
    if plan.datasets_loaded:
        return plan
    files = _Files()
    scenarios = tuple(_load_scenario(s, files) for s in plan.scenarios)
    return attrs.evolve(plan, scenarios=scenarios, datasets_loaded=True)
