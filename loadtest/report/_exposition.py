"""The Prometheus text exposition format, written in one place.

`metrics-<ts>.prom` and the live endpoint (`--metrics-port`) both collect
their samples in an `Exposition` and render it here. Rules:
- Format 0.0.4: each family once, `# HELP` and `# TYPE` before its samples,
  families in `PROM_FAMILIES` order; label values escaped (`\\`, `"`,
  newline) and help text escaped (`\\`, newline); no timestamps (the
  textfile collector refuses them).
- A family with no sample is left out (no HELP line without samples).
- Integers are written as integers, infinities and NaN as `+Inf`, `-Inf`
  and `NaN`, other numbers with `repr` (exact).

Pure: samples in, text out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from loadtest.report._schema import PROM_FAMILIES, PromFamily

__all__ = ["CONTENT_TYPE", "Exposition", "Labels"]

#: The HTTP Content-Type of the text format this module writes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Mapping[str, str]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(number: float) -> str:
    """A sample value as the exposition format spells it (`+Inf`, not `inf`)."""
    if isinstance(number, int):
        return str(number)
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return "NaN" if math.isnan(number) else repr(float(number))


class Exposition:
    """Sample lines grouped by family, written out in `PROM_FAMILIES` order."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add(self, family: PromFamily, labels: Labels, value: float, suffix: str = "") -> None:
        """One sample of `family`; `suffix` names a summary's `_sum` or `_count`."""
        text = ",".join(f'{key}="{_escape_label(v)}"' for key, v in labels.items())
        line = f"{family.name}{suffix}{{{text}}} {_value(value)}"
        self._lines.setdefault(family.name, []).append(line)

    def extend(self, other: Exposition) -> None:
        """Add every sample of `other` (after this one's, family by family)."""
        for name, lines in other._lines.items():
            self._lines.setdefault(name, []).extend(lines)

    def render(self) -> str:
        out: list[str] = []
        for family in PROM_FAMILIES:
            lines = self._lines.get(family.name)
            if lines:
                out.append(f"# HELP {family.name} {_escape_help(family.help)}")
                out.append(f"# TYPE {family.name} {family.type}")
                out.extend(lines)
        return "\n".join(out) + "\n" if out else ""
