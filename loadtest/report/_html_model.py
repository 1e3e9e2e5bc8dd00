"""The HTML pages' model: what a page shows, as plain data for its script.

Rules:
- A `Page` is a title, a few header lines and `Section`s; a section holds
  `Text` blocks, `Table`s and `Chart`s in the order they are shown. The
  page's script (assets/page.js) draws exactly this model, nothing else:
  every figure, label and unit is decided here, in Python, where it is
  tested.
- A `Chart` has one shared x array and series of the same length (`None`
  is a gap). Its `x_kind` says how to read x: `linear` (a number with the
  unit in `x_label`), `seconds` (seconds since the run's start),
  `category` (1..N, each labelled by `x_ticks`), `percentile` (x is
  1/(1-q): 1 is the minimum, 10 the p90, 100 the p99...; drawn on a log
  axis labelled in percent).
- A chart whose positive values span more than `LOG_Y_RATIO` (a TTFT of
  100 ms beside a latency of 5 s) gets a logarithmic y axis (`y_log`,
  from `log_y`), so the small values stay readable.
- Series take their colour from `color` (an index into the page's palette);
  overlays (runs, gateways) give each overlaid thing one colour on every
  chart.
- `page_json` is the page's data exactly as the script reads it.

Pure; no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from loadtest.metrics import Histogram

__all__ = [
    "LOG_Y_RATIO",
    "PERCENTILE_XS",
    "Band",
    "Chart",
    "Mark",
    "Page",
    "Section",
    "Series",
    "Table",
    "Text",
    "distribution_ms",
    "log_y",
    "page_json",
    "percentile_chart",
]

XKind = Literal["linear", "seconds", "category", "percentile"]


@attrs.frozen(kw_only=True)
class Series:
    """One line of a chart; `values[i]` belongs to the chart's `xs[i]`."""

    label: str
    values: tuple[float | None, ...]
    color: int
    dash: bool = False


@attrs.frozen(kw_only=True)
class Band:
    """A shaded x range (the warm-up of a stage)."""

    start: float
    end: float
    label: str


@attrs.frozen(kw_only=True)
class Mark:
    """A vertical line at `x` (a stage's start, a sweep's knee)."""

    x: float
    label: str


@attrs.frozen(kw_only=True)
class Chart:
    id: str
    title: str
    x_kind: XKind
    x_label: str
    y_label: str
    xs: tuple[float, ...]
    series: tuple[Series, ...]
    x_ticks: tuple[str, ...] = ()
    #: A logarithmic y axis (values spanning more than `LOG_Y_RATIO`).
    y_log: bool = False
    bands: tuple[Band, ...] = ()
    marks: tuple[Mark, ...] = ()
    note: str = ""
    kind: str = "chart"


@attrs.frozen(kw_only=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    kind: str = "table"


@attrs.frozen(kw_only=True)
class Text:
    """Lines of text; `tone` colours the block (`pass`, `fail`, `info`)."""

    lines: tuple[str, ...]
    tone: str = "info"
    title: str = ""
    preformatted: bool = False
    kind: str = "text"


Item = Chart | Table | Text


@attrs.frozen(kw_only=True)
class Section:
    id: str
    title: str
    items: tuple[Item, ...]


@attrs.frozen(kw_only=True)
class Page:
    title: str
    header: tuple[str, ...]
    sections: tuple[Section, ...]


#: Largest over smallest positive value beyond which a y axis is logarithmic.
LOG_Y_RATIO = 20.0


def log_y(series: tuple[Series, ...]) -> bool:
    """Whether `series` need a logarithmic y axis (see the module rules)."""
    values = [v for s in series for v in s.values if v is not None and v > 0]
    return bool(values) and max(values) / min(values) > LOG_Y_RATIO


def _plain(value: Any) -> Any:
    """attrs instances as dicts; tuples of them as lists; anything else (numbers,
    texts, tuples of them) as it is, for orjson (fast on long series)."""
    if attrs.has(type(value)):
        return {name: _plain(v) for name, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, tuple) and value and attrs.has(type(value[0])):
        return [_plain(v) for v in value]
    return value


def page_json(page: Page) -> dict[str, Any]:
    """The page as the script reads it (plain data)."""
    data: dict[str, Any] = _plain(page)
    return data


def _percentile_xs() -> tuple[float, ...]:
    """1/(1-q) from 1 (the minimum) to 10^5 (the p99.999), 10 steps a decade."""
    return tuple(round(10 ** (step / 10), 6) for step in range(51))


#: The x of a percentile-distribution chart: 1/(1-q) (see the module rules).
PERCENTILE_XS: tuple[float, ...] = _percentile_xs()


def distribution_ms(hist: Histogram) -> tuple[float | None, ...]:
    """The value (ms) at each of `PERCENTILE_XS` of `hist`; a point needs
    at least x values (the p99 of 20 values is their maximum), so the rest
    are gaps."""
    wanted = [100 * (1 - 1 / x) for x in PERCENTILE_XS if x <= hist.count]
    values = hist.percentiles(wanted)
    points = [values[q] / 1000 for q in wanted]
    return tuple(points) + (None,) * (len(PERCENTILE_XS) - len(points))


def percentile_chart(*, id: str, title: str, series: tuple[Series, ...], note: str = "") -> Chart:
    """A percentile-distribution chart of `series` (from `distribution_ms`),
    cut after the last percentile any of them reaches: no empty tail."""
    reach = max(sum(v is not None for v in s.values) for s in series)
    return Chart(
        id=id,
        title=title,
        x_kind="percentile",
        x_label="percentile",
        y_label="ms",
        xs=PERCENTILE_XS[:reach],
        series=tuple(attrs.evolve(s, values=s.values[:reach]) for s in series),
        note=note,
    )
