"""Where a run's outputs go: `--out` checked before any load, and outputs
that cannot be written there sent to a temporary directory instead."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import tempfile
from typing import TYPE_CHECKING

import pytest

from loadtest.cli import _outputs as outputs_module
from loadtest.cli._outputs import OutputPaths, prepare_outputs, write_outputs
from loadtest.errors import EXIT_USAGE, ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

START = 1_795_831_110.5


def test_a_missing_directory_is_created(tmp_path: Path) -> None:
    """A --out that does not exist yet is made, parents included, and left clean."""
    paths = prepare_outputs(tmp_path / "a" / "b", START)
    assert paths.directory.is_dir()
    assert list(paths.directory.iterdir()) == []
    assert paths.jsonl.name == "results-20261128T015830Z.jsonl"


def test_a_directory_that_cannot_be_created_is_a_usage_error(tmp_path: Path) -> None:
    """--out under a regular file: one line naming it, exit 2."""
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError) as caught:
        prepare_outputs(tmp_path / "file" / "out", START)
    assert caught.value.exit_code == EXIT_USAGE
    assert str(caught.value) == f"--out {tmp_path}/file/out: cannot create it: Not a directory"


def test_a_file_given_as_the_directory_is_said_to_be_a_file(tmp_path: Path) -> None:
    """--out naming a regular file: not "cannot create it: File exists"."""
    (tmp_path / "file").write_text("kept")
    with pytest.raises(ConfigError) as caught:
        prepare_outputs(tmp_path / "file", START)
    assert caught.value.exit_code == EXIT_USAGE
    assert str(caught.value) == f"--out {tmp_path}/file: is a file, not a directory"
    assert (tmp_path / "file").read_text() == "kept"


@contextlib.contextmanager
def tmpfs(target: Path, options: str) -> Iterator[None]:
    """A tmpfs mounted on `target` (root only; the test is skipped where
    mounting is not permitted), unmounted on exit."""
    mount = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True, check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield
    finally:
        subprocess.run(["umount", str(target)], check=True)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory no file can be written in: a read-only tmpfs when running
    as root (permissions do not stop root), else a directory without write
    permission."""
    target = tmp_path / "ro"
    target.mkdir()
    if os.geteuid() != 0:
        target.chmod(0o555)
        yield target
        target.chmod(0o755)
        return
    with tmpfs(target, "ro,size=64k"):
        yield target


def test_a_directory_that_cannot_be_written_is_a_usage_error(read_only_dir: Path) -> None:
    """A --out that exists but takes no file is refused before any load: exit 2."""
    with pytest.raises(ConfigError) as caught:
        prepare_outputs(read_only_dir, START)
    assert caught.value.exit_code == EXIT_USAGE
    assert str(caught.value).startswith(f"--out {read_only_dir}: cannot write in it: ")


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary directory, for this test."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def broken_out(tmp_path: Path) -> OutputPaths:
    """Outputs whose directory disappeared (a file took its place) after the check."""
    paths = prepare_outputs(tmp_path / "out", START)
    paths.directory.rmdir()
    paths.directory.write_text("")
    return paths


def test_outputs_are_written_in_out(tmp_path: Path, temp_dir: Path) -> None:
    """Nothing fails: every file in --out, no fallback, bytes as given."""
    paths = prepare_outputs(tmp_path / "out", START)
    outcome = write_outputs(paths, {"a.txt": "x\r\n", "b.txt": "y"})
    assert outcome.written == (paths.directory / "a.txt", paths.directory / "b.txt")
    assert (outcome.failures, outcome.lost, outcome.fallback) == ((), (), None)
    assert (paths.directory / "a.txt").read_bytes() == b"x\r\n"
    assert list(temp_dir.iterdir()) == []


def test_outputs_that_fail_go_to_one_temporary_directory(tmp_path: Path, temp_dir: Path) -> None:
    """Each output --out refuses goes to one fresh directory in the temporary
    directory, named after the run's stamp; each failure is a line."""
    paths = broken_out(tmp_path)
    outcome = write_outputs(paths, {"summary.json": "{}", "report.txt": "r"})
    assert outcome.fallback is not None
    assert outcome.fallback.parent == temp_dir
    assert outcome.fallback.name.startswith(f"loadtest-{paths.stamp}-")
    assert outcome.written == (outcome.fallback / "summary.json", outcome.fallback / "report.txt")
    assert (outcome.fallback / "summary.json").read_text() == "{}"
    assert outcome.failures == (
        f"cannot write {paths.directory}/summary.json: Not a directory",
        f"cannot write {paths.directory}/report.txt: Not a directory",
    )
    assert outcome.lost == ()


def test_outputs_written_nowhere_are_named(tmp_path: Path, temp_dir: Path) -> None:
    """When the temporary directory fails too, the output is listed as lost."""
    paths = broken_out(tmp_path)
    temp_dir.rmdir()  # mkdtemp in a directory that is gone fails
    outcome = write_outputs(paths, {"summary.json": "{}"})
    assert (outcome.written, outcome.lost, outcome.fallback) == ((), ("summary.json",), None)
    assert outcome.failures[1].startswith(
        "cannot write summary.json in a temporary directory either: "
    )


def test_a_file_cut_short_is_removed(tmp_path: Path, temp_dir: Path) -> None:
    """An output that fills the disk half-way is removed from --out (no torn
    file stays) and written whole in the temporary directory."""
    out = tmp_path / "small"
    out.mkdir()
    with tmpfs(out, "size=64k"):
        paths = prepare_outputs(out, START)
        outcome = write_outputs(paths, {"big.txt": "x" * 100_000})
        assert list(out.iterdir()) == []
    assert outcome.fallback is not None
    assert outcome.written == (outcome.fallback / "big.txt",)
    assert outcome.failures == (f"cannot write {out}/big.txt: No space left on device",)
    assert (outcome.fallback / "big.txt").stat().st_size == 100_000
    assert temp_dir in outcome.fallback.parents


def test_an_empty_fallback_is_not_left_behind(
    tmp_path: Path, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When nothing could be written in the fallback directory either, it is
    removed and not announced."""
    paths = broken_out(tmp_path)
    real_write = outputs_module._write

    def fail_in_temp(path: Path, text: str) -> None:
        if temp_dir in path.parents:
            raise OSError(errno.EFBIG, "File too large")
        real_write(path, text)

    monkeypatch.setattr(outputs_module, "_write", fail_in_temp)
    outcome = write_outputs(paths, {"summary.json": "{}"})
    assert (outcome.written, outcome.lost, outcome.fallback) == ((), ("summary.json",), None)
    assert (
        outcome.failures[1]
        == "cannot write summary.json in a temporary directory either: File too large"
    )
    assert list(temp_dir.iterdir()) == []
