"""stack.exposition: the strict text-format parser and the Go-style renderer the Pushgateway relies on.

(Kept here because the Pushgateway is its first user; it would move to tests/stack/ with the module.)
"""

from __future__ import annotations

import math

import pytest

from stack.exposition import Metric, MetricFamily, ParseError, format_float, parse_text, render_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1714561234.5678, "1.7145612345678e+09"),
        (42.7, "42.7"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1e-5, "1e-05"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.2721, "0.2721"),
        (1.0, "1"),
        (-0.0, "-0"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (-3.5e-7, "-3.5e-07"),
    ],
)
def test_format_float_matches_go_shortest_g(value, text):
    assert format_float(value) == text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a 1", "line 1: unexpected end of input stream"),
        ("a b\n", 'line 1: expected float as value, got "b"'),
        ("ok 1\n# TYPE a foo\n", 'line 2: unknown metric type "foo"'),
        ("# TYPE a gauge\n# TYPE a gauge\n", 'line 2: second TYPE line for metric name "a"'),
        ("a 1\n# TYPE a gauge\n", "or TYPE reported after samples"),
        ("# HELP a x\n# HELP a y\n", 'line 2: second HELP line for metric name "a"'),
        ('a{b="1",b="2"} 1\n', 'duplicate label names for metric "a"'),
        ('a{__name__="x"} 1\n', 'label name "__name__" is reserved'),
        ('a{1b="x"} 1\n', 'invalid label name for metric "a"'),
        ('a{b="\\x"} 1\n', "invalid escape sequence"),
        ("a 1 x\n", 'expected integer as timestamp, got "x"'),
        ("a 1 2 3\n", 'spurious string after timestamp: "3"'),
        ("a 1_000\n", 'expected float as value, got "1_000"'),
        ("# TYPE h histogram\nh_bucket 1\n", 'has no "le" label'),
        ("# TYPE h histogram\nh 1\n", "needs a _bucket, _sum or _count suffix"),
        ('# TYPE s summary\ns{quantile="x"} 1\n', 'expected float for "quantile" label'),
    ],
)
def test_parse_errors_name_the_line_and_the_problem(body, message):
    with pytest.raises(ParseError) as e:
        parse_text(body)
    assert str(e.value).startswith("text format parsing error in line")
    assert message in str(e.value)


def test_parse_groups_histogram_and_summary_parts_into_one_metric():
    fams = {
        f.name: f
        for f in parse_text(
            '# TYPE h histogram\nh_bucket{a="1",le="0.5"} 2\nh_bucket{a="1",le="+Inf"} 3\nh_sum{a="1"} 4\n'
            'h_count{a="1"} 3\n# TYPE s summary\ns{quantile="0.9"} 7\ns_sum 1\ns_count 2\n'
            "# HELP only_help no samples, dropped\n"
        )
    }
    assert set(fams) == {"h", "s"}
    (h,) = fams["h"].metrics
    assert (h.labels, h.buckets, h.sum, h.count) == ({"a": "1"}, {0.5: 2.0, math.inf: 3.0}, 4.0, 3.0)
    (s,) = fams["s"].metrics
    assert (s.quantiles, s.sum, s.count) == ({0.9: 7.0}, 1.0, 2.0)


def test_label_values_and_help_are_unescaped_and_escaped_back():
    text = '# HELP a Multi\\nline \\\\ help\n# TYPE a gauge\na{v="q\\"uote\\\\ \\nnl"} 1\n'
    (fam,) = parse_text(text)
    assert fam.help == "Multi\nline \\ help"
    assert fam.metrics[0].labels == {"v": 'q"uote\\ \nnl'}
    assert render_text([fam]) == text


def test_render_sorts_families_by_name_and_metrics_by_label_count_then_values():
    fam = MetricFamily(
        "x", "gauge", "", [Metric({"a": "2", "b": "1"}, 1), Metric({"a": "1"}, 2), Metric({}, 3)]
    )
    text = render_text([MetricFamily("z", "untyped", "", [Metric({}, 0)]), fam])
    assert text == ('# TYPE x gauge\nx 3\nx{a="1"} 2\nx{a="2",b="1"} 1\n# TYPE z untyped\nz 0\n')
