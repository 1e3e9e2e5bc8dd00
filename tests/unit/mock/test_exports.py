"""The public surface of `loadtest.mock`."""

from __future__ import annotations

import loadtest.mock


def test_all_is_explicit_sorted_and_resolvable() -> None:
    """`__all__` lists exactly the public names, each importable from the package."""
    names = loadtest.mock.__all__
    assert names == sorted(names, key=lambda name: (not name.isupper(), name))
    for name in names:
        assert getattr(loadtest.mock, name) is not None
    public = {name for name in vars(loadtest.mock) if not name.startswith("_")}
    assert public - {"annotations"} == set(names)


def test_api_names() -> None:
    """The documented entry points are exported."""
    assert {"MockConfig", "serve_mock", "run_mock", "run_mock_process", "parse_timing"} <= set(
        loadtest.mock.__all__
    )
