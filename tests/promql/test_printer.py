"""The printer: canonical PromQL text (upstream's String()), and parse(print(parse(q))) == parse(q)."""

from __future__ import annotations

import csv
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stack.promql import ParseError, ast, format_expr, format_pretty, parse_expr
from stack.promql.printer import format_duration, format_number
from tests.promql.corpus import CORPUS_DIR
from tests.promql.test_parser_oracle import QueryGenerator

EVALS_TSV = CORPUS_DIR / "evals.tsv"


def structure(e):
    """The tree without positions or spelling (matcher order, duration notation), for comparison."""
    if isinstance(e, list):
        return [structure(x) for x in e]
    if isinstance(e, float) and math.isnan(e):
        return "NaN"
    if isinstance(e, ast.VectorMatching | ast.Expr):
        fields = {k: structure(v) for k, v in vars(e).items() if k not in ("pos", "duration")}
        if isinstance(e, ast.VectorSelector):
            fields["matchers"] = sorted(map(str, e.matchers))
        return (type(e).__name__, fields)
    return e


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("sum(rate(x[5m]))by(job)", "sum by (job) (rate(x[5m]))"),
        ("SUM WITHOUT (a)(x)", "sum without (a) (x)"),
        ('foo{b="2",a=~"1"} offset -5m @ 100', 'foo{a=~"1",b="2"} @ 100.000 offset -5m'),
        ("rate(x[90s] offset 1h)", "rate(x[1m30s] offset 1h)"),
        ("x[1h:] @ end()", "x[1h:] @ end()"),
        ("max_over_time(rate(x[1m])[30m:1m])", "max_over_time(rate(x[1m])[30m:1m])"),
        ("a+on(b)group_left(c)d", "a + on (b) group_left (c) d"),
        ("a / ignoring(code) group_right b", "a / ignoring (code) group_right () b"),
        ("a and on() b", "a and on () b"),
        ("x > bool 1", "x > bool 1"),
        ("-(1 + 2) * 3", "-(1 + 2) * 3"),
        ("topk(3, x)", "topk(3, x)"),
        ('count_values("v", x)', 'count_values("v", x)'),
        ('{"my.metric", "a.b"="x"}', '{"a.b"="x",__name__="my.metric"}'),
        ('sum by ("a.b", c) (x)', 'sum by ("a.b", c) (x)'),
        ("1e20 + 0.0000001 + 0x10", "100000000000000000000 + 0.0000001 + 16"),
        ("time() - 1h", "time() - 1h"),
        ("'it\\'s'", '"it\'s"'),
    ],
)
def test_queries_print_in_canonical_form(query, text):
    assert format_expr(parse_expr(query)) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (500, "500ms"),
        (90_000, "1m30s"),
        (86_400_000, "1d"),
        (8 * 86_400_000, "1w1d"),
        (366 * 86_400_000, "1y1d"),
        (-300_000, "-5m"),
    ],
)
def test_durations_print_in_prometheus_notation(ms, text):
    assert format_duration(ms) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.5, "-0.5"),
        (1e20, "100000000000000000000"),
        (1e-7, "0.0000001"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_numbers_print_like_go_formatfloat_without_exponent(value, text):
    assert format_number(value) == text


def test_printing_and_parsing_again_gives_the_same_tree_for_the_upstream_corpus():
    with EVALS_TSV.open() as f:
        exprs = [
            r["expr"]
            for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            if r["experimental"] == "-"
        ]
    mismatches = []
    for q in exprs:
        tree = parse_expr(q)
        text = format_expr(tree)
        if structure(parse_expr(text)) != structure(tree):
            mismatches.append(f"{q} -> {text}")
    assert not mismatches, "\n".join(mismatches)


def _first_valid_query(seed: int) -> tuple[str, ast.Expr]:
    """The first generated query from ``seed`` on that parses (about one in three does)."""
    while True:
        q = QueryGenerator(seed).query()
        try:
            return q, parse_expr(q)
        except ParseError:
            seed += 1


@settings(
    max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
)
@given(st.integers(min_value=0, max_value=2**64))
def test_round_trip_property_on_generated_queries(seed):
    q, tree = _first_valid_query(seed)
    assert structure(parse_expr(format_expr(tree))) == structure(tree), q


def test_pretty_keeps_short_queries_on_one_line():
    assert format_pretty(parse_expr("sum by(job)(rate(x[5m]))")) == "sum by (job) (rate(x[5m]))"


def test_pretty_splits_long_binary_operations_with_indented_operands():
    q = (
        'sum by (job, instance) (rate(http_requests_total{job="api-server", code=~"5.."}[5m])) '
        '/ on(job) group_left sum by (job) (rate(http_requests_total{job="api-server"}[5m])) > bool 0.05'
    )
    assert format_pretty(parse_expr(q)) == (
        '    sum by (job, instance) (rate(http_requests_total{code=~"5..",job="api-server"}[5m]))\n'
        "  / on (job) group_left ()\n"
        '    sum by (job) (rate(http_requests_total{job="api-server"}[5m]))\n'
        "> bool\n"
        "  0.05"
    )


def test_pretty_splits_long_calls_and_aggregations_one_argument_per_line():
    inner = "sum without (instance) (rate(a_rather_long_metric_name_for_the_example_seconds_total[5m])) * 100"
    assert format_pretty(parse_expr(f"topk(5, {inner})")) == f"topk(\n  5,\n  {inner}\n)"
    call = f"round({inner} + {inner}, 1)"
    assert format_pretty(parse_expr(call)) == f"round(\n    {inner}\n  +\n    {inner},\n  1\n)"


def test_pretty_output_parses_back_to_the_same_tree():
    q = (
        "-(sum(rate(a_very_long_metric_name_for_testing_purposes_total[5m])) "
        "+ sum(rate(another_long_name_total[5m])))"
    )
    tree = parse_expr(q)
    assert structure(parse_expr(format_pretty(tree))) == structure(tree)
