"""The PromQL abstract syntax tree: what the parser builds and the engine evaluates.

Node kinds and their fields follow upstream's ``promql/parser/ast.go`` so that a reader of the
Prometheus source, or of its docs, recognises them. Every node knows its position in the query
text (``pos``: character offsets ``[start, end)``) so that errors found while type checking or
evaluating can point at the exact place, as upstream's ``1:15: parse error: ...`` does.

Durations and timestamps are integer milliseconds, as everywhere in the stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from stack.model import Matcher


class ValueType(StrEnum):
    """The four PromQL value types (upstream parser.ValueType)."""

    NONE = "none"
    SCALAR = "scalar"
    VECTOR = "vector"
    MATRIX = "matrix"
    STRING = "string"

    def __str__(self) -> str:  # upstream prints e.g. "range vector" in messages
        return {"vector": "instant vector", "matrix": "range vector"}.get(self.value, self.value)


@dataclass(frozen=True)
class PositionRange:
    """Character offsets ``[start, end)`` of a node in the query string."""

    start: int
    end: int


NO_POS = PositionRange(0, 0)


class Expr:
    """Base of every node. ``type`` is the PromQL value type the node evaluates to."""

    pos: PositionRange

    @property
    def type(self) -> ValueType:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(eq=False)
class NumberLiteral(Expr):
    val: float
    pos: PositionRange = NO_POS
    duration: bool = False  # written as a duration (``5m``): printed back as one

    @property
    def type(self) -> ValueType:
        return ValueType.SCALAR


@dataclass(eq=False)
class StringLiteral(Expr):
    val: str
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return ValueType.STRING


@dataclass(eq=False)
class VectorSelector(Expr):
    """``name{matchers} offset <d> @ <t>``. ``name`` is also present among ``matchers``.

    ``timestamp`` is the ``@`` time in ms, or None; ``start_or_end`` is "start"/"end" for
    ``@ start()`` / ``@ end()`` (resolved by the engine per query).
    """

    name: str
    matchers: list[Matcher]
    offset: int = 0
    timestamp: int | None = None
    start_or_end: str | None = None
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return ValueType.VECTOR


@dataclass(eq=False)
class MatrixSelector(Expr):
    """``<vector selector>[range]``: a range vector."""

    vector_selector: VectorSelector
    range: int
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return ValueType.MATRIX


@dataclass(eq=False)
class SubqueryExpr(Expr):
    """``<expr>[range:step] offset <d> @ <t>``; ``step`` 0 means the default evaluation interval."""

    expr: Expr
    range: int
    step: int = 0
    offset: int = 0
    timestamp: int | None = None
    start_or_end: str | None = None
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return ValueType.MATRIX


@dataclass(eq=False)
class ParenExpr(Expr):
    expr: Expr
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(eq=False)
class UnaryExpr(Expr):
    op: str  # "-" or "+"
    expr: Expr
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(eq=False)
class VectorMatching:
    """How the two sides of a binary operation between vectors are matched.

    ``card`` is one of "one-to-one", "many-to-one" (group_left), "one-to-many" (group_right),
    "many-to-many" (set operators). ``on`` tells whether ``matching_labels`` came from ``on(...)``
    (True) or ``ignoring(...)`` (False); ``include`` are the labels listed in group_left/right.
    """

    card: str = "one-to-one"
    matching_labels: list[str] = field(default_factory=list)
    on: bool = False
    include: list[str] = field(default_factory=list)


@dataclass(eq=False)
class BinaryExpr(Expr):
    op: str  # "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"
    lhs: Expr
    rhs: Expr
    matching: VectorMatching | None = None
    return_bool: bool = False
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        if self.lhs.type == ValueType.SCALAR and self.rhs.type == ValueType.SCALAR:
            return ValueType.SCALAR
        return ValueType.VECTOR


@dataclass(eq=False)
class AggregateExpr(Expr):
    """``op [by|without (grouping)] ([param,] expr)``."""

    op: str  # "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", ...
    expr: Expr
    param: Expr | None = None
    grouping: list[str] = field(default_factory=list)
    without: bool = False
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return ValueType.VECTOR


@dataclass(eq=False)
class Call(Expr):
    """A function call; ``func`` is the entry of the shared function table (stack.promql.functions)."""

    func: object  # stack.promql.functions.Function
    args: list[Expr]
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return self.func.return_type  # type: ignore[attr-defined]


@dataclass(eq=False)
class StepInvariantExpr(Expr):
    """Wraps a sub-expression whose value is the same at every step (e.g. uses ``@``).

    Inserted by the engine's preprocessing, never by the parser; evaluated once per range query.
    """

    expr: Expr
    pos: PositionRange = NO_POS

    @property
    def type(self) -> ValueType:
        return self.expr.type
