"""Selections as pandas DataFrames: long and wide shapes, dtypes, stale markers dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stack.model import STALE_NAN, Labels, Matcher
from stack.tsdb import Head, long_frame, select_frame, wide_frame

A = Labels({"__name__": "temp", "room": "a"})
B = Labels({"__name__": "temp", "room": "b", "floor": "1"})


@pytest.fixture
def head() -> Head:
    h = Head()
    app = h.appender()
    for t, va, vb in [(0, 20.0, 18.0), (15_000, 21.0, STALE_NAN), (30_000, 22.0, None)]:
        app.append(A, t, va)
        if vb is not None:
            app.append(B, t, vb)
    app.append(B, 45_000, 19.5)
    app.commit()
    return h


TEMP = [Matcher("=", "__name__", "temp")]


def test_long_frame_has_one_row_per_sample_and_a_column_per_label(head):
    df = select_frame(head, TEMP, 0, 60_000, shape="long")
    assert list(df.columns) == ["timestamp", "value", "__name__", "floor", "room"]
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert df["value"].dtype == np.float64
    assert isinstance(df["room"].dtype, pd.CategoricalDtype)
    # series in label order (floor="1" sorts before room="a"); the stale marker is not a sample
    assert df["room"].tolist() == ["b", "b", "a", "a", "a"]
    assert df["value"].tolist() == [18.0, 19.5, 20.0, 21.0, 22.0]
    assert df["floor"].isna().tolist() == [False, False, True, True, True]
    assert df["timestamp"].iloc[1] == pd.Timestamp(45, unit="s", tz="UTC")


def test_wide_frame_has_a_timestamp_index_and_a_column_per_series(head):
    df = wide_frame(head.select(TEMP, 0, 60_000))
    assert list(df.columns) == ['temp{floor="1", room="b"}', 'temp{room="a"}']
    assert df.index.name == "timestamp" and str(df.index.dtype) == "datetime64[ns, UTC]"
    assert df.shape == (4, 2)
    np.testing.assert_array_equal(df.iloc[:, 0].to_numpy(), [18.0, np.nan, np.nan, 19.5])
    np.testing.assert_array_equal(df.iloc[:, 1].to_numpy(), [20.0, 21.0, 22.0, np.nan])


def test_empty_selection_gives_empty_frames(head):
    empty = head.select([Matcher("=", "__name__", "nope")], 0, 1)
    assert long_frame(empty).shape == (0, 2)
    assert wide_frame(empty).shape == (0, 0)


def test_unknown_shape_is_a_clear_error(head):
    with pytest.raises(ValueError, match="unknown frame shape 'tall'"):
        select_frame(head, TEMP, 0, 1, shape="tall")
