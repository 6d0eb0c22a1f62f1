"""A matrix is encoded in bulk (each distinct time and value formatted once) with the very text
the one-point rules give."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.model import Labels
from stack.promql.value import Matrix, Series
from stack.web import codec


def _one_by_one(mat: Matrix) -> str:
    parts = []
    for s in mat.series:
        if len(s.t):
            points = ",".join(f'[{codec.format_ts(t)},"{codec.format_value(v)}"]'
                              for t, v in zip(s.t.tolist(), s.v.tolist(), strict=True))
            parts.append('{"metric":' + codec.labels_json(s.labels) + ',"values":[' + points + "]}")
    return "[" + ",".join(parts) + "]"


VALUES = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1.0, 2.5, 1e16, 1e15, 1e-7, 1 / 3, -4.0])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(-5_000, 5_000), max_size=8), st.lists(VALUES, max_size=8)),
                max_size=5))
def test_matrix_text_equals_formatting_point_by_point(rows):
    series = []
    for i, (times, values) in enumerate(rows):
        n = min(len(times), len(values))
        t = np.array(sorted(set(times))[:n], np.int64) * 500
        series.append(Series(Labels({"i": str(i)}), t, np.array(values[: len(t)], np.float64)))
    mat = Matrix(series)
    assert codec.matrix_json(mat) == _one_by_one(mat)


def test_repeated_values_keep_their_sign_and_form():
    v = np.array([0.0, -0.0, 3.0, -0.0, 0.1, 0.1, 1e21, 3.0, 1e-7] * 5)
    t = 1_714_557_600_000 + 1500 * np.arange(len(v), dtype=np.int64)
    mat = Matrix([Series(Labels({"a": "b"}), t, v), Series(Labels({"a": "c"}), t, v[::-1].copy())])
    text = codec.matrix_json(mat)
    assert text == _one_by_one(mat)
    first = json.loads(text)[0]["values"]
    assert [p[1] for p in first[:9]] == ["0", "-0", "3", "-0", "0.1", "0.1", "1e+21", "3", "1e-07"]
    assert first[1][0] == 1714557601.5
