"""The PromQL parser: the trees it builds, and the errors it reports in upstream's words and places."""

from __future__ import annotations

import csv
import math

import pytest

from stack.model import Matcher
from stack.promql import ParseError, ast, parse_expr
from stack.promql.ast import PositionRange, ValueType
from stack.promql.functions import AGGREGATIONS, BINARY_OPERATORS, FUNCTIONS
from tests.promql.corpus import CORPUS_DIR

EVALS_TSV = CORPUS_DIR / "evals.tsv"


def shape(e: ast.Expr) -> str:
    """A compact rendering of the tree's structure, with explicit grouping."""
    if isinstance(e, ast.BinaryExpr):
        return f"({shape(e.lhs)} {e.op} {shape(e.rhs)})"
    if isinstance(e, ast.UnaryExpr):
        return f"({e.op}{shape(e.expr)})"
    if isinstance(e, ast.NumberLiteral):
        return f"{e.val:g}"
    if isinstance(e, ast.VectorSelector):
        return e.name
    if isinstance(e, ast.ParenExpr):
        return f"[{shape(e.expr)}]"
    raise AssertionError(type(e))


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c", "((a * b) + c)"),
        ("a - b - c", "((a - b) - c)"),
        ("a ^ b ^ c", "(a ^ (b ^ c))"),
        ("a or b and c", "(a or (b and c))"),
        ("a and b unless c", "((a and b) unless c)"),
        ("a == b + c", "(a == (b + c))"),
        ("a > b or c < d", "((a > b) or (c < d))"),
        ("a atan2 b * c", "((a atan2 b) * c)"),
        ("a % b / c", "((a % b) / c)"),
        ("-a ^ b", "(-(a ^ b))"),
        ("-a * b", "((-a) * b)"),
        ("a ^ -b", "(a ^ (-b))"),
        ("a + -b * c", "(a + ((-b) * c))"),
        ("(a + b) * c", "([(a + b)] * c)"),
    ],
)
def test_operators_follow_upstream_precedence_and_associativity(query, tree):
    assert shape(parse_expr(query)) == tree


def test_unary_minus_binds_below_power_so_minus_two_squared_is_minus_four():
    e = parse_expr("-2^2")
    assert isinstance(e, ast.UnaryExpr) and e.op == "-"
    assert isinstance(e.expr, ast.BinaryExpr) and e.expr.op == "^"


def test_a_signed_number_is_folded_into_the_literal():
    e = parse_expr("-1.5")
    assert isinstance(e, ast.NumberLiteral) and e.val == -1.5 and e.pos == PositionRange(0, 4)
    assert parse_expr("- - 2").val == 2


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("12.34e6", 12.34e6),
        (".2", 0.2),
        ("2.", 2.0),
        ("0x1F", 31.0),
        ("0755", 493.0),
        ("+Inf", math.inf),
        ("-inf", -math.inf),
        ("1m", 60.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
    ],
)
def test_number_literals_include_hex_octal_inf_and_durations_in_seconds(query, value):
    e = parse_expr(query)
    assert isinstance(e, ast.NumberLiteral) and e.val == value and e.type == ValueType.SCALAR


def test_nan_literal():
    assert math.isnan(parse_expr("NaN").val)


def test_string_literals_in_all_three_quotings():
    assert [parse_expr(q).val for q in ('"a\\tb"', "'c\\'d'", "`e\\f`")] == ["a\tb", "c'd", "e\\f"]


def test_selector_matchers_end_with_the_metric_name_equality_matcher():
    e = parse_expr('http_requests_total{job="api", code!="200", path=~"/a.*", method!~"GET|HEAD"}')
    assert isinstance(e, ast.VectorSelector) and e.name == "http_requests_total"
    assert e.matchers == [
        Matcher("=", "job", "api"),
        Matcher("!=", "code", "200"),
        Matcher("=~", "path", "/a.*"),
        Matcher("!~", "method", "GET|HEAD"),
        Matcher("=", "__name__", "http_requests_total"),
    ]
    assert e.pos == PositionRange(
        0, len('http_requests_total{job="api", code!="200", path=~"/a.*", method!~"GET|HEAD"}')
    )


def test_utf8_metric_and_label_names_are_written_quoted_inside_braces():
    e = parse_expr('{"my.metric", "a.b"="x"}')
    assert e.name == "" and e.matchers == [Matcher("=", "__name__", "my.metric"), Matcher("=", "a.b", "x")]


def test_keywords_can_name_metrics_where_unambiguous():
    assert parse_expr("sum").name == "sum"
    assert parse_expr('by{a="b"} + offset').lhs.name == "by"


def test_offset_and_at_modifiers_are_stored_in_milliseconds():
    e = parse_expr("foo offset -1h30m @ 1609746000.5")
    assert (e.offset, e.timestamp) == (-5_400_000, 1_609_746_000_500)
    assert parse_expr("foo @ start()").start_or_end == "start"
    assert parse_expr("foo offset 90").offset == 90_000


def test_range_selector_keeps_offset_and_at_on_its_vector_selector():
    e = parse_expr("rate(x[5m] @ end() offset 1m)").args[0]
    assert isinstance(e, ast.MatrixSelector) and e.range == 300_000 and e.type == ValueType.MATRIX
    assert (e.vector_selector.offset, e.vector_selector.start_or_end) == (60_000, "end")
    assert e.pos == PositionRange(5, 28)


@pytest.mark.parametrize(
    ("query", "rng", "step"),
    [
        ("x[30m:]", 1_800_000, 0),
        ("x[30m:1m]", 1_800_000, 60_000),
        ("rate(x[5m])[1h:5s]", 3_600_000, 5_000),
        ("x[1.5:0.5]", 1_500, 500),
    ],
)
def test_subqueries_with_and_without_step(query, rng, step):
    e = parse_expr(query)
    assert isinstance(e, ast.SubqueryExpr) and (e.range, e.step) == (rng, step)


def test_subquery_takes_its_own_modifiers():
    e = parse_expr("min_over_time(rate(x[1m])[5m:] offset 1h @ 100)").args[0]
    assert (e.offset, e.timestamp) == (3_600_000, 100_000)


@pytest.mark.parametrize(
    "query", ["sum by (job, mode) (x)", "sum(x) by (job, mode)", "sum by (job, mode,) (x)"]
)
def test_aggregation_grouping_may_come_before_or_after_the_body(query):
    e = parse_expr(query)
    assert isinstance(e, ast.AggregateExpr) and e.grouping == ["job", "mode"] and not e.without


def test_aggregations_with_parameters():
    e = parse_expr('count_values without (instance) ("version", build_info)')
    assert (e.op, e.param.val, e.without, e.grouping) == ("count_values", "version", True, ["instance"])
    assert parse_expr("topk(3, x)").param.val == 3
    assert parse_expr("quantile(0.9, x)").param.val == 0.9


def test_every_aggregation_operator_parses():
    for name, agg in AGGREGATIONS.items():
        param = '"l", ' if agg.param_type == ValueType.STRING else ("1, " if agg.has_param else "")
        assert parse_expr(f"{name}({param}x)").op == name


def test_vector_matching_modifiers():
    e = parse_expr("a * on(job) group_left(version) b")
    m = e.matching
    assert (m.card, m.on, m.matching_labels, m.include) == ("many-to-one", True, ["job"], ["version"])
    m = parse_expr("a / ignoring(code) group_right b").matching
    assert (m.card, m.on, m.matching_labels, m.include) == ("one-to-many", False, ["code"], [])


def test_set_operators_are_many_to_many_and_comparisons_may_return_bool():
    assert parse_expr("a and b").matching.card == "many-to-many"
    e = parse_expr("a > bool 1")
    assert e.return_bool and e.matching is None
    assert parse_expr("1 < bool 2").type == ValueType.SCALAR


def test_binary_operators_between_scalars_drop_vector_matching():
    assert parse_expr("1 + 2").matching is None


def test_every_function_in_the_table_parses_with_arguments_of_its_types():
    samples = {
        ValueType.SCALAR: "1",
        ValueType.VECTOR: "x",
        ValueType.MATRIX: "x[5m]",
        ValueType.STRING: '"s"',
    }
    for f in FUNCTIONS.values():
        args = [samples[t] for t in f.arg_types]
        if f.name == "info":
            args[1] = '{a="b"}'
        call = parse_expr(f"{f.name}({', '.join(args)})")
        assert isinstance(call, ast.Call) and call.func is f and call.type == f.return_type


def test_optional_and_repeated_arguments():
    assert len(parse_expr("round(x)").args) == 1
    assert len(parse_expr("hour()").args) == 0
    assert len(parse_expr('label_join(x, "d", ",", "a", "b", "c")').args) == 6


def test_binary_operator_table_lists_every_operator():
    assert set(BINARY_OPERATORS) == {
        "or",
        "and",
        "unless",
        "==",
        "!=",
        "<=",
        "<",
        ">=",
        ">",
        "</",
        ">/",
        "+",
        "-",
        "*",
        "/",
        "%",
        "atan2",
        "^",
    }


def test_experimental_functions_can_be_refused():
    with pytest.raises(ParseError, match='function "sort_by_label" is not enabled'):
        parse_expr('sort_by_label(x, "a")', experimental_functions=False)
    with pytest.raises(ParseError, match="limitk\\(\\) is experimental"):
        parse_expr("limitk(1, x)", experimental_functions=False)


# Errors: (query, 0-based character position, message), as Prometheus 3 reports them.
ERRORS = [
    ("", 0, "no expression found in input"),
    ("# just a comment\n\n", 0, "no expression found in input"),
    ("1+", 2, "unexpected end of input"),
    ("*1", 0, "unexpected <op:*>"),
    ("-=", 1, 'unexpected "="'),
    ("(", 1, "unclosed left parenthesis"),
    ("sum(rate(x[5m])", 15, "unclosed left parenthesis"),
    ("1 and 1", 0, 'set operator "and" not allowed in binary scalar expression'),
    ("foo or 1", 0, 'set operator "or" not allowed in binary scalar expression'),
    ("1 == 1", 2, "comparisons between scalars must use BOOL modifier"),
    ("foo + bool bar", 4, "bool modifier can only be used on comparison operators"),
    (
        '-"string"',
        0,
        'unary expression only allowed on expressions of type scalar or instant vector, got "string"',
    ),
    (
        "-test[5m]",
        0,
        'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"',
    ),
    (
        "1 offset 1d",
        0,
        "offset modifier must be preceded by an instant vector selector or range vector selector "
        "or a subquery",
    ),
    ("foo offset 1s offset 2s", 0, "offset may not be set multiple times"),
    ("a - on(b) ignoring(c) d", 10, "unexpected <ignoring>"),
    ("1 or on(bar) foo", 0, "vector matching only allowed between instant vectors"),
    ("foo + group_left(baz) bar", 6, "unexpected <group_left>"),
    ("foo and on(bar) group_left(baz) bar", 0, 'no grouping allowed for "and" operation'),
    (
        'x{g="p"} + on(instance) group_left(job,instance) y',
        9,
        'label "instance" must not occur in ON and GROUP clause at once',
    ),
    ("foo @ +Inf", 0, "timestamp out of bounds for @ modifier: +Inf"),
    ("foo @ NaN", 0, "timestamp out of bounds for @ modifier: NaN"),
    ("some_metric{a=b}", 14, 'unexpected identifier "b" in label matching, expected string'),
    ("foo{gibberish}", 13, 'unexpected "}" in label matching, expected label matching operator'),
    ("foo{,}", 4, 'unexpected "," in label matching, expected identifier or "}"'),
    ('foo{__name__="bar" lol}', 19, 'unexpected identifier "lol" in label matching, expected "," or "}"'),
    ("{}", 0, "vector selector must contain at least one non-empty matcher"),
    ('{x=""}', 0, "vector selector must contain at least one non-empty matcher"),
    ('{x=~".*"}', 0, "vector selector must contain at least one non-empty matcher"),
    ('foo{__name__="bar"}', 0, 'metric name must not be set twice: "foo" or "bar"'),
    ("foo[5y1hs]", 4, 'unknown unit "hs" in duration "5y1hs"'),
    ("foo[5m1h]", 4, 'not a valid duration string: "5m1h"'),
    ("foo[0m]", 4, "duration must be greater than 0"),
    ("foo[-1]", 4, "duration must be greater than 0"),
    (
        "foo[]",
        4,
        'unexpected "]" in subquery or range selector, expected number, duration, step(), or range()',
    ),
    ("foo[9.5e10]", 4, "duration out of range"),
    ("foo offset 9.5e10", 11, "duration out of range"),
    (
        "some_metric[5m] OFFSET",
        22,
        "unexpected end of input in offset, expected number, duration, step(), or range()",
    ),
    ("some_metric OFFSET 1m[5m]", 21, "no offset modifiers allowed before range"),
    ("some_metric[5m] @", 17, "unexpected end of input in @, expected timestamp"),
    ("some_metric @ 1234 [5m]", 19, "no @ modifiers allowed before range"),
    ("(foo + bar)[5m]", 11, "ranges only allowed for vector selectors"),
    ("rate(food[1m])[1h] offset 1h", 14, "ranges only allowed for vector selectors"),
    ("test[5d] OFFSET 10s [10m:5s]", 0, "subquery is only allowed on instant vector, got matrix instead"),
    ('sum by ("foo)(some_metric{})', 8, "unterminated quoted string"),
    ("sum without(==)(some_metric)", 12, "unexpected <op:==> in grouping opts, expected label"),
    ("sum without(foo,,)(some_metric)", 16, 'unexpected "," in grouping opts, expected label'),
    ("sum some_metric by (test)", 4, 'unexpected identifier "some_metric"'),
    ("sum (some_metric) by test", 21, 'unexpected identifier "test" in grouping opts, expected "("'),
    ("sum () by (test)", 0, "no arguments for aggregate expression provided"),
    ("sum (some_metric) without (test) by (test)", 33, "unexpected <by>"),
    ("sum(foo bar)", 8, 'unexpected identifier "bar" in aggregation'),
    (
        "topk(some_metric)",
        0,
        "wrong number of arguments for aggregate expression provided, expected 2, got 1",
    ),
    ("topk(some_metric,)", 16, "trailing commas not allowed in function call args"),
    (
        "topk(some_metric, other_metric)",
        5,
        "expected type scalar in aggregation parameter, got instant vector",
    ),
    ("count_values(5, other_metric)", 13, "expected type string in aggregation parameter, got scalar"),
    (
        "rate(some_metric[5m]) @ 1234",
        0,
        "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
    ),
    ("floor()", 0, 'expected 1 argument(s) in call to "floor", got 0'),
    ("floor(1)", 6, 'expected type instant vector in call to function "floor", got scalar'),
    ("hour(a, b, c)", 0, 'expected at most 1 argument(s) in call to "hour", got 3'),
    ('label_join(x, "a")', 0, 'expected at least 3 argument(s) in call to "label_join", got 2'),
    ("non_existent_function_far_bar()", 0, 'unknown function with name "non_existent_function_far_bar"'),
    ("rate(some_metric)", 5, 'expected type range vector in call to function "rate", got instant vector'),
    ("a>b()", 2, 'unknown function with name "b"'),
    ('sum by ("") (x)', 8, 'invalid label name for grouping: ""'),
    ('info(x, target_info{foo="bar"})', 8, "expected label selectors only, got vector selector instead"),
    ('foo{a=~"(.*"}', 4, "error parsing regexp: missing closing ): `^(?s:(.*)$`"),
    ("1 + 1m1", 4, 'bad number or duration syntax: "1m1"'),
    ("1e999", 0, 'error parsing number: strconv.ParseFloat: parsing "1e999": value out of range'),
    # Experimental syntax is recognised and refused, as Prometheus does without its feature flags.
    ("foo[5m+1m]", 4, "experimental duration expression is not enabled"),
    ("foo offset (1h)", 11, "experimental duration expression is not enabled"),
    ("foo[step()]", 4, "experimental duration expression is not enabled"),
    ("rate(foo[5m] anchored)", 5, "anchored modifier is experimental and not enabled"),
    ("foo[5m] smoothed", 0, "smoothed modifier is experimental and not enabled"),
    ("a + fill(0) b", 0, "binop fill modifiers are experimental and not enabled"),
]


@pytest.mark.parametrize(("query", "pos", "msg"), ERRORS)
def test_invalid_queries_are_refused_with_upstreams_message_and_position(query, pos, msg):
    with pytest.raises(ParseError) as e:
        parse_expr(query)
    assert (e.value.position, e.value.msg) == (pos, msg)


def test_error_string_is_line_colon_column_parse_error_message():
    with pytest.raises(ParseError) as e:
        parse_expr("sum(rate(x[5m])")
    assert str(e.value) == "1:16: parse error: unclosed left parenthesis"
    assert e.value.error_type == "bad_data"


def test_error_lines_and_columns_count_characters_of_the_line():
    with pytest.raises(ParseError) as e:
        parse_expr('sum(\n  rate({"é"="x"}[5m]) +\n  bool 1)')
    assert (e.value.line, e.value.column) == (2, 23)
    assert str(e.value).startswith("2:23: parse error:")


def test_caret_points_under_the_error_in_the_query():
    with pytest.raises(ParseError) as e:
        parse_expr('up{job="a"} + on(x) group_left bar{a=b}')
    assert e.value.caret() == (
        'up{job="a"} + on(x) group_left bar{a=b}\n'
        "                                     ^\n"
        '1:38: parse error: unexpected identifier "b" in label matching, expected string'
    )
    assert e.value.position_range == PositionRange(37, 38)


def test_caret_on_a_later_line_shows_that_line():
    with pytest.raises(ParseError) as e:
        parse_expr("sum(\n  foo bar)")
    assert e.value.caret().splitlines()[:2] == ["  foo bar)", "      ^~~"]


def _corpus_expressions(experimental: bool) -> list[str]:
    with EVALS_TSV.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["expr"] for r in rows if (r["experimental"] != "-") == experimental]


def test_every_stable_expression_of_the_upstream_corpus_parses():
    exprs = _corpus_expressions(experimental=False)
    failures = []
    for q in exprs:
        try:
            parse_expr(q)
        except ParseError as e:
            failures.append(f"{q}: {e}")
    assert len(exprs) == 1849 and not failures, "\n".join(failures)


def test_absurdly_deep_nesting_is_a_parse_error_not_a_crash():
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_expr("(" * 5000 + "1" + ")" * 5000)


def test_a_hundred_levels_of_nesting_still_parse():
    assert isinstance(parse_expr("(" * 100 + "1" + ")" * 100), ast.ParenExpr)


@pytest.mark.parametrize(
    ("name", "least", "most"),
    [("rate", 1, 1), ("round", 1, 2), ("hour", 0, 1), ("label_join", 3, None), ("info", 1, 2), ("pi", 0, 0)],
)
def test_function_table_arity_follows_upstreams_variadic_rule(name, least, most):
    assert (FUNCTIONS[name].min_args, FUNCTIONS[name].max_args) == (least, most)


def test_parse_error_exposes_position_and_range_for_tools():
    with pytest.raises(ParseError) as e:
        parse_expr("rate(x)")
    err = e.value
    assert (err.position, err.pos, err.position_range) == (5, 5, PositionRange(5, 6))
    assert err.render() == err.caret()
