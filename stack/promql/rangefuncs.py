"""Functions over range vectors (rate family, ``*_over_time``, deriv, ...), for all windows at once.

Each function takes a :class:`~stack.promql.stepmatrix.Windows` (every series' window at every
step, as index spans into one flat sample array) and returns ``(values, present)`` arrays of
shape ``[series, steps]``. The arithmetic follows upstream ``promql/functions.go`` step by step
(extrapolation thresholds, counter-reset correction, Kahan-compensated sums) but runs on whole
arrays: sequential algorithms loop over the *position inside the window*, not over windows (but
linear regression over a few long windows goes window by window, see there).
"""

from __future__ import annotations

import math
from itertools import islice

import numpy as np

from stack.promql.stepmatrix import Windows, kahan_inc, quiet_fp, window_reduce

# Extrapolate to a range boundary only if the gap to it is within 110% of the average sample
# interval (upstream extrapolatedRate's extrapolationThreshold).
EXTRAPOLATION_THRESHOLD = 1.1
_PAD_CHUNK = 4_000_000  # elements per chunk when windows are materialised as a padded 2-D array
_BLOCK = 1 << 14  # windows per block of extrapolated_rate: its temporaries stay in the CPU cache


def extrapolated_rate(w: Windows, is_counter: bool, is_rate: bool):
    """rate / increase / delta: the change over the window, extrapolated towards its boundaries.

    Computed on the windows that have two or more samples, a cache-sized block at a time: the
    formula is some thirty element-wise steps, and on series x steps large arrays each would
    otherwise stream its temporaries through main memory.
    """
    n = w.hi - w.lo
    ok = n >= 2
    out = np.zeros(n.shape)
    if not ok.any():
        return out, ok
    corr = _reset_correction(w) if is_counter else None
    steps = n.shape[1]
    range_s = w.range_ms / 1000.0
    if ok.all():  # the common case: blocks of whole rows, the window ends broadcast along them
        rows = max(1, _BLOCK // steps)
        wend = w.wend[None, :]
        for a in range(0, n.shape[0], rows):
            b = a + rows
            out[a:b] = _extrapolate(w, w.lo[a:b], w.hi[a:b] - 1, n[a:b], wend,
                                    None if corr is None else corr[a:b], range_s, is_rate)
        return out, ok
    pos = np.flatnonzero(ok)
    lo, hi, cnt, out_f = w.lo.reshape(-1), w.hi.reshape(-1), n.reshape(-1), out.reshape(-1)
    corr_f = None if corr is None else corr.reshape(-1)
    for a in range(0, len(pos), _BLOCK):
        p = pos[a:a + _BLOCK]
        out_f[p] = _extrapolate(w, lo[p], hi[p] - 1, cnt[p], w.wend[p % steps],
                                None if corr_f is None else corr_f[p], range_s, is_rate)
    return out, ok


def _extrapolate(w: Windows, lo, last_idx, cnt, wend, corr, range_s: float, is_rate: bool):
    """upstream extrapolatedRate for the given windows (first index, last index, sample count)."""
    first, last = np.take(w.flat.v, lo), np.take(w.flat.v, last_idx)
    ft, lt = np.take(w.flat.t, lo), np.take(w.flat.t, last_idx)
    with quiet_fp():
        result = last - first
        if corr is not None:
            result += corr
        sampled = (lt - ft) / 1000.0
        to_start = (ft - (wend - w.range_ms)) / 1000.0
        to_end = (wend - lt) / 1000.0
        avg = sampled / (cnt - 1)
        threshold = avg * EXTRAPOLATION_THRESHOLD
        avg *= 0.5  # from here on: half the average interval, the fallback extrapolation
        np.copyto(to_start, avg, where=to_start >= threshold)
        if corr is not None:
            # A counter can't go below zero: don't extrapolate further back than its zero point.
            to_zero = sampled * (first / result)
            np.copyto(to_start, to_zero, where=(result > 0) & (first >= 0) & (to_zero < to_start))
        np.copyto(to_end, avg, where=to_end >= threshold)
        factor = sampled + to_start
        factor += to_end
        factor /= sampled
        if is_rate:
            factor /= range_s
        result *= factor
    return result


def _pair_flags(w: Windows, flag) -> np.ndarray:
    """``flag(v[k], v[k-1])`` for every sample k; False where k starts a series."""
    v = w.flat.v
    out = np.zeros(len(v), bool)
    if len(v) > 1:
        with quiet_fp():
            out[1:] = flag(v[1:], v[:-1])
        out[w.flat.offsets[:-1][w.flat.offsets[:-1] < len(v)]] = False
    return out


def _count_pairs(w: Windows, flags: np.ndarray) -> np.ndarray:
    """How many flagged samples each window has after its first one (prefix sums: exact counts)."""
    cs = np.zeros(len(flags) + 1, np.int64)
    np.cumsum(flags, out=cs[1:])
    return cs[w.hi] - cs[np.minimum(w.lo + 1, w.hi)]


def _reset_correction(w: Windows) -> np.ndarray:
    """Per window, the sum of the values just before each counter reset (upstream's correction).

    Only windows that contain a reset are summed (in sample order, like upstream's loop).
    """
    resets = _pair_flags(w, np.less)
    corr = np.zeros(w.lo.shape)
    if not resets.any():
        return corr
    has = _count_pairs(w, resets) > 0
    v = w.flat.v
    before = np.zeros(len(v))
    before[1:] = np.where(resets[1:], v[:-1], 0.0)
    corr[has] = window_reduce(np.add, before, np.minimum(w.lo + 1, w.hi)[has], w.hi[has])
    return corr


def instant_value(w: Windows, is_rate: bool):
    """irate / idelta: from the last two samples of the window."""
    lo, hi = w.lo, w.hi
    ok = (hi - lo) >= 2
    last, prev = w.gather(hi - 1), w.gather(hi - 2)
    dt = w.gather_t(hi - 1) - w.gather_t(hi - 2)
    ok &= dt != 0
    with quiet_fp():
        if is_rate:
            res = np.where(last < prev, last, last - prev) / (dt / 1000.0)
        else:
            res = last - prev
    return res, ok


def _fold(w: Windows):
    """Yield ``(k, active, value, t)`` for the k-th sample of every window (sequential algorithms)."""
    n = w.hi - w.lo
    maxlen = int(n.max()) if n.size else 0
    for k in range(maxlen):
        if k % 64 == 63:
            w.check()
        active = n > k
        idx = w.lo + k
        yield k, active, w.gather(idx), w.gather_t(idx)


def sum_over_time(w: Windows):
    s = np.zeros(w.lo.shape)
    c = np.zeros(w.lo.shape)
    with quiet_fp():
        for _, act, v, _t in _fold(w):
            ns, nc = kahan_inc(v, s, c)
            s, c = np.where(act, ns, s), np.where(act, nc, c)
        return s + c, w.count > 0


def avg_over_time(w: Windows):
    """Kahan-summed mean; switches to an incremental mean only if the sum would overflow."""
    shape = w.lo.shape
    s, c, mean = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    incremental = np.zeros(shape, bool)
    with quiet_fp():
        for k, act, v, _t in _fold(w):
            count = k + 1.0
            if k == 0:
                s = np.where(act, v, s)
                continue
            ns, nc = kahan_inc(v, s, c)
            overflow = act & ~incremental & np.isinf(ns)
            direct = act & ~incremental & ~overflow
            s, c = np.where(direct, ns, s), np.where(direct, nc, c)
            # entering incremental mode: mean so far, compensation scaled the same way
            mean = np.where(overflow, s / (count - 1), mean)
            c = np.where(overflow, c / (count - 1), c)
            incremental |= overflow
            inc = act & incremental
            q = (count - 1) / count
            nm, nc = kahan_inc(v / count, q * mean, q * c)
            mean, c = np.where(inc, nm, mean), np.where(inc, nc, c)
        n = np.maximum(w.count, 1)
        res = np.where(incremental, mean + c, s / n + c / n)
    return res, w.count > 0


def count_over_time(w: Windows):
    return w.count.astype(np.float64), w.count > 0


def present_over_time(w: Windows):
    return np.ones(w.lo.shape), w.count > 0


def last_over_time(w: Windows):
    return w.gather(w.hi - 1), w.count > 0


def first_over_time(w: Windows):
    return w.gather(w.lo), w.count > 0


def ts_of_last_over_time(w: Windows):
    return w.gather_t(w.hi - 1) / 1000.0, w.count > 0


def ts_of_first_over_time(w: Windows):
    return w.gather_t(w.lo) / 1000.0, w.count > 0


def max_over_time(w: Windows):
    return window_reduce(np.fmax, w.flat.v, w.lo, w.hi), w.count > 0


def min_over_time(w: Windows):
    return window_reduce(np.fmin, w.flat.v, w.lo, w.hi), w.count > 0


def _ts_of_extreme(w: Windows, better):
    """Timestamp of the min/max sample; ``better(v, cur)`` says when a sample replaces the current one."""
    shape = w.lo.shape
    cur, cur_t = np.full(shape, np.nan), np.zeros(shape)
    with quiet_fp():
        for k, act, v, t in _fold(w):
            take = act & ((k == 0) | better(v, cur) | np.isnan(cur))
            cur, cur_t = np.where(take, v, cur), np.where(take, t / 1000.0, cur_t)
    return cur_t, w.count > 0


def ts_of_max_over_time(w: Windows):
    return _ts_of_extreme(w, lambda v, cur: v >= cur)


def ts_of_min_over_time(w: Windows):
    return _ts_of_extreme(w, lambda v, cur: v <= cur)


def _variance(w: Windows):
    shape = w.lo.shape
    mean, cm, aux, ca = (np.zeros(shape) for _ in range(4))
    with quiet_fp():
        for k, act, v, _t in _fold(w):
            count = k + 1.0
            delta = v - (mean + cm)
            nm, ncm = kahan_inc(delta / count, mean, cm)
            mean, cm = np.where(act, nm, mean), np.where(act, ncm, cm)
            na, nca = kahan_inc(delta * (v - (mean + cm)), aux, ca)
            aux, ca = np.where(act, na, aux), np.where(act, nca, ca)
        return (aux + ca) / np.maximum(w.count, 1)


def stdvar_over_time(w: Windows):
    return _variance(w), w.count > 0


def stddev_over_time(w: Windows):
    with quiet_fp():
        return np.sqrt(_variance(w)), w.count > 0


def changes(w: Windows):
    changed = _pair_flags(w, lambda a, b: ~((a == b) | (np.isnan(a) & np.isnan(b))))
    return _count_pairs(w, changed).astype(np.float64), w.count > 0


def resets(w: Windows):
    return _count_pairs(w, _pair_flags(w, np.less)).astype(np.float64), w.count > 0


def linear_regression(w: Windows, intercept_t: np.ndarray):
    """Least-squares slope and intercept per window (upstream linearRegression, Kahan-summed).

    ``intercept_t`` is the time (ms, per window or broadcastable) the intercept is taken at.
    The sums are sequential, so they either step through all windows at once (one round of numpy
    calls per sample position) or, for a few long windows -- ``predict_linear(x[1h], ...)`` in a
    rule -- through each window's samples in plain Python, whichever is cheaper.
    """
    shape = w.lo.shape
    count = w.count
    if count.size and count.sum() * _PY_STEP_COST < count.max() * _NUMPY_STEP_COST:
        return _linear_regression_each(w, np.broadcast_to(intercept_t, shape))
    sx, cx, sy, cy, sxy, cxy, sx2, cx2 = (np.zeros(shape) for _ in range(8))
    init_y = w.gather(w.lo)
    const_y = np.ones(shape, bool)
    with quiet_fp():
        for k, act, v, t in _fold(w):
            if k > 0:
                const_y &= ~(act & (v != init_y))
            x = (t - intercept_t) / 1e3
            nsx, ncx = kahan_inc(x, sx, cx)
            nsy, ncy = kahan_inc(v, sy, cy)
            nsxy, ncxy = kahan_inc(x * v, sxy, cxy)
            nsx2, ncx2 = kahan_inc(x * x, sx2, cx2)
            sx, cx = np.where(act, nsx, sx), np.where(act, ncx, cx)
            sy, cy = np.where(act, nsy, sy), np.where(act, ncy, cy)
            sxy, cxy = np.where(act, nsxy, sxy), np.where(act, ncxy, cxy)
            sx2, cx2 = np.where(act, nsx2, sx2), np.where(act, ncx2, cx2)
        n = w.count.astype(np.float64)
        sx, sy, sxy, sx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
        cov = sxy - sx * sy / n
        var = sx2 - sx * sx / n
        slope = cov / var
        intercept = sy / n - slope * sx / n
        inf_y = np.isinf(init_y)
        slope = np.where(const_y, np.where(inf_y, np.nan, 0.0), slope)
        intercept = np.where(const_y, np.where(inf_y, np.nan, init_y), intercept)
    return slope, intercept


# Relative cost of one sample in the per-window Python loop and of one sample position in the
# all-windows numpy fold (measured: about 1.5 us and 40 us).
_PY_STEP_COST, _NUMPY_STEP_COST = 1.5, 40.0


def _linear_regression_each(w: Windows, intercept_t: np.ndarray):
    slope, intercept = np.full(w.lo.shape, np.nan), np.full(w.lo.shape, np.nan)
    t_all, v_all = w.flat.t, w.flat.v
    for pos, lo in np.ndenumerate(w.lo):
        hi = w.hi[pos]
        if hi > lo:
            slope[pos], intercept[pos] = _regress(t_all[lo:hi].tolist(), v_all[lo:hi].tolist(),
                                                  int(intercept_t[pos]))
    return slope, intercept


def _regress(t: list[int], v: list[float], intercept_t: int) -> tuple[float, float]:
    """One window's slope and intercept, sample by sample as upstream's linearRegression."""
    init_y = v[0]
    if all(y == init_y for y in islice(v, 1, None)):
        return (math.nan, math.nan) if math.isinf(init_y) else (0.0, init_y)
    sx = cx = sy = cy = sxy = cxy = sx2 = cx2 = 0.0
    for ti, y in zip(t, v, strict=True):
        x = (ti - intercept_t) / 1e3
        sx, cx = _kahan_inc(x, sx, cx)
        sy, cy = _kahan_inc(y, sy, cy)
        sxy, cxy = _kahan_inc(x * y, sxy, cxy)
        sx2, cx2 = _kahan_inc(x * x, sx2, cx2)
    n = float(len(t))
    sx, sy, sxy, sx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
    cov = sxy - sx * sy / n
    var = sx2 - sx * sx / n
    slope = _div(cov, var)
    return slope, sy / n - slope * sx / n


def _kahan_inc(inc: float, s: float, c: float) -> tuple[float, float]:
    """:func:`~stack.promql.stepmatrix.kahan_inc` for one pair of floats."""
    t = s + inc
    if math.isinf(t):
        return t, 0.0
    if abs(s) >= abs(inc):
        return t, c + ((s - t) + inc)
    return t, c + ((inc - t) + s)


def _div(a: float, b: float) -> float:
    """IEEE 754 division, as Go's: x/0 is +-Inf, 0/0 and NaN/0 are NaN."""
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def deriv(w: Windows):
    slope, _ = linear_regression(w, w.gather_t(w.lo))
    return slope, w.count >= 2


def predict_linear(w: Windows, ts: np.ndarray, duration_s: np.ndarray):
    slope, intercept = linear_regression(w, ts[None, :])
    with quiet_fp():
        return slope * duration_s[None, :] + intercept, w.count >= 2


def double_exponential_smoothing(w: Windows, sf: float, tf: float):
    """Holt's linear smoothing (upstream funcDoubleExponentialSmoothing)."""
    shape = w.lo.shape
    s0, s1, b = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    with quiet_fp():
        for k, act, v, _t in _fold(w):
            if k == 0:
                s1 = v.copy()
                continue
            if k == 1:
                b = np.where(act, v - s1, b)
                trend = b
            else:
                trend = tf * (s1 - s0) + (1 - tf) * b
            b = np.where(act, trend, b)
            x = sf * v
            y = (1 - sf) * (s1 + b)
            s0, s1 = np.where(act, s1, s0), np.where(act, x + y, s1)
    return s1, w.count >= 2


# --- order statistics over windows (sorted, padded 2-D arrays) -----------------------------------

def _padded(w: Windows):
    """Yield ``(rows, cols, sorted_values, counts)`` chunks: each non-empty window sorted ascending.

    NaN sorts first, as Go's ``sort.Float64s`` does.
    """
    n = w.count
    rows, cols = np.nonzero(n > 0)
    if len(rows) == 0:
        return
    maxlen = int(n.max())
    per = max(1, _PAD_CHUNK // maxlen)
    for a in range(0, len(rows), per):
        r, c = rows[a:a + per], cols[a:a + per]
        lo, cnt = w.lo[r, c], n[r, c]
        k = np.arange(maxlen)
        valid = k[None, :] < cnt[:, None]
        vals = w.gather(lo[:, None] + k[None, :])
        key = np.where(valid, np.where(np.isnan(vals), -np.inf, vals), np.inf)
        nanfirst = np.where(valid & np.isnan(vals), 0, 1)
        order = np.lexsort((key, nanfirst), axis=1) if maxlen > 1 else np.zeros((len(r), 1), np.int64)
        yield r, c, np.take_along_axis(vals, order, axis=1), cnt


def quantile_sorted(q: np.ndarray, sv: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Upstream ``quantile`` on rows of sorted values (``cnt`` valid entries each)."""
    n = cnt.astype(np.float64)
    with quiet_fp():
        rank = q * (n - 1)
        lower = np.maximum(0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
        li = np.clip(np.nan_to_num(lower), 0, sv.shape[1] - 1).astype(np.int64)
        ui = np.clip(np.nan_to_num(upper), 0, sv.shape[1] - 1).astype(np.int64)
        a = np.take_along_axis(sv, li[:, None], 1)[:, 0]
        b = np.take_along_axis(sv, ui[:, None], 1)[:, 0]
        res = a * (1 - weight) + b * weight
    res = np.where(np.isnan(q), np.nan, res)
    res = np.where(q < 0, -np.inf, res)
    return np.where(q > 1, np.inf, res)


def quantile_over_time(w: Windows, q: np.ndarray):
    out = np.full(w.lo.shape, np.nan)
    for r, c, sv, cnt in _padded(w):
        out[r, c] = quantile_sorted(q[c], sv, cnt)
    return out, w.count > 0


def mad_over_time(w: Windows):
    """Median absolute deviation from the median."""
    out = np.full(w.lo.shape, np.nan)
    for r, c, sv, cnt in _padded(w):
        half = np.full(len(r), 0.5)
        med = quantile_sorted(half, sv, cnt)
        dev = np.abs(sv - med[:, None])
        k = np.arange(sv.shape[1])
        valid = k[None, :] < cnt[:, None]
        key = np.where(valid, np.where(np.isnan(dev), -np.inf, dev), np.inf)
        nanfirst = np.where(valid & np.isnan(dev), 0, 1)
        order = np.lexsort((key, nanfirst), axis=1)
        mad = quantile_sorted(half, np.take_along_axis(dev, order, 1), cnt)
        has_nan = (np.isnan(sv) & valid).any(axis=1)  # a NaN sample makes the result NaN
        out[r, c] = np.where(has_nan, np.nan, mad)
    return out, w.count > 0


# name -> implementation taking only the windows; True when the function keeps the metric name
SIMPLE = {
    "rate": (lambda w: extrapolated_rate(w, True, True), False),
    "increase": (lambda w: extrapolated_rate(w, True, False), False),
    "delta": (lambda w: extrapolated_rate(w, False, False), False),
    "irate": (lambda w: instant_value(w, True), False),
    "idelta": (lambda w: instant_value(w, False), False),
    "sum_over_time": (sum_over_time, False),
    "avg_over_time": (avg_over_time, False),
    "count_over_time": (count_over_time, False),
    "present_over_time": (present_over_time, False),
    "min_over_time": (min_over_time, False),
    "max_over_time": (max_over_time, False),
    "stddev_over_time": (stddev_over_time, False),
    "stdvar_over_time": (stdvar_over_time, False),
    "mad_over_time": (mad_over_time, False),
    "last_over_time": (last_over_time, True),
    "first_over_time": (first_over_time, True),
    "ts_of_last_over_time": (ts_of_last_over_time, False),
    "ts_of_first_over_time": (ts_of_first_over_time, False),
    "ts_of_max_over_time": (ts_of_max_over_time, False),
    "ts_of_min_over_time": (ts_of_min_over_time, False),
    "changes": (changes, False),
    "resets": (resets, False),
    "deriv": (deriv, False),
}
