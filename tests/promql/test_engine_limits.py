"""Query limits and error types: a query that is too big or wrong fails clearly, never hangs."""

from __future__ import annotations

import pytest

from stack.model import Labels
from stack.promql import (
    BadDataError,
    Engine,
    ExecutionError,
    QueryCanceledError,
    QueryTimeoutError,
    TooManySamplesError,
)
from stack.tsdb import Head


def _engine(n_series: int = 3, n_points: int = 100, **kw) -> Engine:
    head = Head()
    app = head.appender()
    for i in range(n_series):
        for k in range(n_points):
            app.append(Labels({"__name__": "x", "i": str(i)}), k * 15_000, float(k))
    app.commit()
    return Engine(head, **kw)


def test_too_many_samples_is_an_execution_error_with_upstreams_message():
    e = _engine(n_series=3, n_points=100, max_samples=100)
    with pytest.raises(TooManySamplesError) as err:
        e.instant("sum_over_time(x[1h])", 100 * 15_000)  # 3 series x 100 samples in the window
    assert err.value.error_type == "execution"
    assert str(err.value) == "query processing would load too many samples into memory in query execution"
    assert _engine(max_samples=1000).instant("sum_over_time(x[1h])", 100 * 15_000).samples


def test_a_dense_working_array_over_the_limit_is_refused_before_it_is_allocated():
    e = _engine(n_series=3, n_points=100, max_samples=1000)
    with pytest.raises(TooManySamplesError):
        e.range("x", 0, 400 * 15_000, 15_000)  # 3 series x 401 steps
    assert len(e.range("x", 0, 300 * 15_000, 15_000).series) == 3  # 3 x 301 fits


def test_samples_in_windows_count_per_step_not_summed_over_the_range():
    # 3 series x 20 samples per 5m window = 60 at the busiest step, although 121 steps x 60 > 1000
    e = _engine(n_series=3, n_points=200, max_samples=1000)
    assert len(e.range("rate(x[5m])", 0, 120 * 15_000, 15_000).series) == 3


def test_a_huge_subquery_grid_is_refused_before_it_is_built():
    e = _engine(max_samples=10_000)
    with pytest.raises(TooManySamplesError):
        e.instant("max_over_time(x[1y:1ms])", 0)


def test_range_query_resolution_is_capped_at_11000_points():
    e = _engine()
    with pytest.raises(BadDataError) as err:
        e.range("x", 0, 11_001 * 1000, 1000)  # upstream refuses (end - start) / step > 11,000
    assert str(err.value) == ("exceeded maximum resolution of 11,000 points per timeseries. "
                              "Try decreasing the query resolution (?step=XX)")
    assert err.value.error_type == "bad_data"
    assert len(e.range("x", 0, 11_000 * 1000, 1000).series) == 3  # still allowed


def test_lookback_delta_can_be_set_per_query():
    e = _engine(n_series=1, n_points=1)  # one sample at t=0
    assert e.exec_instant("x", 60_000, lookback_delta_ms=30_000).value.samples == []
    assert len(e.exec_instant("x", 60_000).value.samples) == 1


def test_timeout_is_reported_as_a_timeout():
    e = _engine(timeout_s=0)
    with pytest.raises(QueryTimeoutError) as err:
        e.instant("x", 0)
    assert err.value.error_type == "timeout"


def test_a_cancelled_query_stops_with_a_canceled_error():
    import threading

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(QueryCanceledError) as err:
        _engine().exec_range("x", 0, 60_000, 15_000, cancel=cancel)
    assert err.value.error_type == "canceled"
    assert _engine().exec_range("x", 0, 60_000, 15_000, cancel=threading.Event()).value.series


def test_parse_errors_are_bad_data_with_a_position():
    with pytest.raises(BadDataError) as err:
        _engine().instant("sum(x", 0)
    assert str(err.value).startswith("1:6: parse error")
    assert err.value.pos == 5


def test_range_query_of_a_range_vector_is_bad_data():
    with pytest.raises(BadDataError, match='invalid expression type "range vector" for range query'):
        _engine().range("x[5m]", 0, 60_000, 15_000)


@pytest.mark.parametrize("start,end,step,message", [
    (0, 60_000, 0, "zero or negative query resolution step widths are not accepted"),
    (60_000, 0, 15_000, "end timestamp must not be before start time"),
])
def test_bad_range_parameters_are_bad_data(start, end, step, message):
    with pytest.raises(BadDataError, match=message):
        _engine().range("x", start, end, step)


def test_many_to_many_matching_is_an_execution_error():
    with pytest.raises(ExecutionError, match="many-to-many matching not allowed"):
        _engine().instant("x + on() x", 60_000)


def test_invalid_label_replace_regex_is_bad_data():
    with pytest.raises(BadDataError, match=r"invalid regular expression in label_replace\(\)"):
        _engine().instant('label_replace(x, "a", "b", "i", "(")', 0)
