"""The head's read path: chunks trim themselves to a range, and ``select`` hands out one block.

``HeadChunk.range`` computes the bounds of regular chunks by index arithmetic instead of
searching; ``Head.select`` copies every series into one pair of arrays and hands out slices.
Both must give exactly what filtering the samples by time gives.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.model import Labels, Matcher
from stack.tsdb import Head
from stack.tsdb.chunks import HeadChunk

T0 = 1_700_000_000_000


def _expected(t: np.ndarray, v: np.ndarray, mint: int, maxt: int):
    keep = (t >= mint) & (t <= maxt)
    return t[keep], v[keep]


@settings(max_examples=150, deadline=None)
@given(regular=st.booleans(), n=st.integers(1, 120), interval=st.integers(1, 60_000),
       lo=st.integers(-200_000, 8_000_000), width=st.integers(-10, 8_000_000), seed=st.integers(0, 2**16))
def test_chunk_range_equals_filtering_by_time(regular, n, interval, lo, width, seed):
    rng = np.random.default_rng(seed)
    steps = np.full(n, interval) if regular else rng.integers(1, interval + 1, n)
    t = T0 + np.cumsum(steps).astype(np.int64)
    v = rng.normal(size=n)
    chunk = HeadChunk(t, v)
    mint, maxt = T0 + lo, T0 + lo + width
    got_t, got_v = chunk.range(mint, maxt)
    want_t, want_v = _expected(t, v, mint, maxt)
    assert got_t.dtype == np.int64
    assert np.array_equal(got_t, want_t)
    assert np.array_equal(got_v, want_v)


def test_chunk_range_handles_unbounded_ranges():
    t = T0 + 15_000 * np.arange(120, dtype=np.int64)
    got_t, got_v = HeadChunk(t, np.arange(120.0)).range(-(2**63), 2**63 - 1)
    assert np.array_equal(got_t, t) and np.array_equal(got_v, np.arange(120.0))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 300), interval=st.integers(1, 60_000), irregular_from=st.integers(0, 400),
       first=st.integers(-5, 305), last=st.integers(-5, 305), nudge=st.sampled_from([-1, 0, 1]),
       truncate=st.integers(-1, 300), seed=st.integers(0, 2**16))
def test_select_equals_filtering_by_time_in_closed_and_open_chunks(n, interval, irregular_from, first, last,
                                                                   nudge, truncate, seed):
    """The open chunk is read by arithmetic while its samples are evenly spaced (also after a
    truncation rewrote it), by searching once they are not."""
    rng = np.random.default_rng(seed)
    steps = np.full(n, interval)
    steps[irregular_from:] = rng.integers(1, interval + 1, max(0, n - irregular_from))
    t = T0 + np.cumsum(steps).astype(np.int64)
    v = rng.normal(size=n)
    head, labels = Head(), Labels({"__name__": "x"})
    app = head.appender()
    for tt, vv in zip(t.tolist(), v.tolist(), strict=True):
        app.append(labels, tt, vv)
    app.commit()
    if truncate >= 0:
        head.truncate(int(t[min(truncate, n - 1)]))
        keep = t >= t[min(truncate, n - 1)]
        t, v = t[keep], v[keep]
    # The range's ends fall on, just before or just after sample times (or beyond the data).
    mint = int(t[min(max(first, 0), len(t) - 1)]) + nudge - (interval if first < 0 else 0)
    maxt = int(t[min(max(last, 0), len(t) - 1)]) - nudge + (interval if last >= len(t) else 0)
    want_t, want_v = _expected(t, v, mint, maxt)
    got = head.select([Matcher("=", "__name__", "x")], mint, maxt)
    assert [s.t.tolist() for s in got] == ([want_t.tolist()] if len(want_t) else [])
    assert [s.v.tolist() for s in got] == ([want_v.tolist()] if len(want_v) else [])


def _head_with_gaps(n_series: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    head, data = Head(), {}
    for i in range(n_series):
        labels = Labels({"__name__": "x", "instance": f"h{(i * 7) % n_series}", "job": f"j{i % 3}"})
        n = int(rng.integers(1, 400))
        t = T0 + np.cumsum(rng.choice([15_000, 15_000, 15_000, 14_000, 90_000], n)).astype(np.int64)
        v = rng.normal(size=n)
        app = head.appender()
        for tt, vv in zip(t.tolist(), v.tolist(), strict=True):
            app.append(labels, tt, vv)
        app.commit()
        data[labels] = (t, v)
    return head, data


def test_select_returns_each_series_samples_in_range_sorted_by_labels():
    head, data = _head_with_gaps(40)
    for mint, maxt in [(T0, T0 + 10**9), (T0 + 1_000_000, T0 + 2_000_000), (T0 + 3_000_001, T0 + 3_000_001)]:
        got = head.select([Matcher("=", "__name__", "x")], mint, maxt)
        want = {ls: _expected(t, v, mint, maxt) for ls, (t, v) in data.items()}
        want = {ls: tv for ls, tv in want.items() if len(tv[0])}
        assert [s.labels for s in got] == sorted(want)
        for s in got:
            assert np.array_equal(s.t, want[s.labels][0]) and np.array_equal(s.v, want[s.labels][1])


def test_select_hands_out_slices_of_one_block_detached_from_the_head():
    head, _ = _head_with_gaps(10)
    got = head.select([Matcher("=", "job", "j1")], T0, T0 + 10**9)
    assert np.array_equal(got.joined_t, np.concatenate([s.t for s in got]))
    assert all(np.shares_memory(s.v, got.joined_v) for s in got)
    before = [s.v.copy() for s in got]
    app = head.appender()  # appending (and cutting chunks) must not change what was handed out
    for k in range(300):
        for s in got:
            app.append(s.labels, T0 + 10**9 + k * 15_000, -1.0)
    app.commit()
    assert all(np.array_equal(s.v, b) for s, b in zip(got, before, strict=True))


def test_select_of_nothing_is_empty():
    head, _ = _head_with_gaps(3)
    assert head.select([Matcher("=", "__name__", "nope")], T0, T0 + 10**9) == []
    assert head.select([Matcher("=", "__name__", "x")], T0 - 10, T0 - 1) == []
