"""AST back to PromQL text, in the canonical form Prometheus prints (its ``Expr.String()``).

Used by the web API's ``format_query``, by rule files written back to disk, and to show a
participant what their query actually means: ``sum(rate(x[5m]))by(job)`` comes back as
``sum by (job) (rate(x[5m]))``. Parentheses are printed only where the query had them (the AST
keeps ``ParenExpr`` nodes), so printing and parsing again gives the same tree.
"""

from __future__ import annotations

from decimal import Decimal

from stack.model import METRIC_NAME, Matcher
from stack.promql import ast
from stack.promql.errors import go_quote

__all__ = ["format_expr", "format_pretty", "format_duration", "format_number"]

# Upstream's prettier splits a node over several lines once its one-line form is longer than this.
MAX_CHARACTERS_PER_LINE = 100
_INDENT = "  "


def format_expr(node: ast.Expr) -> str:
    """The canonical PromQL text of ``node``."""
    return _PRINTERS[type(node)](node)


def format_pretty(node: ast.Expr, level: int = 0) -> str:
    """Upstream's ``Pretty``, what the web API's ``format_query`` returns: one line when it fits in
    MAX_CHARACTERS_PER_LINE, otherwise aggregations, calls, parentheses and binary operations are
    split with their operands indented on lines of their own."""
    ind = _INDENT * level
    if isinstance(node, ast.StepInvariantExpr):
        return format_pretty(node.expr, level)
    if isinstance(node, ast.UnaryExpr):
        return f"{ind}{node.op}{format_pretty(node.expr, level).strip()}"
    text = format_expr(node)
    if len(text) <= MAX_CHARACTERS_PER_LINE:
        return text if isinstance(node, ast.SubqueryExpr) else ind + text
    if isinstance(node, ast.AggregateExpr):
        head = _aggregate_head(node)
        param = f"{format_pretty(node.param, level + 1)},\n" if node.param is not None else ""
        return f"{ind}{head}(\n{param}{format_pretty(node.expr, level + 1)}\n{ind})"
    if isinstance(node, ast.BinaryExpr):
        return (f"{format_pretty(node.lhs, level + 1)}\n{ind}{_binary_operator(node)}\n"
                f"{format_pretty(node.rhs, level + 1)}")
    if isinstance(node, ast.Call):
        args = ",\n".join(format_pretty(a, level + 1) for a in node.args)
        return f"{ind}{node.func.name}(\n{args}\n{ind})"
    if isinstance(node, ast.ParenExpr):
        return f"{ind}(\n{format_pretty(node.expr, level + 1)}\n{ind})"
    if isinstance(node, ast.SubqueryExpr):
        return format_pretty(node.expr, level) + _subquery_suffix(node)
    return ind + text


def format_duration(ms: int) -> str:
    """Milliseconds in Prometheus duration notation: ``90000`` -> ``1m30s``; ``0`` -> ``0s``."""
    if ms == 0:
        return "0s"
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    parts = []
    for unit, size in _DURATION_UNITS:
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return sign + "".join(parts)


_DURATION_UNITS = (("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000),
                   ("m", 60_000), ("s", 1000), ("ms", 1))


def format_number(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest digits, never an exponent."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    text = format(Decimal(repr(v)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _label_name(name: str) -> str:
    return name if _is_legacy_name(name) else go_quote(name)


def _is_legacy_name(name: str) -> bool:
    return bool(name) and not name[0].isdigit() and all(c == "_" or c.isascii() and c.isalnum() for c in name)


def _labels(names: list[str]) -> str:
    return ", ".join(_label_name(n) for n in names)


def _matcher(m: Matcher) -> str:
    return f"{_label_name(m.name)}{m.type}{go_quote(m.value)}"


def _at(timestamp: int | None, start_or_end: str | None) -> str:
    if timestamp is not None:
        return f" @ {timestamp / 1000:.3f}"
    if start_or_end is not None:
        return f" @ {start_or_end}()"
    return ""


def _offset(ms: int) -> str:
    return f" offset {format_duration(ms)}" if ms else ""


def _selector_body(n: ast.VectorSelector) -> str:
    shown = sorted(_matcher(m) for m in n.matchers
                   if not (m.name == METRIC_NAME and m.type == "=" and m.value == n.name and n.name))
    return n.name + ("{" + ",".join(shown) + "}" if shown else "")


def _vector_selector(n: ast.VectorSelector) -> str:
    return _selector_body(n) + _at(n.timestamp, n.start_or_end) + _offset(n.offset)


def _matrix_selector(n: ast.MatrixSelector) -> str:
    vs = n.vector_selector
    return (f"{_selector_body(vs)}[{format_duration(n.range)}]" + _at(vs.timestamp, vs.start_or_end)
            + _offset(vs.offset))


def _subquery(n: ast.SubqueryExpr) -> str:
    return format_expr(n.expr) + _subquery_suffix(n)


def _subquery_suffix(n: ast.SubqueryExpr) -> str:
    step = format_duration(n.step) if n.step else ""
    return f"[{format_duration(n.range)}:{step}]" + _at(n.timestamp, n.start_or_end) + _offset(n.offset)


def _number(n: ast.NumberLiteral) -> str:
    if n.duration:
        ms = round(n.val * 1000)
        return format_duration(ms)
    return format_number(n.val)


def _aggregate_head(n: ast.AggregateExpr) -> str:
    if n.without:
        return f"{n.op} without ({_labels(n.grouping)}) "
    if n.grouping:
        return f"{n.op} by ({_labels(n.grouping)}) "
    return n.op


def _aggregate(n: ast.AggregateExpr) -> str:
    param = f"{format_expr(n.param)}, " if n.param is not None else ""
    return f"{_aggregate_head(n)}({param}{format_expr(n.expr)})"


def _binary(n: ast.BinaryExpr) -> str:
    return f"{format_expr(n.lhs)} {_binary_operator(n)} {format_expr(n.rhs)}"


def _binary_operator(n: ast.BinaryExpr) -> str:
    """The operator with ``bool`` and its vector matching, e.g. ``* on (job) group_left (v)``."""
    out = n.op
    if n.return_bool:
        out += " bool"
    m = n.matching
    if m is not None:
        grouped = m.card in ("many-to-one", "one-to-many")
        if m.matching_labels or m.on or grouped:
            out += f" {'on' if m.on else 'ignoring'} ({_labels(m.matching_labels)})"
        if grouped:
            side = "left" if m.card == "many-to-one" else "right"
            out += f" group_{side} ({_labels(m.include)})"
    return out


_PRINTERS = {
    ast.NumberLiteral: _number,
    ast.StringLiteral: lambda n: go_quote(n.val),
    ast.VectorSelector: _vector_selector,
    ast.MatrixSelector: _matrix_selector,
    ast.SubqueryExpr: _subquery,
    ast.ParenExpr: lambda n: f"({format_expr(n.expr)})",
    ast.UnaryExpr: lambda n: f"{n.op}{format_expr(n.expr)}",
    ast.BinaryExpr: _binary,
    ast.AggregateExpr: _aggregate,
    ast.Call: lambda n: f"{n.func.name}({', '.join(format_expr(a) for a in n.args)})",
    ast.StepInvariantExpr: lambda n: format_expr(n.expr),
}
