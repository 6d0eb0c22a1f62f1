"""Series selections as pandas DataFrames, built straight from the numpy arrays.

Notebooks analyse what the TSDB holds with pandas. Two shapes, as in the data-analysis world:

* **long** (tidy): one row per sample — ``timestamp`` (tz-aware UTC), ``value``, then one
  categorical column per label name (absent labels are missing values). Good for ``groupby``.
* **wide**: index ``timestamp``, one column per series (named in Prometheus notation), NaN where a
  series has no sample at that time. Good for plotting.

Stale markers are not samples, so they are dropped in both shapes. Everything is assembled with
``np.concatenate``/``np.repeat``/fancy indexing: the cost does not depend on Python loops over
samples, only (lightly) on the number of series. Works for anything with ``labels``, ``t``
(int64 ms) and ``v`` (float64): the TSDB's ``SeriesData`` and PromQL's matrix series alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stack.model import STALE_NAN_BITS, Matcher

TIMESTAMP = "timestamp"
VALUE = "value"


def long_frame(series: Sequence) -> pd.DataFrame:
    """One row per sample: ``timestamp``, ``value`` and a column per label name."""
    t, v, counts = _samples(series)
    frame = {TIMESTAMP: _to_datetime(t), VALUE: v}
    names = sorted({name for s in series for name, _ in s.labels})
    for name in names:
        per_series = [s.labels.get(name) for s in series]
        categories = sorted(set(per_series) - {""})
        code_of = {c: i for i, c in enumerate(categories)}
        codes = np.array([code_of.get(x, -1) for x in per_series], dtype=np.int32)
        frame[name] = pd.Categorical.from_codes(np.repeat(codes, counts), categories=categories)
    return pd.DataFrame(frame, columns=[TIMESTAMP, VALUE, *names])


def wide_frame(series: Sequence) -> pd.DataFrame:
    """Index ``timestamp``; one float column per series, named like ``up{job="api"}``."""
    t, v, counts = _samples(series)
    stamps, row = np.unique(t, return_inverse=True)
    table = np.full((len(stamps), len(series)), np.nan)
    table[row, np.repeat(np.arange(len(series)), counts)] = v
    index = pd.DatetimeIndex(_to_datetime(stamps), name=TIMESTAMP)
    return pd.DataFrame(table, index=index, columns=[str(s.labels) for s in series])


def select_frame(storage, matchers: Sequence[Matcher], mint: int, maxt: int,
                 shape: str = "long") -> pd.DataFrame:
    """``storage.select(...)`` (a Head or DB) as a DataFrame of the given ``shape`` (long|wide)."""
    if shape not in ("long", "wide"):
        raise ValueError(f"unknown frame shape {shape!r}: expected 'long' or 'wide'")
    series = storage.select(matchers, mint, maxt)
    return long_frame(series) if shape == "long" else wide_frame(series)


def _samples(series: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All samples concatenated without stale markers, and how many each series contributed."""
    if not series:
        return np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64)
    t = np.concatenate([np.asarray(s.t, dtype=np.int64) for s in series])
    v = np.concatenate([np.asarray(s.v, dtype=np.float64) for s in series])
    owner = np.repeat(np.arange(len(series)), [len(s.t) for s in series])
    live = v.view(np.uint64) != np.uint64(STALE_NAN_BITS)
    t, v, owner = t[live], v[live], owner[live]
    return t, v, np.bincount(owner, minlength=len(series))


def _to_datetime(ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(ms, unit="ms", utc=True).as_unit("ns")
