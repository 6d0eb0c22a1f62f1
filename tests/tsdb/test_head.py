"""The head's write and read contract: visibility on commit, ordering rules, ranges, metadata."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.model import STALE_NAN, Labels, Matcher, is_stale_nan
from stack.tsdb import ERR_DUPLICATE, ERR_OUT_OF_BOUNDS, ERR_OUT_OF_ORDER, Head
from stack.tsdb.chunks import SAMPLES_PER_CHUNK

UP = Labels({"__name__": "up", "job": "api", "instance": "a:1"})
UP_B = Labels({"__name__": "up", "job": "api", "instance": "b:1"})
ALL = (-(2**62), 2**62)


def name_is(name: str) -> list[Matcher]:
    return [Matcher("=", "__name__", name)]


def test_samples_are_invisible_until_commit():
    head = Head()
    app = head.appender()
    app.append(UP, 1000, 1.0)
    assert head.select(name_is("up"), *ALL) == []
    assert head.series(name_is("up")) == []
    app.commit()
    [sd] = head.select(name_is("up"), *ALL)
    assert sd.labels == UP and sd.t.tolist() == [1000] and sd.v.tolist() == [1.0]


def test_rollback_discards_pending_samples():
    head = Head()
    app = head.appender()
    app.append(UP, 1000, 1.0)
    app.rollback()
    app.commit()
    assert head.select(name_is("up"), *ALL) == []
    assert head.num_series == 0


def test_select_range_is_inclusive_and_series_come_sorted_by_labels():
    head = Head()
    app = head.appender()
    for t in range(0, 100_000, 5000):
        app.append(UP_B, t, t / 1000)
        app.append(UP, t, -t / 1000)
    app.commit()
    result = head.select(name_is("up"), 10_000, 20_000)
    assert [sd.labels for sd in result] == [UP, UP_B]
    assert result[1].t.tolist() == [10_000, 15_000, 20_000]
    assert result[1].v.tolist() == [10.0, 15.0, 20.0]
    assert result[0].t.dtype == np.int64 and result[0].v.dtype == np.float64


def test_reads_span_closed_chunks_and_the_open_chunk():
    head = Head()
    n = SAMPLES_PER_CHUNK * 3 + 17
    for i in range(n):
        app = head.appender()
        app.append(UP, i * 15_000 + (i % 3), float(i))  # slightly irregular timestamps
        app.commit()
    [sd] = head.select(name_is("up"), *ALL)
    assert sd.t.tolist() == [i * 15_000 + (i % 3) for i in range(n)]
    assert sd.v.tolist() == [float(i) for i in range(n)]
    lo, hi = 119 * 15_000, 125 * 15_000 + 2  # across the first chunk boundary
    [part] = head.select(name_is("up"), lo, hi)
    assert part.v.tolist() == [float(i) for i in range(119, 126)]


def test_out_of_order_and_duplicate_samples_are_rejected_and_counted():
    head = Head()
    app = head.appender()
    app.append(UP, 2000, 1.0)
    app.commit()
    app = head.appender()
    assert app.append(UP, 1000, 5.0) is False  # older than the last committed sample
    assert app.append(UP, 2000, 7.0) is False  # same timestamp, other value
    assert app.append(UP, 2000, 1.0) is True  # exact duplicate: silently ignored
    app.commit()
    assert app.errors == {ERR_OUT_OF_ORDER: 1, ERR_DUPLICATE: 1}
    assert (app.out_of_order, app.duplicates) == (1, 1)
    [sd] = head.select(name_is("up"), *ALL)
    assert sd.t.tolist() == [2000] and sd.v.tolist() == [1.0]


def test_out_of_order_within_one_batch_is_dropped_at_commit():
    head = Head()
    app = head.appender()
    app.append(UP, 3000, 3.0)
    app.append(UP, 1000, 1.0)
    app.append(UP, 3000, 4.0)
    app.commit()
    assert app.out_of_order == 1 and app.duplicates == 1
    [sd] = head.select(name_is("up"), *ALL)
    assert sd.t.tolist() == [3000]


def test_stale_marker_is_kept_bit_exact_and_appending_after_it_is_allowed():
    head = Head()
    app = head.appender()
    app.append(UP, 1000, 1.0)
    app.append(UP, 2000, STALE_NAN)
    app.commit()
    app = head.appender()
    assert app.append(UP, 2000, float("nan")) is False  # an ordinary NaN is another value
    assert app.append(UP, 3000, 1.0) is True
    app.commit()
    [sd] = head.select(name_is("up"), *ALL)
    assert sd.t.tolist() == [1000, 2000, 3000]
    assert is_stale_nan(float(sd.v[1])) and sd.v[2] == 1.0


def test_samples_older_than_the_truncation_point_are_out_of_bounds():
    head = Head()
    app = head.appender()
    for t in (1000, 2000, 3000):
        app.append(UP, t, 1.0)
    app.commit()
    head.truncate(2500)
    app = head.appender()
    app.append(UP_B, 2000, 1.0)
    app.commit()
    assert app.errors == {ERR_OUT_OF_BOUNDS: 1}
    assert [sd.t.tolist() for sd in head.select(name_is("up"), *ALL)] == [[3000]]
    assert head.min_time == 3000


def test_truncation_removes_series_left_without_samples():
    head = Head()
    app = head.appender()
    app.append(UP, 1000, 1.0)
    app.append(UP_B, 5000, 1.0)
    app.commit()
    head.truncate(2000)
    assert head.series(name_is("up")) == [UP_B]
    assert head.label_values("instance") == ["b:1"]


def test_series_and_label_queries_honour_the_time_range():
    head = Head()
    app = head.appender()
    app.append(UP, 1000, 1.0)
    app.append(Labels({"__name__": "late", "zone": "z1"}), 9000, 1.0)
    app.commit()
    assert head.label_names() == ["__name__", "instance", "job", "zone"]
    assert head.label_names(mint=5000, maxt=10_000) == ["__name__", "zone"]
    assert head.label_values("__name__") == ["late", "up"]
    assert head.label_values("__name__", mint=0, maxt=2000) == ["up"]
    assert head.label_values("instance", [Matcher("=", "job", "api")]) == ["a:1"]
    assert head.series([Matcher("=~", "__name__", ".+")], 2000, 8000) == []


def test_delete_removes_only_the_given_range():
    head = Head()
    app = head.appender()
    for t in range(0, 10_000, 1000):
        app.append(UP, t, t)
    app.commit()
    head.delete_series(name_is("up"), 3000, 5000)
    [sd] = head.select(name_is("up"), *ALL)
    assert sd.t.tolist() == [0, 1000, 2000, 6000, 7000, 8000, 9000]


def test_stats_count_series_by_metric_name_and_label_values():
    head = Head()
    app = head.appender()
    for i in range(3):
        app.append(Labels({"__name__": "a", "i": str(i)}), 1000, 1.0)
    app.append(Labels({"__name__": "b", "i": "0"}), 2000, 1.0)
    app.commit()
    stats = head.stats()
    assert stats["headStats"]["numSeries"] == 4
    assert stats["headStats"]["minTime"] == 1000 and stats["headStats"]["maxTime"] == 2000
    assert stats["seriesCountByMetricName"] == [{"name": "a", "value": 3}, {"name": "b", "value": 1}]
    assert {"name": "i", "value": 3} in stats["labelValueCountByLabelName"]
    assert stats["seriesCountByLabelValuePair"][0] == {"name": "__name__=a", "value": 3}
    assert set(stats) == {"headStats", "seriesCountByMetricName", "labelValueCountByLabelName",
                          "memoryInBytesByLabelName", "seriesCountByLabelValuePair"}  # upstream's keys
    assert {"name": "i", "value": 4} in stats["memoryInBytesByLabelName"]  # 4 values of 1 byte
    assert head.sample_stats()["numSamples"] == 4


@pytest.mark.parametrize("n", [1, SAMPLES_PER_CHUNK, SAMPLES_PER_CHUNK + 1])
def test_head_stores_regular_data_in_under_16_bytes_per_sample_once_chunks_close(n):
    head = Head()
    for i in range(SAMPLES_PER_CHUNK * 10 + n):
        app = head.appender()
        app.append(UP, 5000 * i, float(i))
        app.commit()
    stats = head.sample_stats()
    assert stats["sampleBytes"] / stats["numSamples"] < 16


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from([UP, UP_B]), st.integers(0, 400),
                                   st.sampled_from([0.0, 1.0, 2.0])), max_size=30), max_size=30))
def test_head_agrees_with_a_simple_model_of_upstream_ordering_rules(batches):
    head, model = Head(), {UP: {}, UP_B: {}}
    for batch in batches:
        app = head.appender()
        for labels, t, v in batch:
            app.append(labels, t * 1000, v)
        app.commit()
        for labels, t, v in batch:  # the model: in order, keep only newer timestamps
            series = model[labels]
            if not series or t * 1000 > max(series):
                series[t * 1000] = v
    got = {sd.labels: dict(zip(sd.t.tolist(), sd.v.tolist(), strict=True))
           for sd in head.select(name_is("up"), *ALL)}
    assert got == {k: v for k, v in model.items() if v}


def test_an_appender_survives_its_series_being_dropped_by_truncation_before_commit():
    head = Head()
    app = head.appender()
    app.append(UP, 1000, 1.0)
    app.commit()
    late = head.appender()
    late.append(UP, 9000, 2.0)  # holds the series...
    head.truncate(5000)  # ...which truncation drops, as it has no sample left
    late.commit()
    [sd] = head.select(name_is("up"), *ALL)
    assert sd.t.tolist() == [9000] and head.series(name_is("up")) == [UP]
