"""Histogram: the standard HDR encoding and transfers to and from hdrh."""

from __future__ import annotations

import base64
import math
import random
import struct
import zlib

import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.metrics._histogram import Histogram

HOUR_US = 3_600_000_000


def record_all(values: list[int], hist: Histogram | None = None) -> Histogram:
    hist = Histogram() if hist is None else hist
    for value in values:
        hist.record(value)
    return hist


def hdrh_of(values: list[int], word_size: int = 8) -> HdrHistogram:
    ref = HdrHistogram(1, HOUR_US, 3, word_size=word_size)
    for value in values:
        ref.record_value(value)
    return ref


def latencies_us(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [min(int(rng.lognormvariate(math.log(200_000), 1.5)), HOUR_US) for _ in range(n)]


values_lists = st.lists(st.integers(0, HOUR_US), max_size=100)


def test_encode_is_byte_identical_to_hdrh() -> None:
    """encode() is exactly the base64 text hdrh's encode() gives for the same values."""
    values = latencies_us(20_000, seed=3)
    text = record_all(values).encode()
    assert isinstance(text, str)
    assert text == hdrh_of(values).encode().decode("ascii")


@settings(deadline=None)
@given(values_lists)
def test_round_trip_preserves_every_count_min_and_max(values: list[int]) -> None:
    """decode(encode(h)) equals h: every count, total, min, max, mean, percentile."""
    hist = record_all(values)
    back = Histogram.decode(hist.encode())
    assert back == hist
    assert (back.count, back.min, back.max, back.mean) == (
        hist.count,
        hist.min,
        hist.max,
        hist.mean,
    )
    assert back.percentiles([0.0, 50.0, 99.9, 100.0]) == hist.percentiles([0.0, 50.0, 99.9, 100.0])


def test_overflow_is_not_encoded() -> None:
    """The encoding carries counts only: a decoded histogram starts with overflow 0."""
    hist = record_all([10, -1, HOUR_US + 1])
    back = Histogram.decode(hist.encode())
    assert (back.count, back.overflow) == (1, 0)


def test_empty_histogram_round_trips() -> None:
    """An empty histogram encodes as hdrh does and decodes to an empty one."""
    text = Histogram().encode()
    assert text == HdrHistogram(1, HOUR_US, 3).encode().decode("ascii")
    assert Histogram.decode(text) == Histogram()


def test_decode_reads_an_encoding_made_by_hdrh() -> None:
    """An hdrh encoding, as str or bytes, decodes to the histogram of the same values."""
    values = latencies_us(5_000, seed=4)
    encoded = hdrh_of(values).encode()
    expected = record_all(values)
    assert Histogram.decode(encoded) == expected
    assert Histogram.decode(encoded.decode("ascii")) == expected


def test_decode_keeps_the_encoded_parameters() -> None:
    """An encoding of other parameters decodes to a histogram of those parameters."""
    ref = HdrHistogram(1, 60_000_000, 2)
    ref.record_value(1234)
    hist = Histogram.decode(ref.encode())
    assert (hist.highest_us, hist.significant_figures, hist.count) == (60_000_000, 2, 1)
    assert hist.min == ref.get_min_value()
    assert hist.max == ref.get_max_value()


@settings(deadline=None, max_examples=30)
@given(st.lists(values_lists, min_size=1, max_size=6))
def test_merge_of_decoded_shards_equals_the_whole(shards: list[list[int]]) -> None:
    """Shards recorded apart, encoded, decoded and merged equal one histogram of all values."""
    merged = Histogram()
    for shard in shards:
        merged.merge(Histogram.decode(record_all(shard).encode()))
    everything = [value for shard in shards for value in shard]
    whole = record_all(everything)
    assert merged == whole
    assert merged.mean == hdrh_of(everything).get_mean_value()


def test_merged_shards_agree_with_hdrh_decode_and_add() -> None:
    """Our merge of shards and hdrh's decode_and_add of the same encodings agree exactly."""
    shards = [latencies_us(10_000, seed) for seed in range(4)]
    ours, ref = Histogram(), HdrHistogram(1, HOUR_US, 3)
    for shard in shards:
        text = record_all(shard).encode()
        ours.merge(Histogram.decode(text))
        ref.decode_and_add(text)
    assert bytes(ours.to_hdr().counts) == bytes(ref.counts)
    assert (ours.count, ours.min, ours.max) == (
        ref.get_total_count(),
        ref.get_min_value(),
        ref.get_max_value(),
    )
    assert ours.mean == ref.get_mean_value()
    assert ours.stddev == ref.get_stddev()
    ps = [0.0, 50.0, 90.0, 99.0, 99.9, 100.0]
    assert ours.percentiles(ps) == {p: ref.get_value_at_percentile(p) for p in ps}


def test_to_hdr_sets_hdrh_tracking_values() -> None:
    """to_hdr() gives an hdrh histogram whose total, min, max and mean hdrh computes alike."""
    values = latencies_us(2_000, seed=5)
    hdr, ref = record_all(values).to_hdr(), hdrh_of(values)
    assert (hdr.get_total_count(), hdr.get_min_value(), hdr.get_max_value()) == (
        ref.get_total_count(),
        ref.get_min_value(),
        ref.get_max_value(),
    )
    assert hdr.get_mean_value() == ref.get_mean_value()
    ref.add(hdr)
    assert ref.get_total_count() == 4_000


def test_to_hdr_of_an_empty_histogram_is_empty() -> None:
    """to_hdr() of an empty histogram is a pristine hdrh histogram."""
    hdr = Histogram(60_000_000, 2).to_hdr()
    assert (hdr.highest_trackable_value, hdr.significant_figures) == (60_000_000, 2)
    assert (hdr.get_total_count(), hdr.get_max_value(), any(hdr.counts)) == (0, 0, False)


@pytest.mark.parametrize("word_size", [2, 4, 8])
def test_from_hdr_reads_every_counter_width(word_size: int) -> None:
    """from_hdr() copies the counts of hdrh histograms with 2-, 4- or 8-byte counters."""
    values = [0, 1, 255, 256, 65_000, 2_000_000, 2_000_000, HOUR_US]
    hist = Histogram.from_hdr(hdrh_of(values, word_size))
    assert hist == record_all(values)


def test_from_hdr_rejects_a_lowest_value_other_than_one() -> None:
    """Only lowest discernible value 1 (µs resolution) is supported."""
    with pytest.raises(ValueError, match="lowest discernible value 1"):
        Histogram.from_hdr(HdrHistogram(1000, HOUR_US, 3))


def _reframed(payload: bytes) -> str:
    """A well-framed encoding (right cookie and length) around a zlib payload."""
    compressed = zlib.compress(payload)
    return base64.b64encode(struct.pack(">II", 0x1C849314, len(compressed)) + compressed).decode()


VALID_PAYLOAD = zlib.decompress(base64.b64decode(record_all([1, 2000, 70_000]).encode())[8:])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64!",
        base64.b64encode(b"\x1c\x84\x93\x14\x00\x00\x00\x05hello").decode(),
        base64.b64encode(b"garbage-that-is-long-enough").decode(),
        _reframed(b"short"),
        _reframed(b"\x00" * 4 + VALID_PAYLOAD[4:]),
        _reframed(VALID_PAYLOAD[:24] + struct.pack(">Q", 2) + VALID_PAYLOAD[32:]),
        _reframed(VALID_PAYLOAD[:16] + struct.pack(">Q", 0) + VALID_PAYLOAD[24:]),
    ],
    ids=[
        "empty",
        "not-base64",
        "bad-zlib",
        "bad-cookie",
        "short-payload",
        "bad-inner-cookie",
        "counts-overrun",
        "lowest-zero",
    ],
)
def test_decode_rejects_malformed_input(text: str) -> None:
    """Anything that is not an HDR encoding raises ValueError naming the problem."""
    with pytest.raises(ValueError, match="not a compressed HDR histogram encoding"):
        Histogram.decode(text)
