"""The PromQL evaluator: runs a parsed query against a queryable, for one instant or a range.

Semantics are Prometheus 3's (``promql/engine.go``): a 5 m lookback for instant selectors
(left-open: a sample exactly 5 m old is not seen), left-open range selectors ``(t - range, t]``,
stale markers ending a series at once, ``offset`` and ``@`` (including ``start()``/``end()``),
subqueries on a grid aligned to multiples of their step, and delayed ``__name__`` removal.

Why a step matrix instead of upstream's step loop: every node is evaluated once for all steps of
a range query (see :mod:`stack.promql.stepmatrix`), so the Python interpreter runs per node and
per series, while numpy runs per (series, step). An instant query is the one-step case of the
same code, so the two can never disagree.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from stack.model import Labels, Matcher
from stack.promql import ast
from stack.promql.errors import ParseError
from stack.promql.parser import parse_expr
from stack.promql.query_errors import (
    Annotations,
    BadDataError,
    ExecutionError,
    QueryCanceledError,
    QueryError,
    QueryTimeoutError,
    TooManySamplesError,
)
from stack.promql.stepmatrix import (
    DUPLICATE_LABELSET,
    Flat,
    StepScalar,
    StepString,
    StepVector,
    Windows,
    is_stale,
    merge_same_labels,
)
from stack.promql.value import Matrix, Sample, Scalar, Series, String, Value, Vector

DEFAULT_LOOKBACK_DELTA_MS = 300_000  # upstream --query.lookback-delta default (5m)
DEFAULT_TIMEOUT_S = 120.0  # upstream --query.timeout default (2m)
DEFAULT_MAX_SAMPLES = 50_000_000  # upstream --query.max-samples default
DEFAULT_EVAL_INTERVAL_MS = 60_000  # upstream global evaluation_interval default: subqueries without a step
MAX_POINTS_PER_SERIES = 11_000  # upstream web/api/v1: max resolution of a range query

# Labels removed together with the metric name (upstream schema.IsMetadataLabel, type-and-unit labels).
NAME_LABELS = ("__name__", "__type__", "__unit__")

TOO_MANY_SAMPLES = "query processing would load too many samples into memory in query execution"


@dataclass
class QueryResult:
    """A query's value plus the annotations (warnings, infos) that came with it."""

    value: Value
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)


class Engine:
    """Evaluates PromQL against ``queryable.select(matchers, mint_ms, maxt_ms)``.

    Limits mirror upstream's flags: ``timeout_s`` (``--query.timeout``), ``max_samples``
    (``--query.max-samples``) and ``lookback_delta_ms`` (``--query.lookback-delta``).
    """

    def __init__(
        self,
        queryable,
        lookback_delta_ms: int = DEFAULT_LOOKBACK_DELTA_MS,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_samples: int = DEFAULT_MAX_SAMPLES,
        default_eval_interval_ms: int = DEFAULT_EVAL_INTERVAL_MS,
    ):
        self.queryable = queryable
        self.lookback_delta_ms = int(lookback_delta_ms)
        self.timeout_s = timeout_s
        self.max_samples = max_samples
        self.default_eval_interval_ms = int(default_eval_interval_ms)

    # --- public API ------------------------------------------------------------------------
    def instant(self, query: str | ast.Expr, t_ms: int) -> Value:
        return self.exec_instant(query, t_ms).value

    def range(self, query: str | ast.Expr, start_ms: int, end_ms: int, step_ms: int) -> Value:
        return self.exec_range(query, start_ms, end_ms, step_ms).value

    def exec_instant(self, query: str | ast.Expr, t_ms: int, lookback_delta_ms: int | None = None,
                     cancel: threading.Event | None = None) -> QueryResult:
        """Evaluate at one instant.

        ``lookback_delta_ms`` overrides the engine's for this query (the HTTP API's
        ``lookback_delta`` parameter); setting ``cancel`` from another thread stops the query with
        a :class:`QueryCanceledError` at the next node (e.g. when the HTTP client went away).
        """
        expr = _parse(query)
        t_ms = int(t_ms)
        ev = Evaluator(self, t_ms, t_ms, lookback_delta_ms=lookback_delta_ms, cancel=cancel)
        ts = np.array([t_ms], np.int64)
        val = ev.eval(expr, ts)
        return ev.result(_to_instant_value(val, t_ms))

    def exec_range(self, query: str | ast.Expr, start_ms: int, end_ms: int, step_ms: int,
                   lookback_delta_ms: int | None = None,
                   cancel: threading.Event | None = None) -> QueryResult:
        """Evaluate at ``start, start + step, ...`` up to ``end``: a matrix sorted by label set."""
        expr = _parse(query)
        start_ms, end_ms, step_ms = int(start_ms), int(end_ms), int(step_ms)
        if step_ms <= 0:
            raise BadDataError("zero or negative query resolution step widths are not accepted. "
                               "Try a positive integer")
        if end_ms < start_ms:
            raise BadDataError("end timestamp must not be before start time")
        if (end_ms - start_ms) // step_ms > MAX_POINTS_PER_SERIES:  # upstream's exact comparison
            raise BadDataError("exceeded maximum resolution of 11,000 points per timeseries. "
                               "Try decreasing the query resolution (?step=XX)")
        if expr.type not in (ast.ValueType.SCALAR, ast.ValueType.VECTOR):
            raise BadDataError(f'invalid expression type "{expr.type}" for range query, '
                               "must be Scalar or instant Vector")
        ev = Evaluator(self, start_ms, end_ms, step_ms, lookback_delta_ms, cancel)
        ts = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        val = ev.eval(expr, ts)
        if isinstance(val, StepScalar):
            return ev.result(Matrix([Series(Labels(), ts.copy(), val.vals.copy())]))
        if int(val.mask.sum()) > self.max_samples:  # the assembled result matrix
            raise TooManySamplesError(TOO_MANY_SAMPLES)
        return ev.result(_to_matrix(finish_names(val), ts))


def _labels_of(series) -> list[Labels]:
    """The label sets of a selection, without building its items when it lists them itself (the
    TSDB's ``Selection``); a plain list of series works too."""
    labels = getattr(series, "labels", None)
    return labels if labels is not None else [s.labels for s in series]


def _parse(query: str | ast.Expr) -> ast.Expr:
    if isinstance(query, ast.Expr):
        return query
    try:
        return parse_expr(query)
    except ParseError as e:  # the user's query text is wrong: the API's bad_data
        raise BadDataError(str(e), e.position) from None


class Evaluator:
    """One query's evaluation state: its time span (for ``@ start()``/``end()``), limits, annotations."""

    def __init__(self, engine: Engine, start_ms: int, end_ms: int, step_ms: int = 0,
                 lookback_delta_ms: int | None = None, cancel: threading.Event | None = None):
        self.engine = engine
        self.cancel = cancel
        self.is_range = step_ms > 0
        self.step_ms = step_ms
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.lookback = int(lookback_delta_ms) if lookback_delta_ms else engine.lookback_delta_ms
        self.deadline = time.monotonic() + engine.timeout_s
        self.samples = 0
        self.annotations = Annotations()

    def result(self, value: Value) -> QueryResult:
        w, i = self.annotations.as_lists()
        return QueryResult(value, w, i)

    # --- bookkeeping -------------------------------------------------------------------------
    def add_samples(self, per_step: np.ndarray) -> None:
        """Count samples loaded by a node: its busiest step, as upstream counts the samples held in
        memory while stepping (a range query's result is counted in full when it is assembled)."""
        self.samples += int(per_step.max()) if per_step.size else 0
        if self.samples > self.engine.max_samples:
            raise TooManySamplesError(TOO_MANY_SAMPLES)

    def check_grid(self, series: int, steps: int) -> None:
        """Refuse a [series, steps] working array larger than the sample limit before allocating it,
        so an oversized query fails with the limit's error instead of exhausting memory."""
        if series * steps > self.engine.max_samples:
            raise TooManySamplesError(TOO_MANY_SAMPLES)

    def check_deadline(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise QueryCanceledError("query was canceled in expression evaluation")
        if time.monotonic() >= self.deadline:
            raise QueryTimeoutError("query timed out in expression evaluation")

    # --- dispatch by node kind ---------------------------------------------------------------
    def eval(self, node: ast.Expr, ts: np.ndarray):
        self.check_deadline()
        method = _DISPATCH.get(type(node))
        if method is None:
            raise BadDataError(f"unsupported expression {type(node).__name__}")
        return method(self, node, ts)

    def eval_number(self, node: ast.NumberLiteral, ts):
        return StepScalar(np.full(len(ts), float(node.val)))

    def eval_string(self, node: ast.StringLiteral, ts):
        return StepString(node.val)

    def eval_paren(self, node: ast.ParenExpr, ts):
        return self.eval(node.expr, ts)

    def eval_step_invariant(self, node: ast.StepInvariantExpr, ts):
        return self.eval(node.expr, ts)

    def eval_unary(self, node: ast.UnaryExpr, ts):
        val = self.eval(node.expr, ts)
        if node.op != "-":
            return val
        if isinstance(val, StepScalar):
            return StepScalar(-val.vals)
        return StepVector(val.labels, -val.vals, val.mask, np.ones(len(val), bool))

    def eval_binary(self, node: ast.BinaryExpr, ts):
        from stack.promql.binops import eval_binary

        return eval_binary(self, node, ts)

    def eval_aggregate(self, node: ast.AggregateExpr, ts):
        from stack.promql.aggregations import eval_aggregate

        return eval_aggregate(self, node, ts)

    def eval_call(self, node: ast.Call, ts):
        from stack.promql.eval_functions import IMPLEMENTATIONS

        name = node.func.name  # type: ignore[attr-defined]
        impl = IMPLEMENTATIONS.get(name)
        if impl is None:
            raise BadDataError(f"function {name!r} is not supported by this engine")
        return impl(self, node, ts)

    # --- selectors ---------------------------------------------------------------------------
    def eval_times(self, ts: np.ndarray, timestamp: int | None, start_or_end: str | None, offset: int):
        """The instants a selector or subquery looks at: the step times, or the ``@`` time, minus offset."""
        if start_or_end == "start":
            base = np.full(len(ts), self.start_ms, np.int64)
        elif start_or_end == "end":
            base = np.full(len(ts), self.end_ms, np.int64)
        elif timestamp is not None:
            base = np.full(len(ts), int(timestamp), np.int64)
        else:
            base = ts
        return base - int(offset)

    def select(self, matchers: list[Matcher], mint: int, maxt: int):
        try:
            return self.engine.queryable.select(matchers, int(mint), int(maxt))
        except QueryError:
            raise
        except Exception as e:  # storage failure: the query can't be answered
            raise ExecutionError(f"error selecting series: {e}") from e

    def eval_vector_selector(self, node: ast.VectorSelector, ts):
        q = self.eval_times(ts, node.timestamp, node.start_or_end, node.offset)
        series = self.select(node.matchers, int(q.min()) - self.lookback + 1, int(q.max()))
        self.check_grid(len(series), len(ts))
        flat = Flat.of(series)
        if flat.n == 0:
            return StepVector.empty(len(ts))
        idx = flat.search(q, "right") - 1
        valid = idx >= flat.offsets[:-1, None]
        safe = np.clip(idx, 0, max(len(flat.t) - 1, 0))
        st = flat.t[safe]
        vals = flat.v[safe]
        valid &= st > (q - self.lookback)[None, :]
        valid &= ~is_stale(vals)
        self.add_samples(valid.sum(axis=0))
        vec = StepVector(_labels_of(series), vals, valid, np.zeros(flat.n, bool), st)
        return vec.nonempty()

    def eval_matrix_selector(self, node: ast.MatrixSelector, ts):
        vs = node.vector_selector
        wend = self.eval_times(ts, vs.timestamp, vs.start_or_end, vs.offset)
        series = self.select(vs.matchers, int(wend.min()) - node.range + 1, int(wend.max()))
        flat = Flat.of(series).without_stale()
        return self.windows(_labels_of(series), np.zeros(flat.n, bool), flat, wend, node.range)

    def windows(self, labels, drop, flat: Flat, wend: np.ndarray, range_ms: int) -> Windows:
        self.check_grid(flat.n, len(wend))
        lo, hi = _window_edges(flat, wend, int(range_ms))
        self.add_samples((hi - lo).sum(axis=0))
        return Windows(labels, drop, flat, lo, hi, wend, int(range_ms), self.check_deadline)

    def subquery_steps(self, wend: np.ndarray, range_ms: int, step: int) -> np.ndarray:
        """The instants a subquery is evaluated at: multiples of ``step`` inside any of the windows
        ``(wend - range, wend]``. Windows that overlap share their instants; when the outer steps
        are further apart than the range, the gaps between windows are not evaluated at all."""
        first = wend - range_ms
        starts = (first // step) * step
        starts = np.where(starts <= first, starts + step, starts)  # the first multiple inside
        counts = np.maximum(0, (wend - starts) // step + 1)
        span = max(0, (int(wend.max()) - int(starts.min())) // step + 1)
        if min(span, int(counts.sum())) > self.engine.max_samples:
            raise TooManySamplesError(TOO_MANY_SAMPLES)
        if span <= counts.sum():  # overlapping windows: one contiguous grid
            return int(starts.min()) + step * np.arange(span, dtype=np.int64)
        offsets = np.repeat(np.cumsum(counts) - counts, counts)
        return np.unique(np.repeat(starts, counts) + step * (np.arange(int(counts.sum())) - offsets))

    def eval_subquery(self, node: ast.SubqueryExpr, ts):
        wend = self.eval_times(ts, node.timestamp, node.start_or_end, node.offset)
        step = int(node.step) or self.engine.default_eval_interval_ms
        inner_ts = self.subquery_steps(wend, node.range, step)
        n_inner = len(inner_ts)
        if n_inner == 0:
            inner = StepVector.empty(0)
        else:
            inner = self.eval(node.expr, inner_ts)
        if isinstance(inner, StepScalar):  # a scalar subquery: one series without labels
            inner = StepVector([Labels()], inner.vals[None, :], np.ones((1, n_inner), bool),
                               np.zeros(1, bool))
        inner = inner.nonempty()
        rows, cols = np.nonzero(inner.mask)
        lens = np.bincount(rows, minlength=len(inner))
        flat = Flat([], [])
        flat.n = len(inner)
        flat.offsets = np.zeros(len(inner) + 1, np.int64)
        np.cumsum(lens, out=flat.offsets[1:])
        flat.t = inner_ts[cols]
        flat.v = inner.vals[rows, cols]
        return self.windows(inner.labels, inner.drop, flat, wend, node.range)


def _window_edges(flat: Flat, wend: np.ndarray, range_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Per series and step, the index span of the window ``(wend - range, wend]``.

    One search serves both edges. When the steps are evenly spaced and the range is a multiple
    of the step (the usual case, and every instant query) each window starts where the window
    ``range / step`` steps earlier ended, so the starts are the ends shifted along the grid.
    """
    steps = len(wend)
    d = int(wend[1] - wend[0]) if steps > 1 else range_ms
    # (with k <= steps: never more edges than the two sets of steps the general way searches)
    if d > 0 and range_ms % d == 0 and range_ms // d <= steps and (steps < 3 or (np.diff(wend) == d).all()):
        k = range_ms // d
        found = flat.search(int(wend[0]) - range_ms + d * np.arange(steps + k, dtype=np.int64), "right")
        return found[:, :steps], found[:, k:]
    edges, where = np.unique(np.concatenate((wend - range_ms, wend)), return_inverse=True)
    found = flat.search(edges, "right")
    return found[:, where[:steps]], found[:, where[steps:]]


_DISPATCH = {
    ast.NumberLiteral: Evaluator.eval_number,
    ast.StringLiteral: Evaluator.eval_string,
    ast.ParenExpr: Evaluator.eval_paren,
    ast.StepInvariantExpr: Evaluator.eval_step_invariant,
    ast.UnaryExpr: Evaluator.eval_unary,
    ast.BinaryExpr: Evaluator.eval_binary,
    ast.AggregateExpr: Evaluator.eval_aggregate,
    ast.Call: Evaluator.eval_call,
    ast.VectorSelector: Evaluator.eval_vector_selector,
    ast.MatrixSelector: Evaluator.eval_matrix_selector,
    ast.SubqueryExpr: Evaluator.eval_subquery,
}


# --- finishing a query -------------------------------------------------------------------------

def drop_name(labels: Labels) -> Labels:
    return labels.without(*NAME_LABELS)


def finish_names(vec: StepVector) -> StepVector:
    """Apply delayed ``__name__`` removal, then reject (or join) rows that became identical."""
    if vec.drop.any():
        labels = [drop_name(ls) if d else ls for ls, d in zip(vec.labels, vec.drop, strict=True)]
        vec = StepVector(labels, vec.vals, vec.mask, np.zeros(len(labels), bool))
    return merge_same_labels(vec)


def _to_matrix(vec: StepVector, ts: np.ndarray) -> Matrix:
    out = []
    full = vec.mask.all(axis=1).tolist()  # rows with a point at every step need no masking
    some = vec.mask.any(axis=1).tolist()
    for i in sorted(range(len(vec)), key=lambda i: vec.labels[i].pairs):  # tuple order, compared in C
        if full[i]:
            out.append(Series(vec.labels[i], ts.copy(), vec.vals[i].copy()))
        elif some[i]:
            m = vec.mask[i]
            out.append(Series(vec.labels[i], ts[m], vec.vals[i][m]))
    return Matrix(out)


def _to_instant_value(val, t_ms: int) -> Value:
    if isinstance(val, StepScalar):
        return Scalar(t_ms, float(val.vals[0]))
    if isinstance(val, StepString):
        return String(t_ms, val.val)
    if isinstance(val, Windows):
        return windows_to_matrix(val)
    vec = finish_names(val)
    return Vector([Sample(vec.labels[i], t_ms, float(vec.vals[i, 0]))
                   for i in range(len(vec)) if vec.mask[i, 0]])


def windows_to_matrix(w: Windows) -> Matrix:
    """An instant query of a range vector (``x[5m]``): the raw samples of each series' window."""
    labels = [drop_name(ls) if d else ls for ls, d in zip(w.labels, w.drop, strict=True)]
    if len(set(labels)) != len(labels):
        raise ExecutionError(DUPLICATE_LABELSET)
    out = []
    for i, ls in enumerate(labels):
        lo, hi = int(w.lo[i, 0]), int(w.hi[i, 0])
        if hi > lo:
            out.append(Series(ls, w.flat.t[lo:hi].copy(), w.flat.v[lo:hi].copy()))
    out.sort(key=lambda s: s.labels)
    return Matrix(out)
