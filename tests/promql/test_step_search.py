"""Finding every series' window bounds at once gives what a search per series gives.

``Flat.search`` counts samples per step (``bincount`` + running sum) when the query instants
ascend, and falls back to composite keys otherwise; window edges share one search. Rate over
many series runs in blocks. None of this may change a single result bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.model import Labels, Matcher
from stack.promql import Engine
from stack.promql.engine import _window_edges
from stack.promql.stepmatrix import Flat
from stack.tsdb import Head

T0 = 1_700_000_000_000


def _flat(seed: int, n_series: int) -> tuple[Flat, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    # timestamps on a 5 s grid, so that query instants often fall exactly on a sample
    ts = [T0 + 5_000 * np.cumsum(rng.integers(1, 8, int(rng.integers(0, 60)))).astype(np.int64)
          for _ in range(n_series)]
    return Flat(ts, [np.zeros(len(t)) for t in ts]), ts


def _per_series(ts: list[np.ndarray], q: np.ndarray, side: str) -> np.ndarray:
    out, offset = [], 0
    for t in ts:
        out.append(offset + np.searchsorted(t, q, side))
        offset += len(t)
    return np.array(out, np.int64).reshape(len(ts), len(q))


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**16), n_series=st.integers(1, 12), steps=st.integers(1, 40),
       side=st.sampled_from(["left", "right"]), ascending=st.booleans())
def test_search_equals_a_searchsorted_per_series(seed, n_series, steps, side, ascending):
    flat, ts = _flat(seed, n_series)
    rng = np.random.default_rng(seed + 1)
    q = T0 + 5_000 * rng.integers(-10, 300, steps).astype(np.int64) + rng.choice([0, 0, 1, -1], steps)
    if ascending:
        q.sort()
    assert np.array_equal(flat.search(q, side), _per_series(ts, q, side))


@pytest.mark.parametrize("steps,step,range_ms", [(61, 60_000, 300_000), (61, 60_000, 90_000), (1, 0, 300_000),
                                                 (2, 45_000, 60_000), (30, 15_000, 15_000),
                                                 (5, 15_000, 3_600_000)])
def test_window_edges_equal_two_searches(steps, step, range_ms):
    flat, ts = _flat(11, 9)
    wend = T0 + 200_000 + step * np.arange(steps, dtype=np.int64)
    lo, hi = _window_edges(flat, wend, range_ms)
    assert np.array_equal(lo, _per_series(ts, wend - range_ms, "right"))
    assert np.array_equal(hi, _per_series(ts, wend, "right"))


def test_window_edges_of_irregular_instants_equal_two_searches():
    flat, ts = _flat(5, 6)
    wend = T0 + np.array([0, 10_000, 15_000, 90_000, 91_000, 400_000], np.int64)
    lo, hi = _window_edges(flat, wend, 60_000)
    assert np.array_equal(lo, _per_series(ts, wend - 60_000, "right"))
    assert np.array_equal(hi, _per_series(ts, wend, "right"))


def test_selected_series_are_used_without_another_copy():
    head = Head()
    app = head.appender()
    for i in range(5):
        for k in range(200):
            app.append(Labels({"__name__": "x", "i": str(i)}), T0 + k * 15_000, float(k * i))
    app.commit()
    series = head.select([Matcher("=", "__name__", "x")], T0, T0 + 10**8)
    flat = Flat.of(series)
    assert flat.t is series.joined_t and flat.v is series.joined_v
    assert np.array_equal(flat.offsets, np.cumsum([0] + [len(s.t) for s in series]))


def test_rate_over_many_series_in_blocks_equals_rate_of_each_series_alone():
    """400 series x 61 steps is more than one block of windows; gaps leave some windows short."""
    head = Head()
    rng = np.random.default_rng(2)
    app = head.appender()
    for i in range(400):
        labels = Labels({"__name__": "x_total", "instance": f"h{i:03d}", "job": f"j{i % 4}"})
        t = T0 + 15_000 * np.arange(300) + i
        keep = rng.random(300) > (0.5 if i % 5 == 0 else 0.02)
        v = np.cumsum(rng.integers(0, 10, 300)).astype(float)
        v[150:] -= v[150] if i % 7 == 0 else 0  # some counter resets
        for tt, vv in zip(t[keep].tolist(), v[keep].tolist(), strict=True):
            app.append(labels, tt, vv)
    app.commit()
    engine = Engine(head)
    start, end, step = T0 + 300_000, T0 + 300_000 + 60 * 60_000, 60_000
    for fn in ("rate", "increase", "delta"):
        together = engine.range(f"{fn}(x_total[2m])", start, end, step)
        alone = {}
        for i in range(0, 400, 7):
            (s,) = engine.range(f'{fn}(x_total{{instance="h{i:03d}"}}[2m])', start, end, step).series
            alone[s.labels] = s
        checked = 0
        for s in together.series:
            if s.labels in alone:
                assert np.array_equal(s.t, alone[s.labels].t)
                assert np.array_equal(s.v.view(np.uint64), alone[s.labels].v.view(np.uint64))
                checked += 1
        assert checked == len(alone)
