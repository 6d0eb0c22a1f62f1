"""Chunk encodings give back exactly what went in, bit for bit, and are compact on regular data."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.model import STALE_NAN
from stack.tsdb.chunks import HeadChunk, decode_series, encode_series

T0 = 1_700_000_000_000


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def test_regular_timestamps_cost_no_bytes_per_sample_in_head_chunks():
    t = T0 + 5000 * np.arange(120, dtype=np.int64)
    chunk = HeadChunk(t, np.arange(120.0))
    assert chunk.nbytes == 120 * 8  # the values only
    assert np.array_equal(chunk.timestamps(), t)


def test_irregular_timestamps_round_trip_in_head_chunks():
    t = np.array([10, 15, 16, 40, 41_000_000_000], dtype=np.int64)
    assert np.array_equal(HeadChunk(t, np.zeros(5)).timestamps(), t)


def test_block_encoding_keeps_stale_markers_and_special_values():
    t = T0 + 5000 * np.arange(6, dtype=np.int64)
    v = np.array([1.5, np.inf, -np.inf, np.nan, STALE_NAN, -0.0])
    t2, v2 = decode_series(encode_series(t, v))
    assert np.array_equal(t2, t)
    assert same_bits(v2, v)


def test_counter_on_regular_5s_data_takes_under_4_bytes_per_sample():
    rng = np.random.default_rng(7)
    t = T0 + 5000 * np.arange(1440, dtype=np.int64)
    v = np.cumsum(rng.integers(0, 100, 1440)).astype(float)
    assert len(encode_series(t, v)) / 1440 < 4


@settings(max_examples=40, deadline=None)
@given(
    deltas=st.lists(st.integers(1, 10**9), min_size=0, max_size=100),
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=101, max_size=101),
)
def test_block_encoding_round_trips_any_series(deltas, values):
    t = T0 + np.concatenate(([0], np.cumsum(deltas))).astype(np.int64)
    v = np.array(values[: len(t)], dtype=np.float64)
    t2, v2 = decode_series(encode_series(t, v))
    assert np.array_equal(t2, t)
    assert same_bits(v2, v)
    assert np.array_equal(HeadChunk(t, v).timestamps(), t)


def test_decimal_gauge_on_regular_5s_data_takes_under_4_bytes_per_sample():
    rng = np.random.default_rng(7)
    t = T0 + 5000 * np.arange(1440, dtype=np.int64)
    v = np.round(20 + np.cumsum(rng.normal(0, 0.3, 1440)), 2)
    t2, v2 = decode_series(encode_series(t, v))
    assert same_bits(v2, v)
    assert len(encode_series(t, v)) / 1440 < 4


def test_negative_zero_and_inexact_decimals_survive_the_decimal_encoding():
    t = T0 + 5000 * np.arange(4, dtype=np.int64)
    for v in (np.array([1.0, -0.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.1 + 0.2, 1e-7]), np.array([1e300] * 4)):
        assert same_bits(decode_series(encode_series(t, v))[1], v)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=200), st.integers(0, 6))
def test_block_encoding_round_trips_decimals(ints, decimals):
    v = np.array(ints, dtype=np.float64) / 10.0**decimals
    t = T0 + 1000 * np.arange(len(v), dtype=np.int64)
    assert same_bits(decode_series(encode_series(t, v))[1], v)
