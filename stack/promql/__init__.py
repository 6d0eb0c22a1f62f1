"""PromQL: lexer, parser (AST with positions), the shared function table, and the evaluator.

Public surface (what the web API, rules, promtool and the workshop client use):

    parse_expr(query: str) -> ast.Expr                 # raises ParseError("1:15: parse error: ...")
    Engine(queryable, lookback_delta_ms=300_000, timeout_s=120, max_samples=50_000_000)
        .instant(query: str | ast.Expr, t_ms: int) -> Scalar | String | Vector | Matrix
        .range(query: str | ast.Expr, start_ms: int, end_ms: int, step_ms: int) -> Matrix | Scalar-matrix
    QueryError and its subclasses carry ``error_type`` ("bad_data", "execution", "timeout", ...)
    matching the HTTP API's errorType, and a position where one is known.

``queryable`` is anything with ``select(matchers, mint_ms, maxt_ms) -> list[SeriesData]``
(stack.tsdb.Head and friends).
"""

from stack.promql.engine import Engine, QueryResult
from stack.promql.errors import ParseError
from stack.promql.parser import parse_expr
from stack.promql.printer import format_expr, format_pretty
from stack.promql.query_errors import (
    BadDataError,
    ExecutionError,
    QueryCanceledError,
    QueryError,
    QueryTimeoutError,
    TooManySamplesError,
)

__all__ = ["ParseError", "parse_expr", "format_expr", "format_pretty", "Engine", "QueryResult", "QueryError",
           "BadDataError", "ExecutionError", "TooManySamplesError", "QueryTimeoutError", "QueryCanceledError"]
