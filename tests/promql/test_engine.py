"""PromQL evaluator semantics that the upstream corpus covers thinly or only implicitly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stack.model import STALE_NAN, Labels
from stack.promql import Engine
from stack.promql import ast as A
from stack.promql.value import Matrix, Scalar, String, Vector
from stack.tsdb import Head

M = 60_000  # one minute in ms


def make_engine(series: dict[str, list[tuple[int, float]]], **kw) -> Engine:
    """``{'x{a="1"}': [(t_ms, v), ...]}`` loaded into a fresh head."""
    from tests.promql.corpus import parse_series

    head = Head()
    app = head.appender()
    for text, points in series.items():
        labels, _ = parse_series(text)
        for t, v in points:
            app.append(labels, t, v)
    app.commit()
    return Engine(head, **kw)


def values(vec: Vector) -> dict[str, float]:
    return {str(s.labels): s.v for s in vec.samples}


# --- selectors, lookback, staleness -------------------------------------------------------------

def test_instant_selector_does_not_see_a_sample_exactly_five_minutes_old():
    e = make_engine({"x": [(0, 1.0)]})
    assert values(e.instant("x", 5 * M - 1)) == {"x": 1.0}
    assert values(e.instant("x", 5 * M)) == {}


def test_stale_marker_ends_the_series_before_the_lookback_runs_out():
    e = make_engine({"x": [(0, 1.0), (M, STALE_NAN)]})
    assert values(e.instant("x", M - 1)) == {"x": 1.0}
    assert values(e.instant("x", M)) == {}
    assert values(e.instant("x", 3 * M)) == {}


def test_range_selector_is_left_open_and_skips_stale_markers():
    e = make_engine({"x": [(0, 1.0), (M, 2.0), (2 * M, STALE_NAN), (3 * M, 4.0)]})
    res = e.instant("x[3m]", 3 * M)
    assert isinstance(res, Matrix)
    (s,) = res.series
    assert s.t.tolist() == [M, 3 * M]  # t=0 lies exactly on the open boundary; the stale marker is dropped
    assert s.v.tolist() == [2.0, 4.0]


def test_offset_and_at_shift_where_the_selector_looks():
    e = make_engine({"x": [(t * M, float(t)) for t in range(11)]})
    assert values(e.instant("x offset 3m", 10 * M)) == {"x": 7.0}
    assert values(e.instant("x @ 120", 10 * M)) == {"x": 2.0}
    assert values(e.instant("x @ 120 offset -1m", 10 * M)) == {"x": 3.0}


def test_at_start_and_end_pin_to_the_range_query_bounds():
    e = make_engine({"x": [(t * M, float(t)) for t in range(11)]})
    start = e.range("x @ start()", 2 * M, 5 * M, M).series[0]
    end = e.range("x @ end()", 2 * M, 5 * M, M).series[0]
    assert start.v.tolist() == [2.0] * 4
    assert end.v.tolist() == [5.0] * 4


def test_timestamp_returns_the_sample_time_not_the_evaluation_time():
    e = make_engine({"x": [(90_000, 1.0)]})
    assert values(e.instant("timestamp(x)", 200_000)) == {"{}": 90.0}
    assert values(e.instant("timestamp(-x)", 200_000)) == {"{}": 200.0}


# --- rate family ---------------------------------------------------------------------------------

def test_rate_extrapolates_to_range_boundaries():
    # samples every 15s from 15s to 60s: 4 samples, +10 each; window (0, 60s]
    e = make_engine({"x": [(15_000 * k, 10.0 * k) for k in range(1, 5)]})
    # sampled interval 45s; gap to start 15s is within 1.1 x 15s, so extrapolate, but a counter
    # is not extrapolated below zero: duration to zero = 45 * 10/30 = 15s
    assert e.instant("increase(x[1m])", 60_000).samples[0].v == pytest.approx(40.0)
    assert e.instant("rate(x[1m])", 60_000).samples[0].v == pytest.approx(40.0 / 60)
    # delta has no zero clamp and the same extrapolation
    assert e.instant("delta(x[1m])", 60_000).samples[0].v == pytest.approx(30.0 * 60 / 45)


def test_rate_corrects_counter_resets():
    e = make_engine({"x": [(0, 5.0), (M, 10.0), (2 * M, 2.0), (3 * M, 6.0)]})
    # last - first = 1, plus 10 for the reset at 2m (the value before it); extrapolated by the 1s
    # from the window start (-1s) to the first sample: 11 * 181 / 180
    inc = e.instant("increase(x[3m1s])", 3 * M).samples[0].v
    assert inc == pytest.approx(11.0 * 181 / 180, rel=1e-12)
    assert e.instant("resets(x[5m])", 3 * M).samples[0].v == 1.0
    assert e.instant("irate(x[5m])", 3 * M).samples[0].v == pytest.approx(4.0 / 60)


def test_rate_needs_two_samples_in_the_window():
    e = make_engine({"x": [(0, 1.0), (10 * M, 2.0)]})
    assert e.instant("rate(x[5m])", 10 * M).samples == []


# --- subqueries ----------------------------------------------------------------------------------

def test_subquery_evaluates_on_multiples_of_its_step():
    e = make_engine({"x": [(t * 10_000, float(t)) for t in range(100)]})
    res = e.instant("x[1m:20s]", 95_000)
    (s,) = res.series
    assert s.t.tolist() == [40_000, 60_000, 80_000]  # (35s, 95s] on the 20s grid
    assert s.v.tolist() == [4.0, 6.0, 8.0]


# --- aggregation, matching, names ----------------------------------------------------------------

def test_sum_keeps_precision_when_large_values_cancel():
    e = make_engine({'x{i="1"}': [(0, 1e100)], 'x{i="2"}': [(0, 1.0)], 'x{i="3"}': [(0, -1e100)]})
    assert values(e.instant("sum(x)", 0)) == {"{}": 1.0}


def test_topk_orders_instant_results_and_puts_nan_last():
    e = make_engine({'x{i="1"}': [(0, 1.0)], 'x{i="2"}': [(0, math.nan)], 'x{i="3"}': [(0, 3.0)]})
    res = e.instant("topk(3, x)", 0)
    assert [s.labels.get("i") for s in res.samples] == ["3", "1", "2"]


def test_count_values_formats_values_like_go():
    e = make_engine({'x{i="1"}': [(0, 1.0)], 'x{i="2"}': [(0, 1.0)], 'x{i="3"}': [(0, 0.1)]})
    assert values(e.instant('count_values("v", x)', 0)) == {'{v="1"}': 2.0, '{v="0.1"}': 1.0}


def test_one_to_one_matching_with_duplicates_on_the_one_side_is_an_error():
    e = make_engine({'a{j="x"}': [(0, 1.0)], 'b{j="x", k="1"}': [(0, 1.0)], 'b{j="x", k="2"}': [(0, 1.0)]})
    with pytest.raises(Exception) as err:
        e.instant("a + on(j) b", 0)
    assert err.value.error_type == "execution"
    assert "found duplicate series for the match group" in str(err.value)


def test_group_left_copies_labels_from_the_one_side():
    e = make_engine({'a{j="x", i="1"}': [(0, 2.0)], 'a{j="x", i="2"}': [(0, 3.0)],
                     'info{j="x", version="v1"}': [(0, 1.0)]})
    res = values(e.instant("a * on(j) group_left(version) info", 0))
    assert res == {'{i="1", j="x", version="v1"}': 2.0, '{i="2", j="x", version="v1"}': 3.0}


def test_functions_drop_the_name_but_label_replace_can_keep_it():
    e = make_engine({'x{a="1"}': [(0, 4.0)]})
    assert values(e.instant("sqrt(x)", 0)) == {'{a="1"}': 2.0}
    kept = e.instant('label_replace(sqrt(x), "__name__", "root_$1", "__name__", "(.*)")', 0)
    assert values(kept) == {'root_x{a="1"}': 2.0}


def test_names_dropped_from_two_series_make_a_duplicate_labelset_error():
    e = make_engine({'a{l="1"}': [(0, 1.0)], 'b{l="1"}': [(0, 2.0)]})
    with pytest.raises(Exception, match="vector cannot contain metrics with the same labelset"):
        e.instant('abs({__name__=~"a|b"})', 0)


# --- result kinds and annotations -------------------------------------------------------------------

def test_scalar_and_string_results():
    e = make_engine({})
    assert e.instant("1 + 2 * 3", 5000) == Scalar(5000, 7.0)
    assert e.instant('"hello"', 5000) == String(5000, "hello")
    m = e.range("time()", 0, 2 * M, M)
    assert m.series[0].labels == Labels() and m.series[0].v.tolist() == [0.0, 60.0, 120.0]


def test_sort_in_a_range_query_is_reported_as_ineffective():
    e = make_engine({"x": [(0, 1.0)]})
    res = e.exec_range("sort(x)", 0, M, M)
    assert res.warnings == ["PromQL warning: sort is ineffective for range queries since results are "
                            "always ordered by labels"]


def test_rate_of_a_metric_not_named_like_a_counter_gets_an_info():
    e = make_engine({"temperature": [(0, 1.0), (M, 2.0)], "requests_total": [(0, 1.0), (M, 2.0)]})
    assert e.exec_instant("rate(temperature[5m])", M).infos == [
        'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: '
        '"temperature"']
    assert e.exec_instant("rate(requests_total[5m])", M).infos == []


def test_hand_built_ast_evaluates_like_the_parsed_query():
    e = make_engine({'x{a="1"}': [(0, 1.0), (M, 3.0)]})
    from stack.model import Matcher

    sel = A.VectorSelector("x", [Matcher("=", "__name__", "x")])
    expr = A.BinaryExpr("*", A.AggregateExpr("sum", sel), A.NumberLiteral(2.0))
    assert values(e.instant(expr, M)) == values(e.instant("sum(x) * 2", M)) == {"{}": 6.0}


def test_histogram_quantile_interpolates_within_the_bucket():
    series = {f'h_bucket{{le="{le}"}}': [(0, c)] for le, c in (("0.1", 10.0), ("0.5", 30.0), ("+Inf", 40.0))}
    e = make_engine(series)
    # rank 20 falls in (0.1, 0.5]: 0.1 + 0.4 * (20 - 10) / 20
    assert values(e.instant("histogram_quantile(0.5, h_bucket)", 0)) == {"{}": pytest.approx(0.3)}


def test_histogram_quantile_fixes_non_monotonic_buckets_and_says_so():
    series = {f'h_bucket{{le="{le}"}}': [(0, c)] for le, c in (("1", 10.0), ("2", 8.0), ("+Inf", 10.0))}
    res = make_engine(series).exec_instant("histogram_quantile(0.9, h_bucket)", 0)
    assert res.value.samples[0].v == pytest.approx(0.9)
    assert res.infos and "needed to be fixed for monotonicity" in res.infos[0]


def test_predict_linear_extends_the_trend():
    e = make_engine({"x": [(k * 15_000, 2.0 * k) for k in range(9)]})  # slope 2 per 15s
    assert e.instant("deriv(x[2m])", 2 * M).samples[0].v == pytest.approx(2 / 15)
    assert e.instant("predict_linear(x[2m], 60)", 2 * M).samples[0].v == pytest.approx(16 + 8)


def test_numpy_results_are_plain_arrays():
    e = make_engine({"x": [(0, 1.0)]})
    s = e.range("x", 0, M, M).series[0]
    assert isinstance(s.t, np.ndarray) and s.t.dtype == np.int64 and s.v.dtype == np.float64
