"""Quantiles and fractions estimated from classic histograms (``_bucket`` series with ``le``).

Series are grouped by their labels without ``le``; per group and step the cumulative bucket
counts are sorted by upper bound, buckets with the same bound are merged, and counts are forced
monotonic (a decrease is ignored, differences within float noise are smoothed: upstream's
"monotonicity fix", reported as an info annotation). The quantile is then interpolated linearly
inside the bucket holding the rank, as upstream ``promql/quantile.go`` does.

Quantiles run over all groups and steps at once, one round of numpy calls per bucket bound.
Fractions (rarer) are plain Python over each (group, step)'s bucket list. The grouping itself is
done once per query.
"""

from __future__ import annotations

import math

import numpy as np

from stack.model import Labels
from stack.promql.query_errors import ExecutionError
from stack.promql.stepmatrix import StepVector, merge_same_labels

BUCKET_LABEL = "le"
SMALL_DELTA_TOLERANCE = 1e-12  # upstream quantile.go smallDeltaTolerance
MIN_NORMAL = 2.2250738585072014e-308  # smallest normal float64 (util/almost)
MAX_FLOAT = 1.7976931348623157e308
MONOTONICITY_INFO = ("input to histogram_quantile needed to be fixed for monotonicity (see "
                     "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) "
                     "for metric name {name}")


def _almost_equal(a: float, b: float, eps: float) -> bool:
    """Upstream util/almost.Equal."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff, s = abs(a - b), abs(a) + abs(b)
    if a == 0 or b == 0 or s < MIN_NORMAL:
        return diff < eps * MIN_NORMAL
    return diff / min(s, MAX_FLOAT) < eps


def _parse_le(s: str) -> float | None:
    if "_" in s or not s:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def _prepare(buckets: list[tuple[float, float]]):
    """Sort, merge equal bounds, force monotonic. Returns (buckets, forced_monotonic) or None."""
    buckets.sort(key=lambda b: b[0])
    if not buckets or not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return None
    merged: list[list[float]] = []
    for ub, c in buckets:
        if merged and merged[-1][0] == ub:
            merged[-1][1] += c
        else:
            merged.append([ub, c])
    forced = False
    prev = merged[0][1]
    for b in merged[1:]:
        cur = b[1]
        if cur == prev:
            continue
        if _almost_equal(prev, cur, SMALL_DELTA_TOLERANCE):
            b[1] = prev
            continue
        if cur < prev:
            b[1] = prev
            forced = True
            continue
        prev = cur
    return merged, forced


def bucket_fraction(lower: float, upper: float, buckets: list[tuple[float, float]]) -> float:
    prep = _prepare(buckets)
    if prep is None:
        return math.nan
    b, _ = prep
    count = b[-1][1]
    if count == 0 or math.isnan(lower) or math.isnan(upper):
        return math.nan
    if lower >= upper:
        return 0.0
    rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    for i, (ub, c) in enumerate(b):
        lb = -math.inf if i == 0 else b[i - 1][0]
        if i == 0 and ub > 0:
            lb = 0.0  # the first bucket is assumed to start at zero if its bound is positive

        def interp(v, lb=lb, ub=ub, c=c, rank=rank):
            if math.isinf(lb):  # no interpolation in a bucket of infinite width: all of it lies below v
                return c
            return rank + (c - rank) * (v - lb) / (ub - lb)

        if not lower_set and lb >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and lb >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and lb < lower < ub:
            lower_rank, lower_set = interp(lower), True
        if not upper_set and lb < upper < ub:
            upper_rank, upper_set = interp(upper), True
        if lower_set and upper_set:
            break
        rank = c
    if not lower_set or lower_rank > count:
        lower_rank = count
    if not upper_set or upper_rank > count:
        upper_rank = count
    return (upper_rank - lower_rank) / count


def _groups(ev, vec: StepVector):
    """Bucket series grouped by labels without ``le``: {key: [(upper_bound, row), ...]}."""
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for i, ls in enumerate(vec.labels):
        le = _parse_le(ls.get(BUCKET_LABEL))
        if le is None:
            ev.annotations.warn(f'bucket label "le" is missing or has a malformed value of '
                                f'"{ls.get(BUCKET_LABEL)}" for metric name "{ls.name}"')
            continue
        groups.setdefault(ls.without(BUCKET_LABEL), []).append((le, i))
    return groups


def _per_group(ev, vec: StepVector, fn):
    """Apply ``fn(step, buckets) -> value`` per group and step; returns (labels, vals, present)."""
    steps = vec.vals.shape[1]
    groups = _groups(ev, vec)
    labels, vals, present = [], np.full((len(groups), steps), np.nan), np.zeros((len(groups), steps), bool)
    for g, (key, members) in enumerate(groups.items()):
        labels.append(key)
        bounds = [ub for ub, _ in members]
        rows = np.array([r for _, r in members])
        m, v = vec.mask[rows], vec.vals[rows]
        for s in np.flatnonzero(m.any(axis=0)):
            buckets = [(bounds[j], float(v[j, s])) for j in range(len(rows)) if m[j, s]]
            vals[g, s] = fn(s, buckets, key)
            present[g, s] = True
    return labels, vals, present


def _almost_equal_arr(a: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """Element-wise :func:`_almost_equal` (upstream util/almost.Equal)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        diff, s = np.abs(a - b), np.abs(a) + np.abs(b)
        tiny = (a == 0) | (b == 0) | (s < MIN_NORMAL)
        rel = np.where(tiny, diff < eps * MIN_NORMAL, diff / np.minimum(s, MAX_FLOAT) < eps)
    return (a == b) | (np.isnan(a) & np.isnan(b)) | rel


def quantile_steps(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray, present: np.ndarray):
    """Upstream BucketQuantile for one histogram at every step at once.

    ``bounds`` [B] are the distinct upper bounds ascending, ``counts``/``present`` [B, S] the
    cumulative counts. Each step uses only the buckets present at it, as upstream's per-step list.
    Returns ``(quantile [S], forced_monotonic [S])``.
    """
    nb, steps = counts.shape
    c = counts.copy()
    # 1. force monotonicity, ignoring float noise (ensureMonotonicAndIgnoreSmallDeltas)
    prev, have, forced = np.full(steps, np.nan), np.zeros(steps, bool), np.zeros(steps, bool)
    for b in range(nb):
        p, cur = present[b], c[b]
        first = p & ~have
        prev, have = np.where(first, cur, prev), have | first
        rest = p & ~first & (cur != prev)
        noise = rest & _almost_equal_arr(prev, cur, SMALL_DELTA_TOLERANCE)
        dec = rest & ~noise & (cur < prev)
        c[b] = np.where(noise | dec, prev, cur)
        forced |= dec
        prev = np.where(rest & ~noise & ~dec, cur, prev)
    has_inf = present[-1] & np.isposinf(bounds[-1])
    observations = c[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rank = q * observations
        # 2. the first bucket (before +Inf) whose count reaches the rank, interpolated linearly
        res = np.full(steps, np.nan)
        found, prev_exists = np.zeros(steps, bool), np.zeros(steps, bool)
        prev_bound, prev_count = np.zeros(steps), np.zeros(steps)
        for b in range(nb - 1):
            p = present[b] & ~found
            hit = p & (c[b] >= rank)
            start = np.where(prev_exists, prev_bound, 0.0)
            below = np.where(prev_exists, prev_count, 0.0)
            interp = start + (bounds[b] - start) * ((rank - below) / (c[b] - below))
            val = np.where(~prev_exists & (bounds[b] <= 0), bounds[b], interp)
            res, found = np.where(hit, val, res), found | hit
            upd = p & ~hit
            prev_bound = np.where(upd, bounds[b], prev_bound)
            prev_count = np.where(upd, c[b], prev_count)
            prev_exists |= upd
        res = np.where(found, res, prev_bound)  # rank only reached in +Inf: the highest finite bound
    valid = has_inf & (present.sum(axis=0) >= 2) & (observations != 0)
    res = np.where(valid, res, np.nan)
    res = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, res))
    in_range = (q >= 0) & (q <= 1)
    return np.where(np.isnan(q), np.nan, res), forced & has_inf & in_range


def _quantile_vector(ev, vec: StepVector, q: np.ndarray):
    """Per group (labels without ``le``): the quantile at every step; (labels, vals, present).

    All groups go through :func:`quantile_steps` together, as columns ``(group, step)`` over the
    upper bounds of every group: a bound a group lacks is simply a bucket never present in its
    columns, which the per-step bucket lists already allow for.
    """
    steps = vec.vals.shape[1]
    groups = _groups(ev, vec)
    labels = list(groups)
    if not labels:
        return labels, np.zeros((0, steps)), np.zeros((0, steps), bool)
    members = [(ub, g, row) for g, group in enumerate(groups.values()) for ub, row in group]
    upper, group_of, rows = (list(x) for x in zip(*members, strict=True))
    bounds = np.array(sorted(set(upper)))
    at = (np.searchsorted(bounds, upper), np.array(group_of))
    counts = np.zeros((len(bounds), len(labels), steps))
    pres = np.zeros((len(bounds), len(labels), steps), bool)
    np.add.at(counts, at, np.where(vec.mask[rows], vec.vals[rows], 0.0))  # equal bounds ("1", "1.0") add up
    np.logical_or.at(pres, at, vec.mask[rows])
    columns = (len(bounds), len(labels) * steps)
    vals, forced = quantile_steps(np.tile(q, len(labels)), bounds, counts.reshape(columns),
                                  pres.reshape(columns))
    present = pres.any(axis=0)
    for g in np.flatnonzero((forced.reshape(len(labels), steps) & present).any(axis=1)):
        ev.annotations.info(MONOTONICITY_INFO.format(name=f'"{labels[g].name}"'))
    return labels, vals.reshape(len(labels), steps), present


def histogram_quantile(ev, call, ts):
    q = ev.eval(call.args[0], ts).vals
    vec = ev.eval(call.args[1], ts)
    ev.annotations.invalid_quantile(q)
    labels, vals, present = _quantile_vector(ev, vec, q)
    return StepVector(labels, vals, present, np.ones(len(labels), bool)).nonempty()


def histogram_quantiles(ev, call, ts):
    """``histogram_quantiles(v, "label", q1, q2, ...)``: one output series per quantile."""
    vec = ev.eval(call.args[0], ts)
    label = ev.eval(call.args[1], ts).val
    labels, vals, present = [], [], []
    for arg in call.args[2:]:
        q = ev.eval(arg, ts).vals
        ev.annotations.invalid_quantile(q)
        ls, v, p = _quantile_vector(ev, vec, q)
        for key in ls:
            if key.has(label):
                raise ExecutionError(f"label {label!r} already present: vector cannot contain metrics with "
                                     "the same labelset")
        labels += [key.merge({label: _quantile_label(float(q[0]))}) for key in ls]
        vals.append(v)
        present.append(p)
    steps = len(ts)
    if not labels:
        return StepVector.empty(steps)
    return merge_same_labels(StepVector(labels, np.concatenate(vals), np.concatenate(present),
                                        np.ones(len(labels), bool))).nonempty()


def _quantile_label(q: float) -> str:
    """The quantile as a label value: "0.5", "1.0", "NaN" (as upstream's histogram_quantiles)."""
    if math.isnan(q):
        return "NaN"
    if math.isinf(q):
        return "+Inf" if q > 0 else "-Inf"
    return repr(q)


def histogram_fraction(ev, call, ts):
    lower = ev.eval(call.args[0], ts).vals
    upper = ev.eval(call.args[1], ts).vals
    vec = ev.eval(call.args[2], ts)
    labels, vals, present = _per_group(
        ev, vec, lambda s, buckets, key: bucket_fraction(float(lower[s]), float(upper[s]), buckets))
    return StepVector(labels, vals, present, np.ones(len(labels), bool)).nonempty()
