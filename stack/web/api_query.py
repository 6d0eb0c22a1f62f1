"""The query half of HTTP API v1: /query, /query_range, /series, /labels, label values, exemplars.

These are the endpoints Grafana and the notebooks' client live on, so their validation order and
messages follow upstream's ``web/api/v1/api.go`` (clients and the interop tests match on them).

PromQL evaluation is CPU work. On the wall clock it runs on a worker thread so that one expensive
query neither blocks scrapes nor other requests; under a virtual clock it runs inline, because a
simulation must not let time jump while a query is being computed.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
from concurrent.futures import ThreadPoolExecutor

from stack.model import METRIC_NAME, Matcher, RegexError
from stack.promql import ast
from stack.promql.query_errors import QueryError
from stack.web import codec
from stack.web.params import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    ApiError,
    Params,
    bad_param,
    duration_param,
    limit_param,
    optional_time_param,
    time_param,
    timeout_param,
)

log = logging.getLogger(__name__)

# Upstream --query.timeout default: a query is cancelled after two minutes.
DEFAULT_QUERY_TIMEOUT_S = 120.0
# Upstream --query.max-concurrency default.
MAX_CONCURRENT_QUERIES = 20
# Upstream caps a range query at 11,000 points per series (api.go queryRange).
MAX_POINTS_PER_SERIES = 11_000
# Upstream's warning when limit cut a result.
TRUNCATED_WARNING = "results truncated due to limit"


class QueryAPI:
    """Handlers bound to one server: each returns ``(data_json, warnings[, infos])`` or raises ApiError."""

    def __init__(self, server):
        self.server = server
        self._pool = ThreadPoolExecutor(MAX_CONCURRENT_QUERIES, thread_name_prefix="promql")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- /api/v1/query ------------------------------------------------------------------------
    async def query(self, p: Params):
        limit = limit_param(p)
        t = optional_time_param(p, "time", self._now_ms())
        timeout = timeout_param(p)
        lookback = duration_param(p, "lookback_delta")
        expr = parse_query_param(p.get("query"), prefix=True)
        value, warnings, infos = await self._run(timeout, lookback, "exec_instant", expr, t)
        if limit:
            value, cut = _apply_result_limit(value, limit)
            if cut:
                warnings.append(TRUNCATED_WARNING)
        return codec.result_json(value), warnings, infos

    # --- /api/v1/query_range ------------------------------------------------------------------
    async def query_range(self, p: Params):
        limit = limit_param(p)
        start = time_param(p, "start")
        end = time_param(p, "end")
        if end < start:
            raise bad_param("end", "end timestamp must not be before start time")
        step = duration_param(p, "step")
        if step is None:
            raise bad_param("step", 'cannot parse "" to a valid duration')
        if step <= 0:
            raise bad_param("step", "zero or negative query resolution step widths are not accepted. "
                                    "Try a positive integer")
        if (end - start) // step > MAX_POINTS_PER_SERIES:
            raise ApiError(
                "bad_data",
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)",
            )
        timeout = timeout_param(p)
        lookback = duration_param(p, "lookback_delta")
        expr = parse_query_param(p.get("query"), prefix=True)
        if expr.type not in (ast.ValueType.SCALAR, ast.ValueType.VECTOR):
            raise bad_param("query", f'invalid expression type "{expr.type}" for range query, '
                                     "must be Scalar or instant Vector")
        value, warnings, infos = await self._run(timeout, lookback, "exec_range", expr, start, end, step)
        if limit:
            value, cut = _apply_result_limit(value, limit)
            if cut:
                warnings.append(TRUNCATED_WARNING)
        return codec.result_json(value), warnings, infos

    # --- /api/v1/series, /labels, /label/<name>/values ----------------------------------------
    async def series(self, p: Params):
        limit = limit_param(p)
        start = optional_time_param(p, "start", MIN_TIME_MS)
        end = optional_time_param(p, "end", MAX_TIME_MS)
        selectors = p.getall("match[]")
        if not selectors:
            raise ApiError("bad_data", "no match[] parameter provided")
        matcher_sets = parse_match_params(selectors, prefix=True)
        seen = {}
        for ms in matcher_sets:
            for ls in self._series(ms, start, end):
                seen[ls] = None
        out = sorted(seen)
        warnings = []
        if limit and len(out) > limit:
            out, warnings = out[:limit], [TRUNCATED_WARNING]
        return "[" + ",".join(codec.labels_json(ls) for ls in out) + "]", warnings

    async def labels(self, p: Params):
        limit = limit_param(p)
        start = optional_time_param(p, "start", MIN_TIME_MS)
        end = optional_time_param(p, "end", MAX_TIME_MS)
        matcher_sets = parse_match_params(p.getall("match[]"), prefix=False)
        if matcher_sets:
            names = {k for ms in matcher_sets for ls in self._series(ms, start, end) for k in ls.names()}
        else:
            names = {k for ls in self._series(ALL_SERIES, start, end) for k in ls.names()}
        return _sorted_list_json(names, limit)

    async def label_values(self, p: Params, name: str):
        limit = limit_param(p)
        start = optional_time_param(p, "start", MIN_TIME_MS)
        end = optional_time_param(p, "end", MAX_TIME_MS)
        name = decode_label_name(name)
        matcher_sets = parse_match_params(p.getall("match[]"), prefix=False) or [ALL_SERIES]
        values = {ls.get(name) for ms in matcher_sets for ls in self._series(ms, start, end)} - {""}
        return _sorted_list_json(values, limit)

    def _series(self, matchers, start: int, end: int):
        """Series with at least one sample in [start, end] (spec §6.3 time filtering note)."""
        return self.server.tsdb.series(matchers, start, end)

    # --- /api/v1/query_exemplars --------------------------------------------------------------
    async def query_exemplars(self, p: Params):
        start = optional_time_param(p, "start", MIN_TIME_MS)
        end = optional_time_param(p, "end", MAX_TIME_MS)
        if end < start:
            raise ApiError("bad_data", "end timestamp must not be before start timestamp")
        expr = parse_query_param(p.get("query"), prefix=False)
        if not any(isinstance(n, ast.VectorSelector) for n in walk(expr)):
            return None, []  # upstream answers 204 when the query selects nothing
        return "[]", []  # we keep no exemplars

    # --- /api/v1/format_query, /parse_query ---------------------------------------------------
    async def format_query(self, p: Params):
        from stack.promql.printer import format_expr

        expr = parse_query_param(p.get("query"), prefix=True)
        return codec.dumps(format_expr(expr)), []

    # --- helpers --------------------------------------------------------------------------
    def _now_ms(self) -> int:
        return self.server.clock.now_ms()

    async def _run(self, timeout_s: float | None, lookback_ms: int | None, method: str, *args):
        """Evaluate with the server's engine, or a copy carrying this request's timeout/lookback_delta.

        Returns ``(value, warnings, infos)``; engine errors become API errors with the engine's errorType.
        """
        engine = self.server.engine
        if timeout_s or lookback_ms:  # 0 or absent: the server's settings, as upstream
            engine = copy.copy(engine)
            if timeout_s:
                engine.timeout_s = min(timeout_s, getattr(engine, "timeout_s", DEFAULT_QUERY_TIMEOUT_S))
            if lookback_ms:
                engine.lookback_delta_ms = lookback_ms
        call = functools.partial(getattr(engine, method), *args)
        try:
            if getattr(self.server.clock, "is_virtual", False):
                result = call()
            else:
                result = await asyncio.get_running_loop().run_in_executor(self._pool, call)
        except QueryError as e:
            raise ApiError(e.error_type, str(e)) from None
        except Exception as e:  # a bug, not the user's query: say so, and keep serving
            log.exception("query evaluation failed")
            raise ApiError("internal", f"{type(e).__name__}: {e}") from None
        return result.value, list(result.warnings), list(getattr(result, "infos", []))

ALL_SERIES = [Matcher("=~", METRIC_NAME, ".+")]


# Dashboards send the same few queries on every refresh: their syntax trees are kept (the engine
# never changes a tree). Parse errors are raised, so never cached.
PARSE_CACHE_SIZE = 512


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_cached(text: str) -> ast.Expr:
    from stack.promql import parse_expr

    return parse_expr(text)


def parse_query_param(text: str, prefix: bool) -> ast.Expr:
    """Parse the ``query`` parameter; errors read ``invalid parameter "query": 1:5: parse error: ...``."""
    from stack.promql import ParseError

    try:
        return _parse_cached(text)
    except ParseError as e:
        if prefix:
            raise bad_param("query", str(e)) from None
        raise ApiError("bad_data", str(e)) from None


# The parser's message for a selector whose matchers all match the empty string.
_EMPTY_SELECTOR = "vector selector must contain at least one non-empty matcher"


def parse_match_params(selectors: list[str], prefix: bool) -> list[list[Matcher]]:
    """Each ``match[]`` must be a series selector with at least one matcher that is not empty-matching."""
    from stack.promql import ParseError, parse_expr

    empty_msg = "match[] must contain at least one non-empty matcher"
    out = []
    for s in selectors:
        try:
            expr = parse_expr(s)
        except ParseError as e:
            if e.msg == _EMPTY_SELECTOR:  # upstream's API checks this itself, with its own words
                raise bad_param("match[]", empty_msg) if prefix else ApiError("bad_data", empty_msg) from None
            raise bad_param("match[]", str(e)) from None
        except RegexError as e:
            raise bad_param("match[]", str(e)) from None
        if not isinstance(expr, ast.VectorSelector):
            raise bad_param("match[]", f"1:1: parse error: unexpected {_node_word(expr)} in series selector")
        out.append(list(expr.matchers))
    return out


def decode_label_name(name: str) -> str:
    """The label name of a ``/label/<name>/values`` path.

    Prometheus 3 accepts any UTF-8 name (``foo-bar`` too; 2.x refused it). Names that cannot go in a
    URL path are sent escaped as ``U__`` + the name with ``_<hex>_`` for each other character and
    ``__`` for ``_`` (upstream model.UnescapeName).
    """
    if not name.startswith("U__"):
        return name
    out, rest, i = [], name[3:], 0
    while i < len(rest):
        c = rest[i]
        if c != "_":
            out.append(c)
            i += 1
        elif rest[i + 1 : i + 2] == "_":
            out.append("_")
            i += 2
        else:
            j = rest.find("_", i + 1)
            try:
                out.append(chr(int(rest[i + 1 : j], 16)))
            except ValueError:
                raise ApiError("bad_data", f'invalid label name: "{name}"') from None
            i = j + 1
    return "".join(out)


def walk(expr):
    """Every node of an expression tree, depth first."""
    yield expr
    for value in vars(expr).values():
        if isinstance(value, ast.Expr):
            yield from walk(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.Expr):
                    yield from walk(item)


def _node_word(expr) -> str:
    return {ast.MatrixSelector: "range selector", ast.NumberLiteral: "number",
            ast.StringLiteral: "string"}.get(type(expr), "expression")


def _sorted_list_json(items, limit: int):
    out = sorted(items)
    warnings = []
    if limit and len(out) > limit:
        out, warnings = out[:limit], [TRUNCATED_WARNING]
    return codec.dumps(out), warnings


def _apply_result_limit(value, limit: int):
    from stack.promql.value import Matrix, Vector

    if isinstance(value, Vector) and len(value.samples) > limit:
        return Vector(value.samples[:limit]), True
    if isinstance(value, Matrix) and len(value.series) > limit:
        return Matrix(value.series[:limit]), True
    return value, False


__all__ = ["QueryAPI", "parse_match_params", "parse_query_param", "decode_label_name"]
