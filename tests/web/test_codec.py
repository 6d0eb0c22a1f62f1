"""Numbers and times are written exactly as upstream's JSON codec writes them (spec §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.model import Labels
from stack.promql.value import Matrix, Sample, Scalar, Series, String, Vector
from stack.web import codec


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1"), (0.1, "0.1"), (1e20, "100000000000000000000"), (0.00001, "0.00001"), (-0.0, "-0"),
    (1.5e-7, "1.5e-07"), (1e21, "1e+21"), (1e-6, "0.000001"), (123456.789, "123456.789"),
    (1e16, "10000000000000000"), (0.4666666666666667, "0.4666666666666667"), (-2.5, "-2.5"),
    (math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (2.5e-300, "2.5e-300"), (0.0, "0"),
])
def test_sample_values_use_shortest_digits_and_go_exponent_band(value, text):
    assert codec.format_value(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (2.0, "2"), (1e-7, "0.0000001"), (1e21, "1000000000000000000000"), (0.5, "0.5"), (math.nan, "NaN"),
])
def test_scalar_values_never_use_an_exponent(value, text):
    assert codec.format_scalar_value(value) == text


@pytest.mark.parametrize(("ms", "text"), [
    (1714557600000, "1714557600"), (1714557600500, "1714557600.500"), (1714557600050, "1714557600.050"),
    (-1500, "-1.500"), (-500, "-0.500"), (0, "0"),
])
def test_vector_timestamps_have_three_decimals_when_not_whole_seconds(ms, text):
    assert codec.format_ts(ms) == text


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1e+00"), (0.5, "5e-01"), (1234.0, "1.234e+03"), (0.0, "0e+00"), (math.nan, "NaN"),
    (-math.inf, "-Inf"), (1e-7, "1e-07"), (123.456, "1.23456e+02"),
])
def test_alert_values_use_go_percent_e(value, text):
    assert codec.format_go_e(value) == text


def test_time_fields_are_rfc3339_with_trimmed_nanoseconds_and_zero_time_for_never():
    assert codec.rfc3339(1714557600.123) == "2024-05-01T10:00:00.123Z"
    assert codec.rfc3339(1714557600) == "2024-05-01T10:00:00Z"
    assert codec.rfc3339(None) == "0001-01-01T00:00:00Z"
    assert codec.rfc3339(0) == "0001-01-01T00:00:00Z"


def test_results_encode_each_value_type_in_upstream_shapes():
    import json

    ls = Labels({"__name__": "up", "job": "node"})
    vec = json.loads(codec.result_json(Vector([Sample(ls, 1714557600500, 1.0)])))
    assert vec == {"resultType": "vector",
                   "result": [{"metric": {"__name__": "up", "job": "node"}, "value": [1714557600.5, "1"]}]}
    mat = codec.result_json(Matrix([Series(ls, np.array([1000, 2000]), np.array([1.0, math.inf])),
                                    Series(Labels({"a": "b"}), np.array([], np.int64), np.array([]))]))
    assert mat == ('{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"node"},'
                   '"values":[[1,"1"],[2,"+Inf"]]}]}')
    assert codec.result_json(Scalar(4000, 2.0)) == '{"resultType":"scalar","result":[4,"2"]}'
    assert codec.result_json(String(1500, 'a"b')) == '{"resultType":"string","result":[1.5,"a\\"b"]}'


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1e16, 1e-5, 1e21, 1e-7, 1e20, 123.0, 1e15]), max_size=40))
def test_bulk_value_formatting_agrees_with_the_one_value_rules(values):
    arr = np.array(values, dtype=np.float64)
    assert codec.values_text(arr) == [codec.format_value(v) for v in values]
