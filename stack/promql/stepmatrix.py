"""The engine's working values: every node evaluates to its value at *all* steps at once.

Upstream's evaluator walks the steps of a range query one at a time and re-enters each node per
step. In Python that would run the interpreter once per (series, step) pair, so instead every
node is evaluated once for the whole step grid ``ts`` (one step for an instant query):

* :class:`StepVector` — an instant vector at every step: the rows' label sets, a 2-D float array
  ``vals[series, step]`` and a boolean ``mask`` telling where a row has a sample (a NaN value is a
  real value in PromQL, so absence cannot be encoded as NaN).
* :class:`StepScalar` — one float per step.
* :class:`Windows` — a range vector at every step: the selected samples of all series flattened
  into one array, plus per (series, step) the index span ``[lo, hi)`` of that step's window. Range
  functions (rate, *_over_time, ...) compute from these spans with numpy over all windows at once.

Delayed ``__name__`` removal (Prometheus 3): functions and arithmetic do not strip the metric name
right away; they set the row's ``drop`` flag and the name is removed when the query finishes, so
``label_replace(rate(x[5m]), "__name__", ...)`` can still read (and keep) it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stack.model import STALE_NAN_BITS, Labels
from stack.promql.query_errors import ExecutionError

DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"


@dataclass
class StepScalar:
    vals: np.ndarray  # [S] float64


@dataclass
class StepString:
    val: str


@dataclass
class StepVector:
    labels: list[Labels]
    vals: np.ndarray  # [N, S] float64
    mask: np.ndarray  # [N, S] bool: the row has a sample at this step
    drop: np.ndarray  # [N] bool: drop __name__ when the query finishes
    sample_t: np.ndarray | None = None  # [N, S] int64 sample timestamps, only straight from a selector

    @classmethod
    def empty(cls, steps: int) -> StepVector:
        return cls([], np.zeros((0, steps)), np.zeros((0, steps), bool), np.zeros(0, bool))

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows) -> StepVector:
        """The sub-vector of the given rows (an index array or boolean row mask)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        st = None if self.sample_t is None else self.sample_t[rows]
        labels = [self.labels[i] for i in rows]
        return StepVector(labels, self.vals[rows], self.mask[rows], self.drop[rows], st)

    def nonempty(self) -> StepVector:
        """Without rows that have no sample at any step."""
        keep = self.mask.any(axis=1)
        return self if keep.all() else self.take(keep)


def quiet_fp():
    """PromQL arithmetic follows IEEE 754 (x/0 is Inf, 0/0 NaN): no numpy warnings for it."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def valid_label_name(name: str) -> bool:
    """Prometheus 3 accepts any non-empty UTF-8 label name."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes carried as surrogates
        return False
    return name != ""


def merge_same_labels(vec: StepVector) -> StepVector:
    """Rows with equal label sets become one series; two of them at the same step is an error.

    Upstream builds a range result keyed by label set, so series that meet only after a label
    change (or after delayed name removal) join up when their steps don't overlap.
    """
    index: dict[Labels, list[int]] = {}
    for i, ls in enumerate(vec.labels):
        index.setdefault(ls, []).append(i)
    if len(index) == len(vec.labels):
        return vec
    keep, vals, mask = [], vec.vals.copy(), vec.mask.copy()
    for rows in index.values():
        first = rows[0]
        if len(rows) > 1:
            if (vec.mask[rows].sum(axis=0) > 1).any():
                raise ExecutionError(DUPLICATE_LABELSET)
            for r in rows[1:]:
                vals[first] = np.where(vec.mask[r], vec.vals[r], vals[first])
                mask[first] |= vec.mask[r]
        keep.append(first)
    keep_arr = np.array(keep, np.int64)
    return StepVector([vec.labels[i] for i in keep], vals[keep_arr], mask[keep_arr], vec.drop[keep_arr])


def is_stale(v: np.ndarray) -> np.ndarray:
    """Element-wise: is this the stale marker (compared by bits, not as NaN)?"""
    return v.view(np.uint64) == np.uint64(STALE_NAN_BITS)


class Flat:
    """Samples of many series in one array, with a way to search each series' part at once.

    ``t``/``v`` hold the series back to back, ``offsets[i]:offsets[i+1]`` being series i. A per
    series ``searchsorted`` over all steps is done for all series at once, one of two ways:

    * by counting (the usual case, query instants ascending): each sample finds the first step it
      is visible at with a ``searchsorted`` into the few hundred step times, a ``bincount`` of
      (series, step) pairs and a running sum along the steps then give every series' count of
      samples up to each step. That is linear in samples plus cells, and cache-friendly;
    * otherwise with one ``np.searchsorted`` over composite keys ``(t - base) + i * K`` with ``K``
      larger than the time span, so series never interleave.
    """

    def __init__(self, ts: list[np.ndarray], vs: list[np.ndarray]):
        n = len(ts)
        lens = np.fromiter((len(x) for x in ts), np.int64, n)
        self.offsets = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=self.offsets[1:])
        self.t = np.concatenate(ts).astype(np.int64, copy=False) if n else np.zeros(0, np.int64)
        self.v = np.concatenate(vs).astype(np.float64, copy=False) if n else np.zeros(0)
        self.n = n
        self._keys = None
        self._sid = None

    @classmethod
    def of(cls, series: list) -> Flat:
        """The selected series (``SeriesData``) back to back.

        ``Head.select`` already returns its series back to back in one pair of arrays
        (``joined_t``/``joined_v``, with ``offsets``), which are then used as they are.
        """
        joined_t = getattr(series, "joined_t", None)
        if joined_t is None:
            return cls([s.t for s in series], [s.v for s in series])
        flat = cls([], [])
        flat.n = len(series)
        flat.offsets = series.offsets
        flat.t, flat.v = joined_t, series.joined_v
        return flat

    def without_stale(self) -> Flat:
        """The same series without stale markers (range selectors never return them)."""
        stale = is_stale(self.v)
        if stale.any():
            keep = ~stale
            kept_before = np.zeros(len(keep) + 1, np.int64)
            np.cumsum(keep, out=kept_before[1:])
            self.offsets = kept_before[self.offsets]
            self.t, self.v = self.t[keep], self.v[keep]
            self._keys = self._sid = None
        return self

    def _key_space(self):
        if self._keys is None:
            if len(self.t):
                base, span = int(self.t.min()), int(self.t.max() - self.t.min()) + 1
            else:
                base, span = 0, 1
            k = span + 2
            if k * (self.n + 1) >= 2**62:  # pragma: no cover - absurd spans: search series by series
                self._keys = (base, span, k, None)
            else:
                sid = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.offsets))
                self._keys = (base, span, k, (self.t - base) + sid * k)
        return self._keys

    def series_ids(self) -> np.ndarray:
        """The series index of every sample."""
        if self._sid is None:
            self._sid = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.offsets))
        return self._sid

    def search(self, q: np.ndarray, side: str) -> np.ndarray:
        """``[N, S]`` global indices: per series, ``searchsorted(series_t, q, side)`` + its offset."""
        q = np.asarray(q, np.int64)
        if self.n == 0:
            return np.zeros((0,) + q.shape[-1:], np.int64)
        if q.ndim == 1 and self._counting_pays(len(q)) and (len(q) < 2 or (q[1:] >= q[:-1]).all()):
            return self._search_by_counting(q, side)
        base, span, k, keys = self._key_space()
        if keys is None:  # pragma: no cover
            out = np.empty((self.n, q.shape[-1]), np.int64)
            for i in range(self.n):
                a, b = self.offsets[i], self.offsets[i + 1]
                out[i] = a + np.searchsorted(self.t[a:b], q, side)
            return out
        rel = np.clip(q - base, -1, span)
        qk = rel + (np.arange(self.n, dtype=np.int64) * k)[:, None]
        return np.searchsorted(keys, qk, side)

    def _counting_pays(self, steps: int) -> bool:
        """Counting touches every sample once; composite keys cost a binary search per cell. When
        a few steps look into long series (``max_over_time(x[30d])``), the searches are cheaper."""
        return len(self.t) <= 16 * self.n * steps

    def _search_by_counting(self, q: np.ndarray, side: str) -> np.ndarray:
        steps = len(q)
        # The first step at which each sample counts: for "right" (t <= q) the first q >= t,
        # for "left" (t < q) the first q > t; ``steps`` means never.
        first = np.searchsorted(q, self.t, "left" if side == "right" else "right")
        first += self.series_ids() * (steps + 1)
        counts = np.bincount(first, minlength=self.n * (steps + 1)).reshape(self.n, steps + 1)
        out = np.cumsum(counts[:, :steps], axis=1)
        out += self.offsets[:-1, None]
        return out


def _no_check() -> None:
    pass


@dataclass
class Windows:
    """A range vector at every step: window ``(wend - range, wend]`` of each series per step."""

    labels: list[Labels]
    drop: np.ndarray  # [N] bool
    flat: Flat
    lo: np.ndarray  # [N, S] first index in the window
    hi: np.ndarray  # [N, S] one past the last index
    wend: np.ndarray  # [S] int64: window end (evaluation time minus offset, or the @ time)
    range_ms: int
    check: Callable[[], None] = _no_check  # raises when the query ran out of time or was cancelled

    @property
    def count(self) -> np.ndarray:
        return self.hi - self.lo

    def gather(self, idx: np.ndarray) -> np.ndarray:
        """Values at global indices (clipped; callers mask invalid windows)."""
        if len(self.flat.v) == 0:
            return np.zeros(idx.shape)
        return np.take(self.flat.v, idx, mode="clip")

    def gather_t(self, idx: np.ndarray) -> np.ndarray:
        if len(self.flat.t) == 0:
            return np.zeros(idx.shape, np.int64)
        return np.take(self.flat.t, idx, mode="clip")


def window_reduce(ufunc, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, empty: float = 0.0) -> np.ndarray:
    """``ufunc.reduce(x[lo:hi])`` for every window at once, in sample order (as upstream's loops)."""
    shape = lo.shape
    if lo.size == 0:
        return np.zeros(shape)
    xx = np.append(x, 0.0)
    idx = np.empty(lo.size * 2, np.int64)
    idx[0::2] = np.minimum(lo.ravel(), len(x))
    idx[1::2] = np.minimum(hi.ravel(), len(x))
    r = ufunc.reduceat(xx, idx)[0::2].reshape(shape)
    return np.where(hi > lo, r, empty)


def kahan_inc(inc, s, c):
    """Neumaier-compensated addition, element-wise (upstream promql's kahanSumInc)."""
    t = s + inc
    with np.errstate(invalid="ignore", over="ignore"):
        big = np.abs(s) >= np.abs(inc)
        c2 = c + np.where(big, (s - t) + inc, (inc - t) + s)
    return t, np.where(np.isinf(t), 0.0, c2)
