"""What PromQL's functions and operators accept and return, declared once.

The parser type-checks calls and operators against these tables; the engine keys its
implementations by the same names and reuses the operator tables, so adding a function is one
entry here and one there, with no new branches anywhere (as upstream's ``parser/functions.go``
and ``promql/functions.go``). Signatures follow Prometheus 3 (``promql/parser/functions.go``).

``Function.variadic`` has upstream's meaning: 0 means exactly ``arg_types``; otherwise the last
declared argument is optional and may repeat, up to ``variadic`` times in all (-1: no limit). So
``round(v, [to_nearest])`` is ``(VECTOR, SCALAR)`` with variadic 1, and ``label_join`` ends with a
STRING that may repeat without limit.

``experimental`` marks what upstream only accepts with ``--enable-feature=promql-experimental-functions``.
"""

from __future__ import annotations

from dataclasses import dataclass

from stack.promql.ast import ValueType

__all__ = ["Function", "FUNCTIONS", "Aggregation", "AGGREGATIONS", "BinaryOperator", "BINARY_OPERATORS",
           "UNARY_PRECEDENCE"]

S, V, M, STR = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING


@dataclass(frozen=True)
class Function:
    name: str
    arg_types: tuple[ValueType, ...]
    return_type: ValueType
    variadic: int = 0
    experimental: bool = False

    @property
    def min_args(self) -> int:
        return len(self.arg_types) - (1 if self.variadic else 0)

    @property
    def max_args(self) -> int | None:
        """None when unlimited."""
        if self.variadic == 0:
            return len(self.arg_types)
        return None if self.variadic < 0 else len(self.arg_types) - 1 + self.variadic


def _table(*specs: tuple) -> dict[str, Function]:
    return {spec[0]: Function(*spec) for spec in specs}


_MATH = ("abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "deg", "exp",
         "floor", "ln", "log10", "log2", "rad", "sgn", "sin", "sinh", "sqrt", "tan", "tanh")
_OVER_TIME = ("avg", "count", "last", "max", "min", "present", "stddev", "stdvar", "sum")
_RANGE_FUNCS = ("absent_over_time", "changes", "delta", "deriv", "idelta", "increase", "irate", "rate",
                "resets")
_DATE_FUNCS = ("day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month",
               "year")
_HISTOGRAM_VECTOR = ("histogram_avg", "histogram_count", "histogram_stddev", "histogram_stdvar",
                     "histogram_sum")

FUNCTIONS: dict[str, Function] = {
    **_table(*((name, (V,), V) for name in _MATH)),
    **_table(*((f"{agg}_over_time", (M,), V) for agg in _OVER_TIME)),
    **_table(*((name, (M,), V) for name in _RANGE_FUNCS)),
    **_table(*((name, (V,), V, 1) for name in _DATE_FUNCS)),  # time argument defaults to vector(time())
    **_table(*((name, (V,), V) for name in _HISTOGRAM_VECTOR)),
    **_table(
        ("absent", (V,), V),
        ("clamp", (V, S, S), V),
        ("clamp_max", (V, S), V),
        ("clamp_min", (V, S), V),
        ("first_over_time", (M,), V),
        ("histogram_fraction", (S, S, V), V),
        ("histogram_quantile", (S, V), V),
        ("label_join", (V, STR, STR, STR), V, -1),
        ("label_replace", (V, STR, STR, STR, STR), V),
        ("pi", (), S),
        ("predict_linear", (M, S), V),
        ("quantile_over_time", (S, M), V),
        ("round", (V, S), V, 1),
        ("scalar", (V,), S),
        ("sort", (V,), V),
        ("sort_desc", (V,), V),
        ("time", (), S),
        ("timestamp", (V,), V),
        ("vector", (S,), V),
    ),
    # Experimental in Prometheus 3 (behind promql-experimental-functions).
    **_table(
        ("double_exponential_smoothing", (M, S, S), V, 0, True),
        ("histogram_quantiles", (V, STR, S, S), V, 9, True),
        ("info", (V, V), V, 1, True),
        ("mad_over_time", (M,), V, 0, True),
        ("sort_by_label", (V, STR), V, -1, True),
        ("sort_by_label_desc", (V, STR), V, -1, True),
        ("start_timestamp", (V,), V, 0, True),
        ("ts_of_first_over_time", (M,), V, 0, True),
        ("ts_of_last_over_time", (M,), V, 0, True),
        ("ts_of_max_over_time", (M,), V, 0, True),
        ("ts_of_min_over_time", (M,), V, 0, True),
        # Query-time values used by experimental duration expressions (step(), range(), ...).
        ("start", (), S, 0, True),
        ("end", (), S, 0, True),
        ("step", (), S, 0, True),
        ("range", (), S, 0, True),
        ("max_of", (S, S), S, 0, True),
        ("min_of", (S, S), S, 0, True),
    ),
}


@dataclass(frozen=True)
class Aggregation:
    """An aggregation operator. ``param_type`` is the type of the leading parameter, if it takes one
    (``topk(3, x)``: SCALAR; ``count_values("label", x)``: STRING)."""

    name: str
    param_type: ValueType | None = None
    experimental: bool = False

    @property
    def has_param(self) -> bool:
        return self.param_type is not None


AGGREGATIONS: dict[str, Aggregation] = {a.name: a for a in (
    Aggregation("sum"), Aggregation("avg"), Aggregation("count"), Aggregation("min"), Aggregation("max"),
    Aggregation("group"), Aggregation("stddev"), Aggregation("stdvar"),
    Aggregation("topk", S), Aggregation("bottomk", S), Aggregation("quantile", S),
    Aggregation("count_values", STR),
    Aggregation("limitk", S, experimental=True), Aggregation("limit_ratio", S, experimental=True),
)}


@dataclass(frozen=True)
class BinaryOperator:
    """A binary operator with its precedence (higher binds tighter) and kind.

    ``comparison`` operators filter (or return 0/1 with ``bool``); ``set`` operators (and, or,
    unless) work on label sets only, between instant vectors, always many-to-many.
    """

    op: str
    precedence: int
    right_assoc: bool = False
    comparison: bool = False
    set_op: bool = False


# Upstream precedence, lowest to highest: or; and unless; comparisons; + -; * / % atan2; ^.
BINARY_OPERATORS: dict[str, BinaryOperator] = {b.op: b for b in (
    BinaryOperator("or", 1, set_op=True),
    BinaryOperator("and", 2, set_op=True), BinaryOperator("unless", 2, set_op=True),
    *(BinaryOperator(op, 3, comparison=True) for op in ("==", "!=", "<=", "<", ">=", ">")),
    # Native-histogram trim operators (</ trims the upper, >/ the lower part); same level as comparisons.
    BinaryOperator("</", 3), BinaryOperator(">/", 3),
    BinaryOperator("+", 4), BinaryOperator("-", 4),
    BinaryOperator("*", 5), BinaryOperator("/", 5), BinaryOperator("%", 5), BinaryOperator("atan2", 5),
    BinaryOperator("^", 6, right_assoc=True),
)}

# Unary minus/plus binds like "*" (upstream: %prec MUL): -a * b is (-a) * b, but -2 ^ 2 is -(2 ^ 2).
UNARY_PRECEDENCE = 5
