"""Seeded mutations of the shipped profiles, for the fuzz tests.

Each mutant is a shipped profile with a few random edits: a value replaced
by a hostile one (huge or negative numbers, NaN, CR/LF/NUL, lone surrogates,
long strings, deep nesting, a string where a list belongs), a key dropped, or
a value wrapped in a list. The same seed gives the same mutants.
"""

from __future__ import annotations

import copy
import json
import random
import tomllib
from pathlib import Path
from typing import Any

PROFILES = Path(__file__).parent.parent / "profiles"
SHIPPED = sorted(
    p
    for p in PROFILES.iterdir()
    if p.suffix in (".json", ".toml")
    and p.name != "schema.json"
    and not p.name.startswith("services.")
)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE: list[Any] = [
    0,
    -1,
    1,
    2**63,
    2**64,
    -(2**70),
    10**8,
    1e8,
    1e308,
    float("nan"),
    float("inf"),
    0.5,
    True,
    None,
    "",
    " ",
    "0",
    "8:6s",
    "@1e9:1s",
    "1:0s",
    "999999h",
    "1.5s",
    "x\r\nx-injected: 1",
    "a\nb",
    "nul\x00",
    "\ud800",
    "bell\x07",
    "é",
    "x" * 5000,
    "Bearer REPLACE_WITH_VK",
    "${LOADTEST_FUZZ_UNSET}",
    "http://h/a b",
    "http://[::1",
    "ftp://h/",
    [],
    ["1:1s"],
    ["x"] * 20,
    {},
    {"mode": "sized", "approx_input_tokens": 10**8},
    {"min": 5, "max": 2},
    _nested(70),
]
NEW_KEYS = ["seed", "max_in_flight", "http", "correlation", "headers", "stages", "x y", "\ud800"]


def load(path: Path) -> Any:
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return tomllib.loads(path.read_text())


def _slots(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside `doc` (objects by key, lists by index)."""
    out = [path]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(_slots(value, (*path, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out.extend(_slots(value, (*path, index)))
    return out


def _mutate_once(doc: Any, rng: random.Random) -> Any:
    slots = [s for s in _slots(doc) if s]
    if not slots:
        return doc
    path = rng.choice(slots)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.random()
    if action < 0.7:
        parent[last] = copy.deepcopy(rng.choice(HOSTILE))
    elif action < 0.8 and isinstance(parent, dict):
        del parent[last]
    elif action < 0.9 and isinstance(parent, dict):
        parent[rng.choice(NEW_KEYS)] = copy.deepcopy(rng.choice(HOSTILE))
    else:
        parent[last] = [parent[last]]
    return doc


def mutants(seed: int, count: int) -> list[tuple[str, str]]:
    """`count` mutants as (name, JSON text), from every shipped profile in turn."""
    rng = random.Random(seed)
    docs = [(p.name, load(p)) for p in SHIPPED]
    out = []
    for number in range(count):
        name, doc = docs[number % len(docs)]
        mutant = copy.deepcopy(doc)
        for _ in range(rng.randint(1, 3)):
            mutant = _mutate_once(mutant, rng)
        out.append((f"{number}-{name}", json.dumps(mutant)))
    return out
