"""Aggregation operators (sum, avg, topk, quantile, count_values, limitk, ...), over all steps at once.

Rows are grouped once by their ``by``/``without`` key; then each operator reduces along the row
axis of the ``[series, steps]`` arrays. Operators whose upstream definition is a sequential loop
(Kahan-compensated ``sum``/``avg``, Welford's ``stddev``) loop over the k-th *member of every
group*, never over steps. ``sum``/``avg`` first try plain numpy summation and keep it only when
its error bound is negligible; cancelling or overflowing inputs (``1e100 + 1 - 1e100``) take the
Kahan loop, so they give upstream's answer.
"""

from __future__ import annotations

import math

import numpy as np

from stack.model import METRIC_NAME, Labels
from stack.promql import ast
from stack.promql.errors import go_quote
from stack.promql.labelhash import MAX_UINT64, labels_hash
from stack.promql.query_errors import BadDataError, ExecutionError, format_g
from stack.promql.rangefuncs import quantile_sorted
from stack.promql.stepmatrix import (
    StepScalar,
    StepString,
    StepVector,
    kahan_inc,
    merge_same_labels,
    quiet_fp,
    valid_label_name,
)

_MAX_INT64 = 2**63 - 1


def eval_aggregate(ev, node: ast.AggregateExpr, ts: np.ndarray):
    op = node.op
    param = ev.eval(node.param, ts) if node.param is not None else None
    vec = ev.eval(node.expr, ts)
    if node.without:
        drop = (*node.grouping, METRIC_NAME)
        groups = Grouping(vec, lambda ls: ls.without(*drop), check=ev.check_deadline)
    else:
        keep = tuple(node.grouping)
        # the values of the "by" labels identify the group; its label set is built once per group
        groups = Grouping(vec, lambda ls: ls.key(keep), lambda ls: ls.only(*keep), ev.check_deadline)
    if op in SELECTORS:
        return SELECTORS[op](ev, vec, groups, param)
    if op == "count_values":
        return count_values(vec, groups, param)
    if op == "quantile":
        return quantile(ev, vec, groups, param)
    impl = REDUCERS.get(op)
    if impl is None:
        raise BadDataError(f"aggregation {op!r} is not supported")
    vals, present = impl(vec, groups)
    by_name = not node.without and METRIC_NAME in node.grouping
    return groups.output(vals, present, by_name, vec)


class Grouping:
    """Rows grouped by key, in order of first appearance; members in input order."""

    def __init__(self, vec: StepVector, keyf, labelsf=None, check=lambda: None):
        self.check = check  # raises when the query ran out of time or was cancelled
        index: dict = {}
        firsts: list[int] = []
        gid = np.empty(len(vec), np.int64)
        for i, ls in enumerate(vec.labels):
            g = index.setdefault(keyf(ls), len(index))
            if g == len(firsts):
                firsts.append(i)
            gid[i] = g
        self.keys: list[Labels] = list(index) if labelsf is None else [labelsf(vec.labels[i]) for i in firsts]
        self.gid = gid
        self.order = np.argsort(gid, kind="stable")
        self.sizes = np.bincount(gid, minlength=len(index))
        self.starts = np.zeros(len(index), np.int64)
        if len(index):
            np.cumsum(self.sizes[:-1], out=self.starts[1:])

    def __len__(self) -> int:
        return len(self.keys)

    def members(self):
        """Yield ``(k, groups, rows)``: the k-th member (``rows``) of each group in ``groups``."""
        maxsize = int(self.sizes.max()) if len(self.sizes) else 0
        all_groups = np.arange(len(self.keys))
        for k in range(maxsize):
            if k % 64 == 63:
                self.check()
            g = all_groups if k == 0 else all_groups[self.sizes > k]
            yield k, g, self.order[self.starts[g] + k]

    def reduceat(self, ufunc, arr: np.ndarray) -> np.ndarray:
        return ufunc.reduceat(arr[self.order], self.starts, axis=0)

    def output(self, vals, present, by_name: bool, vec: StepVector) -> StepVector:
        if by_name:  # the name survives grouping, so its pending removal must too
            drop = np.zeros(len(self.keys), bool)
            np.logical_or.at(drop, self.gid, vec.drop)
        else:
            drop = np.zeros(len(self.keys), bool)
        return StepVector(list(self.keys), vals, present, drop).nonempty()


# --- reducers: (vec, groups) -> (vals [G, S], present [G, S]) ---------------------------------

def _empty(vec, groups):
    s = vec.vals.shape[1]
    return np.zeros((len(groups), s)), np.zeros((len(groups), s), bool)


# Plain (pairwise/sequential) summation is used when its error bound, (n-1)·eps·Σ|x|, is far below
# the result; otherwise (cancellation, overflow, NaN) the Kahan loop over members runs, as upstream.
_PLAIN_SUM_REL_ERROR = 1e-12


def _plain_sum(vec, groups):
    """(sum, count) by plain summation, or None when it might lose precision against Kahan's."""
    v = np.where(vec.mask, vec.vals, 0.0)[groups.order]  # members of each group together, once
    count = np.add.reduceat(vec.mask[groups.order], groups.starts, axis=0, dtype=np.float64)
    with quiet_fp():
        plain = np.add.reduceat(v, groups.starts, axis=0)
        abs_sum = np.add.reduceat(np.abs(v, out=v), groups.starts, axis=0)
        bound = np.maximum(count - 1, 0) * np.finfo(np.float64).eps * abs_sum
        unsafe = ~(bound <= _PLAIN_SUM_REL_ERROR * np.abs(plain)) & (count > 1)
    if unsafe.any() or not np.isfinite(plain).all():
        return None
    return plain, count


def agg_sum(vec, groups):
    if len(groups) == 0:
        return _empty(vec, groups)
    fast = _plain_sum(vec, groups)
    if fast is not None:
        return fast[0], fast[1] > 0
    shape = (len(groups), vec.vals.shape[1])
    s, c = np.zeros(shape), np.zeros(shape)
    with quiet_fp():
        for _k, g, rows in groups.members():
            m = vec.mask[rows]
            ns, nc = kahan_inc(np.where(m, vec.vals[rows], 0.0), s[g], c[g])
            s[g], c[g] = np.where(m, ns, s[g]), np.where(m, nc, c[g])
    return s + c, groups.reduceat(np.logical_or, vec.mask)


def agg_avg(vec, groups):
    """Kahan-summed mean, switching to an incremental mean when the sum would overflow (upstream)."""
    if len(groups) == 0:
        return _empty(vec, groups)
    fast = _plain_sum(vec, groups)
    if fast is not None:
        with quiet_fp():
            return fast[0] / np.maximum(fast[1], 1), fast[1] > 0
    shape = (len(groups), vec.vals.shape[1])
    s, c, mean, count = (np.zeros(shape) for _ in range(4))
    incremental = np.zeros(shape, bool)
    with quiet_fp():
        for _k, g, rows in groups.members():
            m, v = vec.mask[rows], vec.vals[rows]
            sg, cg, mg, ng, ig = s[g], c[g], mean[g], count[g], incremental[g]
            first = m & (ng == 0)
            rest = m & (ng > 0)
            ng = ng + m
            sg = np.where(first, v, sg)
            ns, nc = kahan_inc(v, sg, cg)
            overflow = rest & ~ig & np.isinf(ns)
            direct = rest & ~ig & ~overflow
            sg, cg = np.where(direct, ns, sg), np.where(direct, nc, cg)
            mg = np.where(overflow, sg / (ng - 1), mg)
            cg = np.where(overflow, cg / (ng - 1), cg)
            ig = ig | overflow
            inc = rest & ig
            q = (ng - 1) / np.maximum(ng, 1)
            nm, nc = kahan_inc(v / np.maximum(ng, 1), q * mg, q * cg)
            mg, cg = np.where(inc, nm, mg), np.where(inc, nc, cg)
            s[g], c[g], mean[g], count[g], incremental[g] = sg, cg, mg, ng, ig
        n = np.maximum(count, 1)
        res = np.where(incremental, mean + c, s / n + c / n)
    return res, count > 0


def agg_count(vec, groups):
    if len(groups) == 0:
        return _empty(vec, groups)
    cnt = groups.reduceat(np.add, vec.mask.astype(np.float64))
    return cnt, cnt > 0


def agg_group(vec, groups):
    if len(groups) == 0:
        return _empty(vec, groups)
    present = groups.reduceat(np.logical_or, vec.mask)
    return np.ones(present.shape), present


def _minmax(ufunc):
    def impl(vec, groups):
        if len(groups) == 0:
            return _empty(vec, groups)
        vals = np.where(vec.mask, vec.vals, np.nan)
        return groups.reduceat(ufunc, vals), groups.reduceat(np.logical_or, vec.mask)
    return impl


def _variance(vec, groups):
    shape = (len(groups), vec.vals.shape[1])
    mean, aux, count = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    with quiet_fp():
        for _k, g, rows in groups.members():
            m, v = vec.mask[rows], vec.vals[rows]
            ng = count[g] + m
            delta = v - mean[g]
            nm = mean[g] + delta / np.maximum(ng, 1)
            na = aux[g] + delta * (v - nm)
            mean[g], aux[g], count[g] = np.where(m, nm, mean[g]), np.where(m, na, aux[g]), ng
        return aux / np.maximum(count, 1), count > 0


def agg_stdvar(vec, groups):
    return _variance(vec, groups)


def agg_stddev(vec, groups):
    var, present = _variance(vec, groups)
    with quiet_fp():
        return np.sqrt(var), present


REDUCERS = {
    "sum": agg_sum,
    "avg": agg_avg,
    "count": agg_count,
    "group": agg_group,
    "min": _minmax(np.fmin),
    "max": _minmax(np.fmax),
    "stddev": agg_stddev,
    "stdvar": agg_stdvar,
}


# --- quantile ----------------------------------------------------------------------------------

def quantile(ev, vec: StepVector, groups: Grouping, param) -> StepVector:
    q = param.vals
    if len(vec):
        ev.annotations.invalid_quantile(q)
    steps = vec.vals.shape[1]
    out = np.full((len(groups), steps), np.nan)
    present = np.zeros((len(groups), steps), bool)
    for g in range(len(groups)):
        rows = groups.order[groups.starts[g]:groups.starts[g] + groups.sizes[g]]
        v, m = vec.vals[rows].T, vec.mask[rows].T  # [S, members]
        cnt = m.sum(axis=1)
        key = np.where(m, np.where(np.isnan(v), -np.inf, v), np.inf)
        nanfirst = np.where(m & np.isnan(v), 0, 1)
        order = np.lexsort((key, nanfirst), axis=1)
        sv = np.take_along_axis(v, order, 1)
        ok = cnt > 0
        out[g, ok] = quantile_sorted(q[ok], sv[ok], cnt[ok])
        present[g] = ok
    return groups.output(out, present, False, vec)


# --- selectors: topk, bottomk, limitk, limit_ratio (output rows are input rows) ---------------------

def _k_param(param: StepScalar, name: str = "k") -> np.ndarray:
    k = param.vals
    if np.isnan(k).any():
        raise ExecutionError("Parameter value is NaN")
    if (k > _MAX_INT64).any() or (k < -_MAX_INT64).any():
        raise ExecutionError(f"Scalar value {format_g(float(k[np.abs(k) > _MAX_INT64][0]))} overflows int64")
    return np.trunc(k)


def _ranked(vec: StepVector, groups: Grouping, keys: tuple, k: np.ndarray) -> StepVector:
    """Select, per group and step, the rows with rank < k, ranking rows by ``keys`` (lexsort order)."""
    steps = vec.vals.shape[1]
    rank = np.zeros(vec.vals.shape, np.int64)
    for g in range(len(groups)):
        rows = groups.order[groups.starts[g]:groups.starts[g] + groups.sizes[g]]
        gkeys = tuple(kk[rows] for kk in keys)
        order = np.lexsort(gkeys, axis=0)  # [members, S]: row positions by rank
        r = np.empty_like(order)
        np.put_along_axis(r, order, np.arange(len(rows))[:, None].repeat(steps, 1), axis=0)
        rank[rows] = r
    sel = vec.mask & (rank < k[None, :])
    out = StepVector(vec.labels, vec.vals, sel, vec.drop)
    if steps == 1 and len(vec):  # instant query: results in rank order, group by group
        order = np.lexsort((rank[:, 0], groups.gid))
        out = out.take(order)
    return out.nonempty()


def topk(ev, vec, groups, param):
    k = _k_param(param)
    absent = ~vec.mask
    nan = np.isnan(vec.vals)
    with quiet_fp():
        return _ranked(vec, groups, (-vec.vals, nan, absent), k)


def bottomk(ev, vec, groups, param):
    k = _k_param(param)
    return _ranked(vec, groups, (vec.vals, np.isnan(vec.vals), ~vec.mask), k)


def limitk(ev, vec, groups, param):
    k = _k_param(param)
    idx = np.broadcast_to(np.arange(len(vec))[:, None], vec.vals.shape)
    return _ranked(vec, groups, (idx, ~vec.mask), k)


def _ratio_offset(ls: Labels) -> float:
    """The series' position in [0, 1]: its label hash scaled, as upstream's addRatioSample."""
    return labels_hash(ls) / MAX_UINT64


def limit_ratio(ev, vec, groups, param):
    r = param.vals
    if np.isnan(r).any():
        raise ExecutionError("Ratio value is NaN")
    if (r > 1).any():
        ev.annotations.warn(
            f"ratio value should be between -1 and 1, got {format_g(float(r[r > 1][0]))}, capping to 1")
    if (r < -1).any():
        ev.annotations.warn(
            f"ratio value should be between -1 and 1, got {format_g(float(r[r < -1][0]))}, capping to -1")
    r = np.clip(r, -1, 1)
    off = np.array([_ratio_offset(ls) for ls in vec.labels])[:, None]
    rr = r[None, :]
    sel = ((rr >= 0) & (off < rr)) | ((rr < 0) & (off >= 1 + rr))
    return StepVector(vec.labels, vec.vals, vec.mask & sel, vec.drop).nonempty()


SELECTORS = {"topk": topk, "bottomk": bottomk, "limitk": limitk, "limit_ratio": limit_ratio}


# --- count_values ------------------------------------------------------------------------------

def format_float(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest round-trip digits, no exponent."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return np.format_float_positional(v, unique=True, trim="-")


def count_values(vec: StepVector, groups: Grouping, param) -> StepVector:
    if not isinstance(param, StepString):
        raise BadDataError("count_values needs a string parameter")
    label = param.val
    if not valid_label_name(label):
        raise ExecutionError(f"invalid label name {go_quote(label)}")
    steps = vec.vals.shape[1]
    rows, cols = np.nonzero(vec.mask)
    if len(rows) == 0:
        return StepVector.empty(steps)
    bits = vec.vals[rows, cols].view(np.uint64)
    uniq, inv = np.unique(bits, return_inverse=True)
    texts = [format_float(float(b)) for b in uniq.view(np.float64)]
    combo = groups.gid[rows] * len(uniq) + inv.ravel()
    out_keys, out_inv = np.unique(combo, return_inverse=True)
    counts = np.zeros((len(out_keys), steps))
    np.add.at(counts, (out_inv.ravel(), cols), 1.0)
    labels = []
    for key in out_keys:
        g, u = divmod(int(key), len(uniq))
        labels.append(groups.keys[g].merge({label: texts[u]}))
    return merge_same_labels(StepVector(labels, counts, counts > 0, np.zeros(len(labels), bool)))
