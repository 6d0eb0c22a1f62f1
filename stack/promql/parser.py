"""The PromQL parser: tokens to a typed AST, rejecting what Prometheus 3 rejects, as it says it.

Upstream generates its parser with yacc; this one is hand-written recursive descent with
precedence climbing, which gives the same trees (operator precedence and associativity, unary
minus binding below ``^``, postfix ``offset``/``@``/``[range]`` binding tightest) and lets each
error name the token and the construct it broke, in upstream's words, e.g.
``1:14: parse error: unexpected identifier "b" in label matching, expected string``.

Parsing happens in two passes, as upstream: the syntax pass builds the tree and stops at the
first syntax error; then ``_Checker`` type-checks the finished tree (function arguments,
operator operands, ``bool`` placement, set operators) and reports the first problem in
evaluation order. Experimental syntax that Prometheus keeps behind feature flags (duration
arithmetic, ``anchored``/``smoothed``, ``fill()``) is recognised and refused with upstream's
"not enabled" message rather than a confusing syntax error.
"""

from __future__ import annotations

import math

from stack.model import METRIC_NAME, Matcher, RegexError
from stack.promql import ast
from stack.promql.ast import PositionRange, ValueType
from stack.promql.errors import ParseError, go_float_f, go_quote, regex_error_message
from stack.promql.functions import AGGREGATIONS, BINARY_OPERATORS, FUNCTIONS, UNARY_PRECEDENCE
from stack.promql.lexer import (
    DURATION,
    EOF,
    ERROR,
    IDENTIFIER,
    METRIC_IDENTIFIER,
    NUMBER,
    PREPROCESSORS,
    STRING,
    Token,
    describe,
    lex,
    parse_duration_ns,
    parse_number,
    unquote,
)

__all__ = ["parse_expr"]

# Tokens that may name a metric (upstream grammar rule metric_identifier): keywords are allowed
# where they cannot be confused with syntax.
_METRIC_NAME_TOKENS = frozenset((
    IDENTIFIER, METRIC_IDENTIFIER, "avg", "bottomk", "by", "count", "count_values", "fill", "fill_left",
    "fill_right", "group", "and", "or", "unless", "max", "min", "offset", "quantile", "stddev", "stdvar",
    "sum", "topk", "without", "start", "end", "limitk", "limit_ratio", "step", "range", "anchored",
    "smoothed", "max_of", "min_of"))
# Tokens that may name a label in by/without/on/ignoring/group_* lists (upstream maybe_label).
_LABEL_TOKENS = (_METRIC_NAME_TOKENS - {"without"}) | {"bool", "group_left", "group_right", "ignoring", "on",
                                                       "atan2"}
_MATCH_OPS = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}
_DURATION_OPS = frozenset("+-*/%^")
_MAX_DURATION_SECONDS = 2**63 / 1e9  # offsets/ranges are Go time.Durations (int64 nanoseconds)
_NOT_ENABLED_DURATION = "experimental duration expression is not enabled"


def parse_expr(query: str, *, experimental_functions: bool = True) -> ast.Expr:
    """Parse a PromQL expression; raise ParseError (``line:col: parse error: ...``) if it is not one.

    ``experimental_functions`` admits what Prometheus puts behind
    ``--enable-feature=promql-experimental-functions`` (``sort_by_label``, ``limitk``, ``info``, ...).
    The kit enables it by default: the workshop uses them and the upstream test corpus needs them.
    """
    parser = _Parser(query, experimental_functions)
    try:
        expr = parser.parse()
        _Checker(query, parser.bypass_empty_check).check(expr)
    except RecursionError:
        # Upstream's table-driven parser has no depth limit; ours recurses once per nesting level.
        raise ParseError("expression nested too deeply", query, PositionRange(0, len(query))) from None
    return expr


class _Parser:
    """The syntax pass: one method per grammar construct, reading the pre-lexed tokens left to right.
    It stops at the first error, which is the one upstream would print (it collects several but
    shows only the first)."""

    def __init__(self, query: str, experimental_functions: bool):
        self.query = query
        self.tokens = lex(query)
        self.i = 0
        self.experimental_functions = experimental_functions
        # Open constructs that upstream's grammar names in "unexpected ..." errors ("in aggregation");
        # calls and parentheses have no such rule there, so errors inside them name the enclosing one.
        self.contexts: list[str] = []
        self.bypass_empty_check: set[int] = set()  # ids of info()'s label-only selectors

    # --- token stream -----------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind == ERROR:
            self.fail(tok.val, tok.pos, len(self.query))
        if tok.kind != EOF:
            self.i += 1
        return tok

    def fail(self, msg: str, start: int | PositionRange, end: int | None = None):
        if isinstance(start, PositionRange):
            start, end = start.start, start.end
        raise ParseError(msg, self.query, PositionRange(start, start if end is None else end))

    def unexpected(self, tok: Token, context: str | None = None, expected: str = ""):
        if tok.kind == ERROR:
            self.next()  # reports the lexical error itself
        if context is None and self.contexts:
            context = self.contexts[-1]
        msg = f"unexpected {describe(tok)}"
        if context:
            msg += f" in {context}"
        if expected:
            msg += f", expected {expected}"
        self.fail(msg, tok.pos, tok.end)

    def expect(self, kind: str, context: str | None = None, expected: str = "") -> Token:
        tok = self.next()
        if tok.kind != kind:
            self.unexpected(tok, context, expected)
        return tok

    # --- expressions ------------------------------------------------------------------------
    def parse(self) -> ast.Expr:
        if self.peek().kind == EOF:
            self.fail("no expression found in input", 0, 0)
        expr = self.expression(0)
        tok = self.next()
        if tok.kind != EOF:
            self.unexpected(tok)
        return expr

    def expression(self, min_precedence: int) -> ast.Expr:
        """Precedence climbing over BINARY_OPERATORS."""
        lhs = self.unary()
        while True:
            op = BINARY_OPERATORS.get(self.peek().kind)
            if op is None or op.precedence < min_precedence:
                return lhs
            self.next()
            node = ast.BinaryExpr(op=op.op, lhs=lhs, rhs=lhs, matching=ast.VectorMatching())
            fill = self.bin_modifiers(node)
            rhs = self.expression(op.precedence if op.right_assoc else op.precedence + 1)
            node.rhs = rhs
            node.pos = PositionRange(lhs.pos.start, rhs.pos.end)
            if fill:
                self.fail("binop fill modifiers are experimental and not enabled", node.pos)
            lhs = node

    def bin_modifiers(self, node: ast.BinaryExpr) -> bool:
        """``bool``, ``on``/``ignoring (...)``, ``group_left``/``group_right [(...)]``, ``fill...``."""
        matching = node.matching
        if self.peek().kind == "bool":
            self.next()
            node.return_bool = True
        if self.peek().kind in ("on", "ignoring"):
            matching.on = self.next().kind == "on"
            matching.matching_labels = self.grouping_labels()
            if self.peek().kind in ("group_left", "group_right"):
                matching.card = "many-to-one" if self.next().kind == "group_left" else "one-to-many"
                if self.peek().kind == "(":
                    matching.include = self.grouping_labels()
        fill = False  # fill(v), fill_left(v), fill_right(v): parsed to be refused as not enabled
        while self.peek().kind in ("fill", "fill_left", "fill_right"):
            self.next()
            self.expect("(")
            value = self.next()
            if value.kind in ("+", "-"):
                value = self.next()
            if value.kind not in (NUMBER, DURATION):
                self.unexpected(value)
            self.expect(")")
            fill = True
        return fill

    def unary(self) -> ast.Expr:
        tok = self.peek()
        if tok.kind not in ("+", "-"):
            return self.postfix(self.primary())
        self.next()
        operand = self.expression(UNARY_PRECEDENCE + 1)
        if isinstance(operand, ast.NumberLiteral):  # upstream folds the sign into the literal
            if tok.kind == "-":
                operand.val = -operand.val
            operand.pos = PositionRange(tok.pos, operand.pos.end)
            return operand
        return ast.UnaryExpr(op=tok.kind, expr=operand, pos=PositionRange(tok.pos, operand.pos.end))

    def primary(self) -> ast.Expr:  # noqa: C901 - one case per kind of operand
        tok = self.next()
        kind = tok.kind
        if kind == NUMBER:
            return ast.NumberLiteral(self.number(tok), pos=PositionRange(tok.pos, tok.end))
        if kind == DURATION:
            seconds = self.duration_seconds(tok)
            return ast.NumberLiteral(seconds, pos=PositionRange(tok.pos, tok.end), duration=True)
        if kind == STRING:
            return ast.StringLiteral(unquote(tok.val), pos=PositionRange(tok.pos, tok.end))
        if kind == "(":
            expr = self.expression(0)
            close = self.next()
            if close.kind != ")":
                self.unexpected(close)
            return ast.ParenExpr(expr, pos=PositionRange(tok.pos, close.end))
        if kind == "{":
            return self.selector(None, tok)
        nxt = self.peek().kind
        if kind in AGGREGATIONS and nxt in ("(", "by", "without"):
            return self.aggregation(tok)
        if (kind == IDENTIFIER or kind in PREPROCESSORS) and nxt == "(":
            return self.call(tok)
        if kind in _METRIC_NAME_TOKENS:
            return self.selector(tok, None)
        self.unexpected(tok)
        raise AssertionError  # unreachable

    # --- selectors --------------------------------------------------------------------------
    def selector(self, name_tok: Token | None, brace: Token | None) -> ast.VectorSelector:
        matchers: list[Matcher] = []
        start = name_tok.pos if name_tok else brace.pos
        end = name_tok.end if name_tok else brace.end
        if brace is None and self.peek().kind == "{":
            brace = self.next()
        if brace is not None:
            end = self.label_matchers(matchers)
        name = name_tok.val if name_tok else ""
        if name:
            matchers.append(Matcher("=", METRIC_NAME, name))
        return ast.VectorSelector(name=name, matchers=matchers, pos=PositionRange(start, end))

    def label_matchers(self, matchers: list[Matcher]) -> int:
        """After ``{``: matchers up to ``}``; returns the end offset of ``}``."""
        ctx = "label matching"
        tok = self.next()
        if tok.kind == "}":
            return tok.end
        while True:
            if tok.kind == IDENTIFIER:
                name = tok.val
            elif tok.kind == STRING:
                name = unquote(tok.val)
            else:
                self.unexpected(tok, ctx, 'identifier or "}"')
            op = self.next()
            if op.kind in _MATCH_OPS:
                value = self.next()
                if value.kind != STRING:
                    self.unexpected(value, ctx, "string")
                matchers.append(self.matcher(_MATCH_OPS[op.kind], name, unquote(value.val), tok, value))
                sep = self.next()
            elif tok.kind == STRING:  # {"metric.name"}: a name-only matcher
                matchers.append(Matcher("=", METRIC_NAME, name))
                sep = op
            else:
                self.unexpected(op, ctx, "label matching operator")
            if sep.kind == "}":
                return sep.end
            if sep.kind != ",":
                self.unexpected(sep, ctx, '"," or "}"')
            tok = self.next()
            if tok.kind == "}":
                return tok.end

    def matcher(self, op: str, name: str, value: str, name_tok: Token, value_tok: Token) -> Matcher:
        try:
            return Matcher(op, name, value)
        except RegexError as e:
            self.fail(regex_error_message(value, str(e)), name_tok.pos, value_tok.end)
            raise AssertionError from None  # unreachable

    # --- postfix modifiers: [range], [range:step], offset, @ ---------------------------------
    def postfix(self, expr: ast.Expr) -> ast.Expr:
        while True:
            kind = self.peek().kind
            if kind == "[":
                expr = self.range_or_subquery(expr)
            elif kind == "offset":
                expr = self.offset(expr)
            elif kind == "@":
                expr = self.at(expr)
            elif kind in ("anchored", "smoothed"):
                self.fail(f"{kind} modifier is experimental and not enabled", expr.pos)
            else:
                return expr

    def range_or_subquery(self, expr: ast.Expr) -> ast.Expr:
        lbracket = self.next()
        rng = self.duration(positive=True, in_brackets=True, context="subquery or range selector",
                            expected="number, duration, step(), or range()")
        tok = self.next()
        if tok.kind == "]":
            msg = ""
            if not isinstance(expr, ast.VectorSelector):
                msg = "ranges only allowed for vector selectors"
            elif expr.offset != 0:
                msg = "no offset modifiers allowed before range"
            elif expr.timestamp is not None or expr.start_or_end is not None:
                msg = "no @ modifiers allowed before range"
            if msg:
                self.fail(msg, lbracket.pos, tok.end)
            return ast.MatrixSelector(expr, range=rng, pos=PositionRange(expr.pos.start, tok.end))
        if tok.kind != ":":
            self.unexpected(tok, "subquery or range", '":" or "]"')
        step = 0
        if self.peek().kind != "]":
            step = self.duration(positive=True, in_brackets=True, context="subquery selector",
                                 expected='number, duration, step(), range(), or "]"')
        close = self.next()
        if close.kind != "]":
            self.unexpected(close, "subquery selector", '"]"')
        return ast.SubqueryExpr(expr, range=rng, step=step, pos=PositionRange(expr.pos.start, close.end))

    def duration(self, positive: bool, in_brackets: bool, context: str, expected: str) -> int:
        """A range, step or offset: a number (seconds) or duration literal, optionally signed.
        Returns milliseconds. Duration arithmetic is experimental upstream and refused here."""
        sign, start = 1, self.peek().pos
        while self.peek().kind in ("+", "-"):
            if self.next().kind == "-":
                sign = -sign
        tok = self.next()
        if tok.kind in ("(", "step", "range", "max_of", "min_of"):
            self.fail(_NOT_ENABLED_DURATION, tok.pos, tok.end)
        if tok.kind == NUMBER:
            seconds = self.number(tok)
        elif tok.kind == DURATION:
            seconds = self.duration_seconds(tok)
        else:
            self.unexpected(tok, context, expected)
        seconds *= sign
        if in_brackets and self.peek().kind in _DURATION_OPS:
            self.fail(_NOT_ENABLED_DURATION, start, tok.end)
        if math.isnan(seconds) or abs(seconds) > _MAX_DURATION_SECONDS:
            self.fail("duration out of range", start, tok.end)
        if positive and seconds <= 0:
            self.fail("duration must be greater than 0", start, tok.end)
        return _seconds_to_ms(seconds)

    def offset(self, expr: ast.Expr) -> ast.Expr:
        self.next()
        ms = self.duration(positive=False, in_brackets=False, context="offset",
                           expected="number, duration, step(), or range()")
        end = self.tokens[self.i - 1].end
        target = self.modifier_target(expr, "offset modifier")
        if target.offset != 0:
            self.fail("offset may not be set multiple times", expr.pos)
        target.offset = ms
        expr.pos = PositionRange(expr.pos.start, end)
        return expr

    def at(self, expr: ast.Expr) -> ast.Expr:
        self.next()
        tok = self.next()
        start_or_end = None
        timestamp = None
        if tok.kind in ("start", "end"):
            self.expect("(", "@", "timestamp")
            self.expect(")", "@", "timestamp")
            start_or_end = tok.kind
        else:
            sign = 1
            if tok.kind in ("+", "-"):
                sign = -1 if tok.kind == "-" else 1
                tok = self.next()
            if tok.kind == NUMBER:
                ts = sign * self.number(tok)
            elif tok.kind == DURATION:
                ts = sign * self.duration_seconds(tok)
            else:
                self.unexpected(tok, "@", "timestamp")
            if math.isinf(ts) or math.isnan(ts) or not -(2.0**63) < ts < 2.0**63:
                self.fail(f"timestamp out of bounds for @ modifier: {go_float_f(ts)}", expr.pos)
            timestamp = _round_half_away(ts * 1000)
        end = self.tokens[self.i - 1].end
        target = self.modifier_target(expr, "@ modifier")
        if target.timestamp is not None or target.start_or_end is not None:
            self.fail("@ <timestamp> may not be set multiple times", expr.pos)
        target.timestamp, target.start_or_end = timestamp, start_or_end
        expr.pos = PositionRange(expr.pos.start, end)
        return expr

    def modifier_target(self, expr: ast.Expr, what: str):
        """Where offset/@ are stored: the selector (inside a range selector too) or the subquery."""
        if isinstance(expr, ast.MatrixSelector):
            return expr.vector_selector
        if isinstance(expr, ast.VectorSelector | ast.SubqueryExpr):
            return expr
        self.fail(f"{what} must be preceded by an instant vector selector or range vector selector "
                  "or a subquery", expr.pos)

    # --- calls and aggregations -------------------------------------------------------------
    def call_args(self) -> tuple[list[ast.Expr], int]:
        """``( expr, ... )``; returns the arguments and the end offset of ``)``."""
        self.next()  # "("
        args: list[ast.Expr] = []
        if self.peek().kind == ")":
            return args, self.next().end
        while True:
            args.append(self.expression(0))
            tok = self.next()
            if tok.kind == ")":
                return args, tok.end
            if tok.kind != ",":
                self.unexpected(tok)
            if self.peek().kind == ")":
                self.fail("trailing commas not allowed in function call args", tok.pos, tok.end)

    def call(self, name_tok: Token) -> ast.Call:
        args, end = self.call_args()
        func = FUNCTIONS.get(name_tok.val)
        if func is None:
            self.fail(f"unknown function with name {go_quote(name_tok.val)}", name_tok.pos, name_tok.end)
        if func.experimental and not self.experimental_functions:
            self.fail(f"function {go_quote(name_tok.val)} is not enabled", name_tok.pos, name_tok.end)
        return ast.Call(func=func, args=args, pos=PositionRange(name_tok.pos, end))

    def aggregation(self, op_tok: Token) -> ast.AggregateExpr:
        self.contexts.append("aggregation")
        grouping, without, modifier_first = None, False, self.peek().kind in ("by", "without")
        if modifier_first:
            without = self.next().kind == "without"
            grouping = self.grouping_labels()
            if self.peek().kind != "(":
                self.unexpected(self.peek())
        args, end = self.call_args()
        self.contexts.pop()
        if not modifier_first and self.peek().kind in ("by", "without"):
            without = self.next().kind == "without"
            grouping = self.grouping_labels()
            end = self.tokens[self.i - 1].end
        agg = AGGREGATIONS[op_tok.kind]
        pos = PositionRange(op_tok.pos, end)
        if not args:
            self.fail("no arguments for aggregate expression provided", pos.start, pos.end)
        if agg.experimental and not self.experimental_functions:
            self.fail(f"{agg.name}() is experimental and must be enabled with "
                      "--enable-feature=promql-experimental-functions", pos.start, pos.end)
        want = 2 if agg.has_param else 1
        if len(args) != want:
            self.fail(f"wrong number of arguments for aggregate expression provided, expected {want}, "
                      f"got {len(args)}", pos.start, pos.end)
        return ast.AggregateExpr(op=agg.name, expr=args[-1], param=args[0] if agg.has_param else None,
                                 grouping=grouping or [], without=without, pos=pos)

    def grouping_labels(self) -> list[str]:
        ctx = "grouping opts"
        self.expect("(", ctx, '"("')
        labels: list[str] = []
        if self.peek().kind == ")":
            self.next()
            return labels
        while True:
            tok = self.next()
            if tok.kind in _LABEL_TOKENS:
                name = tok.val
            elif tok.kind == STRING:
                name = unquote(tok.val)
                if not _valid_label_name(name):
                    self.fail(f"invalid label name for grouping: {go_quote(name)}", tok.pos, tok.end)
            else:
                self.unexpected(tok, ctx, "label")
            labels.append(name)
            sep = self.next()
            if sep.kind == ")":
                return labels
            if sep.kind != ",":
                self.unexpected(sep, ctx, '"," or ")"')
            if self.peek().kind == ")":
                self.next()
                return labels

    # --- literals ---------------------------------------------------------------------------
    def number(self, tok: Token) -> float:
        try:
            return parse_number(tok.val)
        except ValueError as e:
            self.fail(f"error parsing number: {e}", tok.pos, tok.end)

    def duration_seconds(self, tok: Token) -> float:
        try:
            return parse_duration_ns(tok.val) / 1e9
        except ValueError as e:
            self.fail(str(e), tok.pos, tok.end)


# --- the type checker --------------------------------------------------------------------------


class _Checker:
    """Upstream's checkAST: types of operands and arguments, in evaluation order."""

    def __init__(self, query: str, bypass_empty_check: set[int]):
        self.query = query
        self.bypass = bypass_empty_check

    def fail(self, msg: str, pos: PositionRange):
        raise ParseError(msg, self.query, pos)

    def expect_type(self, node: ast.Expr, want: ValueType, context: str) -> None:
        got = self.check(node)
        if got != want:
            self.fail(f"expected type {want} in {context}, got {got}", node.pos)

    def check(self, node: ast.Expr) -> ValueType:  # noqa: C901 - one case per node kind
        typ = node.type
        if isinstance(node, ast.AggregateExpr):
            self.expect_type(node.expr, ValueType.VECTOR, "aggregation expression")
            agg = AGGREGATIONS[node.op]
            if agg.has_param:
                self.expect_type(node.param, agg.param_type, "aggregation parameter")
        elif isinstance(node, ast.BinaryExpr):
            self.check_binary(node)
        elif isinstance(node, ast.Call):
            self.check_call(node)
        elif isinstance(node, ast.ParenExpr):
            self.check(node.expr)
        elif isinstance(node, ast.UnaryExpr):
            t = self.check(node.expr)
            if t not in (ValueType.SCALAR, ValueType.VECTOR):
                self.fail("unary expression only allowed on expressions of type scalar or instant vector, "
                          f"got {go_quote(str(t))}", node.pos)
        elif isinstance(node, ast.SubqueryExpr):
            t = self.check(node.expr)
            if t != ValueType.VECTOR:
                self.fail(f"subquery is only allowed on instant vector, got {t.value} instead", node.pos)
        elif isinstance(node, ast.MatrixSelector):
            self.check(node.vector_selector)
        elif isinstance(node, ast.VectorSelector):
            self.check_selector(node)
        return typ

    def check_binary(self, n: ast.BinaryExpr) -> None:
        lt, rt = self.check(n.lhs), self.check(n.rhs)
        op = BINARY_OPERATORS[n.op]
        if n.return_bool and not op.comparison:
            self.fail("bool modifier can only be used on comparison operators", self.op_range(n))
        if op.comparison and not n.return_bool and lt == rt == ValueType.SCALAR:
            self.fail("comparisons between scalars must use BOOL modifier", self.op_range(n))
        m = n.matching
        if op.set_op and m.card == "one-to-one":
            m.card = "many-to-many"
        if m.on:
            for label in m.matching_labels:
                if label in m.include:
                    self.fail(f"label {go_quote(label)} must not occur in ON and GROUP clause at once",
                              self.op_range(n))
        for t, side in ((lt, n.lhs), (rt, n.rhs)):
            if t not in (ValueType.SCALAR, ValueType.VECTOR):
                self.fail("binary expression must contain only scalar and instant vector types", side.pos)
        if lt != ValueType.VECTOR or rt != ValueType.VECTOR:
            if m.matching_labels:
                self.fail("vector matching only allowed between instant vectors", n.pos)
            n.matching = None
        elif op.set_op and m.card in ("one-to-many", "many-to-one"):
            self.fail(f"no grouping allowed for {go_quote(n.op)} operation", n.pos)
        if ValueType.SCALAR in (lt, rt) and op.set_op:
            self.fail(f"set operator {go_quote(n.op)} not allowed in binary scalar expression", n.pos)

    def op_range(self, n: ast.BinaryExpr) -> PositionRange:
        """The operator and its modifiers, without surrounding whitespace (as upstream)."""
        q, start, end = self.query, n.lhs.pos.end, n.rhs.pos.start - 1
        while start < len(q) and q[start].isspace():
            start += 1
        while end > start and q[end].isspace():
            end -= 1
        return PositionRange(start, end)

    def check_call(self, n: ast.Call) -> None:
        f, args = n.func, n.args
        nargs, name, got = len(f.arg_types), f'"{f.name}"', len(args)  # names need no escaping
        if f.variadic == 0:
            if nargs != got:
                self.fail(f"expected {nargs} argument(s) in call to {name}, got {got}", n.pos)
        elif f.min_args > got:
            self.fail(f"expected at least {f.min_args} argument(s) in call to {name}, got {got}", n.pos)
        elif f.max_args is not None and f.max_args < got:
            self.fail(f"expected at most {f.max_args} argument(s) in call to {name}, got {got}", n.pos)
        if f.name == "info" and len(args) > 1:
            selector = args[1]
            if selector.type != ValueType.VECTOR:
                self.fail(f"expected type instant vector in call to function {name}, got {selector.type}",
                          n.pos)
            if isinstance(selector, ast.VectorSelector) and selector.name:
                self.fail("expected label selectors only, got vector selector instead", selector.pos)
            elif isinstance(selector, ast.VectorSelector):
                self.bypass.add(id(selector))
            else:
                self.fail("expected label selectors only", selector.pos)
        for i, arg in enumerate(args):
            if i >= nargs:
                if f.variadic == 0:
                    break
                i = nargs - 1
            t = self.check(arg)
            if t != f.arg_types[i]:
                self.fail(f"expected type {f.arg_types[i]} in call to function {name}, got {t}", arg.pos)

    def check_selector(self, n: ast.VectorSelector) -> None:
        if n.name:
            for m in n.matchers[:-1]:
                if m.name == METRIC_NAME:
                    self.fail(f"metric name must not be set twice: {go_quote(n.name)} or {go_quote(m.value)}",
                              n.pos)
            return
        if id(n) in self.bypass:
            return
        if not any(not m.matches_empty() for m in n.matchers):
            self.fail("vector selector must contain at least one non-empty matcher", n.pos)


# --- helpers ---------------------------------------------------------------------------------


def _round_half_away(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def _seconds_to_ms(seconds: float) -> int:
    """Seconds to ms as upstream: round to whole nanoseconds, then truncate to milliseconds."""
    ns = _round_half_away(seconds * 1e9)
    return int(abs(ns) // 1_000_000) * (1 if ns >= 0 else -1)


def _valid_label_name(name: str) -> bool:
    """Prometheus 3 (UTF-8 names): any non-empty valid UTF-8 string."""
    return bool(name) and not any("\udc80" <= c <= "\udcff" for c in name)
