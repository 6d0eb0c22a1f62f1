"""The engine's half of the function table: PromQL function name -> implementation.

The parser's half (:data:`stack.promql.functions.FUNCTIONS`) declares each function's argument and
return types; this table maps the same names to code, so adding a function is one entry in each
(as upstream's ``parser/functions.go`` and ``promql/functions.go``). Every implementation takes
``(evaluator, call, ts)`` and returns the function's value at every step of ``ts``.

Functions drop the metric name (lazily, see :mod:`stack.promql.stepmatrix`) except those that
pass series through unchanged: ``last_over_time``, ``first_over_time``, the sorts and the label
functions, which upstream also exempts.
"""

from __future__ import annotations

import math

import numpy as np

from stack.model import METRIC_NAME, Labels, RegexError, compile_anchored
from stack.promql import ast, rangefuncs
from stack.promql.errors import go_quote
from stack.promql.histogram_quantile import histogram_fraction, histogram_quantile, histogram_quantiles
from stack.promql.info import f_info
from stack.promql.query_errors import BadDataError, ExecutionError
from stack.promql.stepmatrix import (
    StepScalar,
    StepVector,
    Windows,
    merge_same_labels,
    quiet_fp,
    valid_label_name,
)

SORT_WARNING = "sort is ineffective for range queries since results are always ordered by labels"


def _vector_out(w: Windows, vals, present, keeps_name: bool) -> StepVector:
    drop = w.drop if keeps_name else np.ones(len(w.labels), bool)
    return StepVector(list(w.labels), vals, present, drop.copy()).nonempty()


# --- range-vector functions -------------------------------------------------------------------

def _range_simple(fn, keeps_name):
    def impl(ev, call, ts):
        w = ev.eval(call.args[0], ts)
        vals, present = fn(w)
        if call.func.name in COUNTER_FUNCTIONS:
            _check_counter_names(ev, w, present)
        return _vector_out(w, vals, present, keeps_name)
    return impl


# rate() and increase() of a metric whose name doesn't look like a counter get an info annotation
# (upstream annotations.PossibleNonCounterInfo).
COUNTER_FUNCTIONS = ("rate", "increase")
COUNTER_SUFFIXES = ("_total", "_sum", "_count", "_bucket")


def _check_counter_names(ev, w: Windows, present: np.ndarray) -> None:
    if all(name.endswith(COUNTER_SUFFIXES) for name in {ls.name for ls in w.labels}):
        return  # the usual case, decided without looking at which rows have a value
    for name in sorted({w.labels[i].name for i in np.flatnonzero(present.any(axis=1))}):
        if name and not name.endswith(COUNTER_SUFFIXES):
            ev.annotations.info(f"metric might not be a counter, name does not end in "
                                f"_total/_sum/_count/_bucket: {go_quote(name)}")


def f_quantile_over_time(ev, call, ts):
    q = ev.eval(call.args[0], ts).vals
    w = ev.eval(call.args[1], ts)
    ev.annotations.invalid_quantile(q)
    vals, present = rangefuncs.quantile_over_time(w, q)
    return _vector_out(w, vals, present, False)


def f_predict_linear(ev, call, ts):
    w = ev.eval(call.args[0], ts)
    d = ev.eval(call.args[1], ts).vals
    vals, present = rangefuncs.predict_linear(w, ts, d)
    return _vector_out(w, vals, present, False)


def f_double_exponential_smoothing(ev, call, ts):
    w = ev.eval(call.args[0], ts)
    sf = ev.eval(call.args[1], ts).vals
    tf = ev.eval(call.args[2], ts).vals
    for name, f in (("smoothing", sf), ("trend", tf)):
        bad = f[(f <= 0) | (f >= 1) | np.isnan(f)]
        if len(bad):
            raise ExecutionError(f"invalid {name} factor. Expected: 0 < {name[0]}f < 1, got: {bad[0]:f}")
    vals, present = rangefuncs.double_exponential_smoothing(w, sf[None, :], tf[None, :])
    return _vector_out(w, vals, present, False)


def absent_labels(expr: ast.Expr) -> Labels:
    """The labels ``absent()`` reports: the selector's equality matchers, except repeated names."""
    while isinstance(expr, ast.ParenExpr | ast.StepInvariantExpr):
        expr = expr.expr
    if isinstance(expr, ast.MatrixSelector):
        expr = expr.vector_selector
    if not isinstance(expr, ast.VectorSelector):
        return Labels()
    out: dict[str, str] = {}
    seen: set[str] = set()
    for m in expr.matchers:
        if m.name == METRIC_NAME:
            continue
        if m.type == "=" and m.name not in seen:
            out[m.name] = m.value
            seen.add(m.name)
        else:
            out.pop(m.name, None)
    return Labels(out)


def f_absent(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    missing = ~vec.mask.any(axis=0) if len(vec) else np.ones(len(ts), bool)
    return _absent_out(call, missing)


def f_absent_over_time(ev, call, ts):
    w = ev.eval(call.args[0], ts)
    missing = ~(w.count > 0).any(axis=0) if len(w.labels) else np.ones(len(ts), bool)
    return _absent_out(call, missing)


def _absent_out(call, missing):
    return StepVector([absent_labels(call.args[0])], np.ones((1, len(missing))), missing[None, :],
                      np.zeros(1, bool)).nonempty()


# --- instant-vector maths ----------------------------------------------------------------------

def _math(fn):
    def impl(ev, call, ts):
        vec = ev.eval(call.args[0], ts)
        with quiet_fp():
            vals = fn(vec.vals)
        return StepVector(vec.labels, vals, vec.mask, np.ones(len(vec), bool))
    return impl


MATH = {
    "abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "sqrt": np.sqrt,
    "ln": np.log, "log2": np.log2, "log10": np.log10, "sgn": np.sign,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "deg": np.degrees, "rad": np.radians,
}


def _scalar_args(ev, call, ts, start=1):
    return [ev.eval(a, ts).vals for a in call.args[start:]]


def f_round(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    to_nearest = _scalar_args(ev, call, ts)[0] if len(call.args) > 1 else np.ones(len(ts))
    with quiet_fp():
        inv = 1.0 / to_nearest
        vals = np.floor(vec.vals * inv + 0.5) / inv
    return StepVector(vec.labels, vals, vec.mask, np.ones(len(vec), bool))


def _clamp(ev, vec, lo, hi):
    with quiet_fp():
        vals = np.maximum(lo[None, :], np.minimum(hi[None, :], vec.vals))
    mask = vec.mask & ~(hi < lo)[None, :]
    return StepVector(vec.labels, vals, mask, np.ones(len(vec), bool)).nonempty()


def f_clamp(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    lo, hi = _scalar_args(ev, call, ts)
    return _clamp(ev, vec, lo, hi)


def f_clamp_min(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    (lo,) = _scalar_args(ev, call, ts)
    return _clamp(ev, vec, lo, np.full(len(ts), np.inf))


def f_clamp_max(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    (hi,) = _scalar_args(ev, call, ts)
    return _clamp(ev, vec, np.full(len(ts), -np.inf), hi)


# --- time and conversion -----------------------------------------------------------------------

def f_time(ev, call, ts):
    return StepScalar(ts / 1000.0)


def _query_time(attr):
    """start(), end(), step(), range(): the query's own parameters, in seconds, at every step."""
    def impl(ev, call, ts):
        value = {"start": ev.start_ms, "end": ev.end_ms, "step": ev.step_ms,
                 "range": ev.end_ms - ev.start_ms}[attr]
        return StepScalar(np.full(len(ts), value / 1000.0))
    return impl


def _scalar_pair(fn):
    def impl(ev, call, ts):
        a, b = _scalar_args(ev, call, ts, 0)
        return StepScalar(fn(a, b))
    return impl


def f_pi(ev, call, ts):
    return StepScalar(np.full(len(ts), math.pi))


def f_vector(ev, call, ts, s=None):
    s = ev.eval(call.args[0], ts).vals if s is None else s
    return StepVector([Labels()], s[None, :].copy(), np.ones((1, len(ts)), bool), np.zeros(1, bool))


def f_scalar(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    if len(vec) == 0:
        return StepScalar(np.full(len(ts), np.nan))
    one = vec.mask.sum(axis=0) == 1
    val = np.where(vec.mask, vec.vals, 0.0).sum(axis=0)
    return StepScalar(np.where(one, val, np.nan))


def f_timestamp(ev, call, ts):
    arg = call.args[0]
    while isinstance(arg, ast.ParenExpr | ast.StepInvariantExpr):
        arg = arg.expr
    vec = ev.eval(call.args[0], ts)
    if isinstance(arg, ast.VectorSelector) and vec.sample_t is not None:
        vals = vec.sample_t / 1000.0
    else:
        vals = np.broadcast_to(ts / 1000.0, vec.vals.shape).copy()
    return StepVector(vec.labels, vals, vec.mask, np.ones(len(vec), bool))


def _date(part):
    def impl(ev, call, ts):
        if call.args:
            vec = ev.eval(call.args[0], ts)
        else:
            vec = f_vector(ev, None, ts, (ts / 1000.0))
        finite = np.isfinite(vec.vals)
        secs = np.trunc(np.where(finite, vec.vals, 0.0)).astype(np.int64)  # Go: time.Unix(int64(v), 0)
        with quiet_fp():
            vals = np.where(finite, _date_part(part, secs).astype(np.float64), np.nan)
        return StepVector(vec.labels, vals, vec.mask, np.ones(len(vec), bool))
    return impl


def _date_part(part: str, secs: np.ndarray) -> np.ndarray:
    if part == "minute":
        return (secs // 60) % 60
    if part == "hour":
        return (secs // 3600) % 24
    days = secs // 86400
    if part == "day_of_week":
        return (days + 4) % 7  # 1970-01-01 was a Thursday
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    y = d.astype("datetime64[Y]")
    if part == "year":
        return y.astype(np.int64) + 1970
    if part == "month":
        return (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    if part == "day_of_month":
        return (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    if part == "day_of_year":
        return (d - y.astype("datetime64[D]")).astype(np.int64) + 1
    if part == "days_in_month":
        return ((m + 1).astype("datetime64[D]") - m.astype("datetime64[D]")).astype(np.int64)
    raise BadDataError(f"unknown date part {part}")  # pragma: no cover


# --- sorting -----------------------------------------------------------------------------------

def _sorted(ev, vec: StepVector, order_fn) -> StepVector:
    if ev.is_range:
        ev.annotations.warn(SORT_WARNING)
        return vec
    if len(vec) < 2:
        return vec
    return vec.take(order_fn(vec))


def f_sort(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    return _sorted(ev, vec, lambda v: np.lexsort((v.vals[:, 0], np.isnan(v.vals[:, 0]))))


def f_sort_desc(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    with quiet_fp():
        return _sorted(ev, vec, lambda v: np.lexsort((-v.vals[:, 0], np.isnan(v.vals[:, 0]))))


def _natural_key(s: str):
    """Natural order: digit runs compare as numbers ("instance2" < "instance10")."""
    out = []
    i = 0
    while i < len(s):
        j = i
        digits = s[i].isdigit()
        while j < len(s) and s[j].isdigit() == digits:
            j += 1
        chunk = s[i:j]
        out.append((1, int(chunk), len(chunk)) if digits else (0, chunk, 0))
        i = j
    return out


def _sort_by_label(desc: bool):
    def impl(ev, call, ts):
        vec = ev.eval(call.args[0], ts)
        names = [ev.eval(a, ts).val for a in call.args[1:]]

        def order(v):
            # ties are broken by the full label set, in the same direction
            key = lambda i: ([_natural_key(v.labels[i].get(n)) for n in names], v.labels[i])  # noqa: E731
            return np.array(sorted(range(len(v)), key=key, reverse=desc), np.int64)
        return _sorted(ev, vec, order)
    return impl


# --- label manipulation ------------------------------------------------------------------------

def go_expand(template: str, groups: list[str | None], named: dict[str, int]) -> str:
    """Go's ``Regexp.ExpandString``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i < n and template[i] == "$":
            out.append("$")
            i += 1
            continue
        if i < n and template[i] == "{":
            j = template.find("}", i + 1)
            name = template[i + 1:j] if j >= 0 else ""
            if j < 0 or not name or not all(c.isalnum() or c == "_" for c in name):
                out.append("$")
                continue
            i = j + 1
        else:
            j = i
            while j < n and (template[j].isalnum() or template[j] == "_"):
                j += 1
            name = template[i:j]
            if not name:
                out.append("$")
                continue
            i = j
        if name.isdigit():
            k = int(name)
            if k < len(groups) and groups[k] is not None:
                out.append(groups[k])
        elif name in named and groups[named[name]] is not None:
            out.append(groups[named[name]])
    return "".join(out)


def f_label_replace(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    dst, repl, src, regex = (ev.eval(a, ts).val for a in call.args[1:5])
    try:
        rx = compile_anchored(regex)
    except RegexError as e:
        raise BadDataError(f"invalid regular expression in label_replace(): {regex}") from e
    if not valid_label_name(dst):
        raise BadDataError(f"invalid destination label name in label_replace(): {dst}")
    named = dict(getattr(rx, "groupindex", {}) or {})
    labels, drop = [], vec.drop.copy()
    cache: dict[str, str | None] = {}
    for i, ls in enumerate(vec.labels):
        value = ls.get(src)
        if value not in cache:
            m = rx.match(value)
            if m is None:
                cache[value] = None
            else:
                groups = [m.group(k) for k in range(rx.groups + 1)]
                cache[value] = go_expand(repl, groups, named)
        res = cache[value]
        if res is None:
            labels.append(ls)
            continue
        labels.append(_set_label(ls, dst, res))
        if dst == METRIC_NAME:
            drop[i] = False
    return merge_same_labels(StepVector(labels, vec.vals, vec.mask, drop))


def _set_label(ls: Labels, name: str, value: str) -> Labels:
    d = dict(ls.pairs)
    if value:
        d[name] = value
    else:
        d.pop(name, None)
    return Labels.from_sorted(tuple(sorted(d.items())))


def f_label_join(ev, call, ts):
    vec = ev.eval(call.args[0], ts)
    dst, sep, *srcs = (ev.eval(a, ts).val for a in call.args[1:])
    if not valid_label_name(dst):
        raise BadDataError(f"invalid destination label name in label_join(): {dst}")
    for s in srcs:
        if not valid_label_name(s):
            raise BadDataError(f"invalid source label name in label_join(): {s}")
    labels = [_set_label(ls, dst, sep.join(ls.get(s) for s in srcs)) for ls in vec.labels]
    drop = vec.drop.copy()
    if dst == METRIC_NAME:
        drop[:] = False
    return merge_same_labels(StepVector(labels, vec.vals, vec.mask, drop))


IMPLEMENTATIONS = {
    **{name: _range_simple(fn, keeps) for name, (fn, keeps) in rangefuncs.SIMPLE.items()},
    **{name: _math(fn) for name, fn in MATH.items()},
    **{name: _date(name) for name in ("minute", "hour", "day_of_week", "day_of_month", "day_of_year",
                                      "days_in_month", "month", "year")},
    "quantile_over_time": f_quantile_over_time,
    "predict_linear": f_predict_linear,
    "double_exponential_smoothing": f_double_exponential_smoothing,
    "absent": f_absent,
    "absent_over_time": f_absent_over_time,
    "round": f_round,
    "clamp": f_clamp,
    "clamp_min": f_clamp_min,
    "clamp_max": f_clamp_max,
    "time": f_time,
    **{name: _query_time(name) for name in ("start", "end", "step", "range")},
    "min_of": _scalar_pair(np.minimum),
    "max_of": _scalar_pair(np.maximum),
    "pi": f_pi,
    "vector": f_vector,
    "scalar": f_scalar,
    "timestamp": f_timestamp,
    "sort": f_sort,
    "sort_desc": f_sort_desc,
    "sort_by_label": _sort_by_label(False),
    "sort_by_label_desc": _sort_by_label(True),
    "label_replace": f_label_replace,
    "label_join": f_label_join,
    "histogram_quantile": histogram_quantile,
    "histogram_quantiles": histogram_quantiles,
    "histogram_fraction": histogram_fraction,
    "info": f_info,
}
