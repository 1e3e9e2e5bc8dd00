"""HDR histograms of integer microseconds, with a lean recording path.

Role: `Histogram` holds one latency distribution (one per stage, scenario and
metric). VUs call `record()` on the hot path, once per request for latency and
once per streamed token for inter-token latency; reports read percentiles,
merge histograms and ship them as the standard compressed HDR encoding.

Rules:
- Units: values are integer microseconds (`int`). 0 is a valid value; `count`
  must be a positive `int`. Nothing is ever rounded before it is recorded.
- Out of range is never silent: a value below 0 or above `highest_us` is not
  recorded; `record()` returns False and adds `count` to `overflow`. `overflow`
  is not part of the HDR encoding, so callers store it beside `encode()`.
- Recording is sync, takes no lock (trio never interleaves sync code) and never
  does I/O. It is pure Python: inlined index math on precomputed constants and
  one increment of a plain `list` of ints. Measured side by side per call,
  loop included: list 0.18 µs, `array('q')` 0.21, a ctypes array 0.22, a
  defaultdict 0.23; hdrh's `record_value` 0.83 (`bench/histogram_record.py`
  times the list against hdrh).
- HDR parameters: lowest discernible value 1 µs, highest trackable value
  `highest_us` (default 3,600,000,000 µs, 1 h), `significant_figures` (default
  3). The bucket and sub-bucket index math is HdrHistogram's, so counts map one
  to one onto `hdrh` (HdrHistogram_py) and onto other HDR tools. Unlike
  `hdrh.record_value`, values above `highest_us` that still fit the last bucket
  (up to 4,294,967,295 µs for 1 h) are rejected, so `highest_us` is the limit.
- The read side (report time only) follows hdrh exactly: `min` and `max` are
  the lowest and highest values equivalent to the smallest and largest recorded
  value (that is what an encoding preserves); `mean` and `stddev` use the
  midpoint of each bucket; `percentiles()` has the semantics of hdrh's
  `get_value_at_percentile`. An empty histogram reports 0 for `min`, `max` and
  every percentile, and 0.0 for `mean` and `stddev`, as hdrh does.
- Memory: the counts list grows in steps of one sub-bucket half (1,024 slots of
  8 bytes at 3 figures) up to the largest value recorded so far: 56 KiB for
  inter-token latencies up to 65 ms, 120 KiB for latencies up to 10 s, at most
  184 KiB (23,552 slots, the size of hdrh's array) for values up to 1 h. A
  count above 256 is an int object of its own (32 bytes per busy slot), so a
  million recorded values measured 134 KiB (latency) and 108 KiB (ITL). The
  encoding is 48 bytes empty and ~16 KB for a million latencies.
"""

from __future__ import annotations

import array
import math
import zlib
from bisect import bisect_left
from itertools import accumulate, compress, repeat
from operator import add, mul
from typing import TYPE_CHECKING

# hdrh ships no type hints: its classes are typed as Any here, and every value
# read back from them is converted to a typed value at this boundary.
from hdrh.codec import (  # type: ignore[import-untyped]
    HdrCookieException,
    HdrLengthException,
)
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["DEFAULT_HIGHEST_US", "DEFAULT_SIGNIFICANT_FIGURES", "MAX_HIGHEST_US", "Histogram"]

#: One hour, the highest value a histogram tracks unless told otherwise.
DEFAULT_HIGHEST_US = 3_600_000_000
DEFAULT_SIGNIFICANT_FIGURES = 3
#: HdrHistogram's own ceiling for the highest trackable value (Long.MAX_VALUE / 2).
MAX_HIGHEST_US = (1 << 62) - 1

# What hdrh's decoder raises on a malformed encoding: binascii.Error, ctypes'
# short-buffer error and bad header fields are ValueErrors; counts that overrun
# the array the header describes are an IndexError.
_DECODE_ERRORS = (
    ValueError,
    IndexError,
    zlib.error,
    HdrCookieException,
    HdrLengthException,
)


class Histogram:
    """An HDR histogram of integer microseconds (see the module docstring)."""

    __slots__ = (
        "_counts",
        "_half_mag",
        "_highest_us",
        "_mask",
        "_overflow",
        "_shift",
        "_significant_figures",
        "_total",
    )
    # Mutable, so unhashable even though it defines __eq__.
    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        highest_us: int = DEFAULT_HIGHEST_US,
        significant_figures: int = DEFAULT_SIGNIFICANT_FIGURES,
    ) -> None:
        if not 2 <= highest_us <= MAX_HIGHEST_US:
            raise ValueError(f"highest_us must be within [2, {MAX_HIGHEST_US}], got {highest_us!r}")
        if not 1 <= significant_figures <= 5:
            raise ValueError(
                f"significant_figures must be within [1, 5], got {significant_figures!r}"
            )
        # hdrh: sub_bucket_half_count_magnitude = ceil(log2(2 * 10**figures)) - 1,
        # computed exactly in integers; unit magnitude is 0 (lowest value 1).
        half_mag: int = (2 * 10**significant_figures - 1).bit_length() - 1
        self._highest_us = highest_us
        self._significant_figures = significant_figures
        self._half_mag = half_mag
        self._shift = half_mag + 1
        self._mask = (1 << (half_mag + 1)) - 1
        self._counts: list[int] = []
        self._total = 0
        self._overflow = 0

    # -- the hot path ------------------------------------------------------

    def record(self, value_us: int, count: int = 1) -> bool:
        """Add `count` occurrences of `value_us`; False (and `overflow` grows
        by `count`) if the value is negative or above `highest_us`."""
        if 0 <= value_us <= self._highest_us:
            # hdrh's bucket index, then its counts index (unit magnitude 0):
            # ((bucket + 1) << half_mag) + (value >> bucket) - (1 << half_mag).
            bucket = (value_us | self._mask).bit_length() - self._shift
            index = (bucket << self._half_mag) + (value_us >> bucket)
            try:
                self._counts[index] += count
            except IndexError:  # first value this large: grow, then count it
                self._grow(index)
                self._counts[index] += count
            self._total += count
            return True
        self._overflow += count
        return False

    def _grow(self, index: int) -> None:
        """Extend the counts list to the end of the sub-bucket half holding `index`.

        hdrh's array is a whole number of such halves, and `index` is within it
        (values above `highest_us` never get here), so the list never outgrows it."""
        length = ((index >> self._half_mag) + 1) << self._half_mag
        self._counts.extend(repeat(0, length - len(self._counts)))

    # -- parameters and totals ---------------------------------------------

    @property
    def highest_us(self) -> int:
        """The highest value `record()` accepts."""
        return self._highest_us

    @property
    def significant_figures(self) -> int:
        """Decimal digits of resolution kept across the whole range."""
        return self._significant_figures

    @property
    def count(self) -> int:
        """How many values were recorded (out-of-range ones excluded)."""
        return self._total

    @property
    def overflow(self) -> int:
        """How many values were refused as negative or above `highest_us`."""
        return self._overflow

    # -- report-time statistics (each walks the counts) --------------------

    @property
    def min(self) -> int:
        """Lowest value equivalent to the smallest recorded value; 0 if empty."""
        if not self._total:
            return 0
        counts = self._counts
        first = next(compress(range(len(counts)), counts))  # the first non-zero slot, in C
        return self._lowest_at(first)

    @property
    def max(self) -> int:
        """Highest value equivalent to the largest recorded value; 0 if empty."""
        if not self._total:
            return 0
        return self._highest_at(self._last_index())

    @property
    def mean(self) -> float:
        """Mean of the bucket midpoints, as hdrh's `get_mean_value`; 0.0 if empty.

        Computed from the counts alone, so it is identical after a round trip
        through `encode()` or a `merge()`."""
        if not self._total:
            return 0.0
        return float(self._midpoint_sum()) / self._total

    @property
    def stddev(self) -> float:
        """Standard deviation of the bucket midpoints, as hdrh's `get_stddev`
        (same float operations in the same order); 0.0 if empty."""
        if not self._total:
            return 0.0
        mean = self.mean
        squares = 0.0
        for low, size, count in self._slots():
            deviation = (low + (size >> 1)) * 1.0 - mean
            squares += (deviation * deviation) * count
        return math.sqrt(squares / self._total)

    def percentiles(self, ps: Sequence[float]) -> dict[float, int]:
        """The value at each percentile in `ps` (each within [0, 100]), in one
        cumulative walk over the counts.

        Semantics are hdrh's `get_value_at_percentile`: the target is
        `max(int(p * count / 100 + 0.5), 1)` values; the answer is the highest
        value equivalent to the slot where the running count reaches it (the
        lowest for p == 0). Every percentile of an empty histogram is 0.
        Raises ValueError for a percentile outside [0, 100] (or NaN)."""
        for p in ps:
            if not 0 <= p <= 100:
                raise ValueError(f"percentiles must be within [0, 100], got {p!r}")
        total = self._total
        if not total:
            return dict.fromkeys(ps, 0)
        cumulative = list(accumulate(self._counts))
        last = len(cumulative) - 1
        result: dict[float, int] = {}
        for p in ps:
            target = max(int(p * total / 100 + 0.5), 1)
            # min(): float rounding in `target` can never point past the end.
            index = min(bisect_left(cumulative, target), last)
            result[p] = self._highest_at(index) if p else self._lowest_at(index)
        return result

    # -- whole-histogram operations ----------------------------------------

    def merge(self, other: Histogram) -> None:
        """Add `other`'s counts and overflow into this histogram (exact, count
        for count). Raises ValueError unless both have the same parameters."""
        if (other._highest_us, other._significant_figures) != (
            self._highest_us,
            self._significant_figures,
        ):
            raise ValueError(
                "cannot merge histograms with different parameters: "
                f"highest_us={other._highest_us}, significant_figures="
                f"{other._significant_figures} into highest_us={self._highest_us}, "
                f"significant_figures={self._significant_figures}"
            )
        mine, theirs = self._counts, other._counts
        if len(mine) < len(theirs):
            mine.extend(repeat(0, len(theirs) - len(mine)))
        mine[: len(theirs)] = map(add, mine, theirs)
        self._total += other._total
        self._overflow += other._overflow

    def copy(self) -> Histogram:
        """An independent histogram with the same parameters, counts and overflow."""
        clone = Histogram(self._highest_us, self._significant_figures)
        clone._counts = self._counts.copy()
        clone._total = self._total
        clone._overflow = self._overflow
        return clone

    def clear(self) -> None:
        """Forget every count and the overflow, and release the counts' memory."""
        self._counts = []
        self._total = 0
        self._overflow = 0

    def __eq__(self, other: object) -> bool:
        """Same parameters, overflow and counts, slot for slot."""
        if not isinstance(other, Histogram):
            return NotImplemented
        short, long = sorted((self._counts, other._counts), key=len)
        return (
            (self._highest_us, self._significant_figures, self._total, self._overflow)
            == (other._highest_us, other._significant_figures, other._total, other._overflow)
            and short == long[: len(short)]
            and not any(long[len(short) :])
        )

    def __repr__(self) -> str:
        return (
            f"Histogram(highest_us={self._highest_us}, "
            f"significant_figures={self._significant_figures}, "
            f"count={self._total}, overflow={self._overflow})"
        )

    # -- serialization and transfer to hdrh --------------------------------

    def encode(self) -> str:
        """The standard compressed HDR encoding (V2, zlib, base64), byte for
        byte what `hdrh`'s `HdrHistogram.encode()` gives for the same values.
        `overflow` is not part of it."""
        encoded: bytes = self.to_hdr().encode()
        return encoded.decode("ascii")

    @classmethod
    def decode(cls, text: str | bytes) -> Histogram:
        """The histogram an HDR encoding describes (from `encode()`, hdrh or
        another HDR tool with lowest discernible value 1). Its `overflow` is 0.
        Raises ValueError if `text` is not a valid encoding."""
        try:
            hdr = HdrHistogram.decode(text)
        except _DECODE_ERRORS as exc:
            raise ValueError(f"not a compressed HDR histogram encoding: {exc!r}") from exc
        return cls.from_hdr(hdr)

    def to_hdr(self) -> HdrHistogram:
        """An `hdrh.histogram.HdrHistogram` with the same parameters and
        counts, its total, min and max set (one slice copy, no record_value)."""
        hdr = HdrHistogram(1, self._highest_us, self._significant_figures)
        if self._total:
            last = self._last_index()
            # A ctypes slice assignment copies in C, and raises rather than
            # overrun if the lengths ever disagreed.
            hdr.counts[: last + 1] = self._counts[: last + 1]
            hdr.total_count = self._total
            hdr.min_value = self.min
            hdr.max_value = self._highest_at(last)
        return hdr

    @classmethod
    def from_hdr(cls, hdr: HdrHistogram) -> Histogram:
        """A histogram with `hdr`'s parameters and counts (any hdrh word size).
        Raises ValueError if its lowest discernible value is not 1."""
        lowest = int(hdr.lowest_trackable_value)
        if lowest != 1:
            raise ValueError(
                f"only histograms of lowest discernible value 1 are supported, got {lowest}"
            )
        histogram = cls(int(hdr.highest_trackable_value), int(hdr.significant_figures))
        view = memoryview(hdr.counts)
        # Drop the trailing zero slots: strip zero bytes, then pad back to a
        # whole counter (which restores the stripped bytes of the last one).
        data = view.tobytes().rstrip(b"\0")
        data = data.ljust(-(-len(data) // view.itemsize) * view.itemsize, b"\0")
        counts = array.array(view.format[-1], data).tolist()
        histogram._counts = counts
        histogram._total = sum(counts)
        return histogram

    # -- index helpers (report time) ---------------------------------------

    def _slots(self) -> Iterator[tuple[int, int, int]]:
        """(lowest equivalent value, range size, count) of each non-zero slot."""
        half_mag = self._half_mag
        for index, count in enumerate(self._counts):
            if count:
                bucket = max((index >> half_mag) - 1, 0)
                yield (index - (bucket << half_mag)) << bucket, 1 << bucket, count

    def _midpoint_sum(self) -> int:
        """The exact integer sum of count x slot midpoint over every slot, one
        C-level pass per bucket (a live scrape reads it: the walk slot by
        slot in Python cost ~5 ms for a wide histogram, this ~0.2 ms).

        Bucket 0 holds indices [0, 2 x half) at unit 1; bucket b >= 1 holds
        [(b + 1) x half, (b + 2) x half) at unit 2**b, where a slot's lowest
        value is (index - b x half) << b and its midpoint adds 2**b >> 1."""
        half = 1 << self._half_mag
        counts = self._counts
        total = 0
        bucket, start = 0, 0
        while start < len(counts):
            end = min((bucket + 2) * half, len(counts))
            in_bucket = sum(counts[start:end])
            weighted = sum(map(mul, counts[start:end], range(start, end)))
            total += ((weighted - bucket * half * in_bucket) << bucket) + in_bucket * (
                (1 << bucket) >> 1
            )
            bucket, start = bucket + 1, end
        return total

    def _last_index(self) -> int:
        counts = self._counts
        return next(index for index in range(len(counts) - 1, -1, -1) if counts[index])

    def _lowest_at(self, index: int) -> int:
        """hdrh's `get_value_from_index`: the lowest value counted at `index`."""
        bucket = max((index >> self._half_mag) - 1, 0)
        return (index - (bucket << self._half_mag)) << bucket

    def _highest_at(self, index: int) -> int:
        """The highest value counted at `index`."""
        bucket = max((index >> self._half_mag) - 1, 0)
        return ((index - (bucket << self._half_mag) + 1) << bucket) - 1
