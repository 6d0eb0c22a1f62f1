"""Storage: the in-memory head, its write-ahead log, persisted blocks and retention.

The contract the rest of the stack relies on (the scrape loop writes through an ``Appender``; the
PromQL engine, the web API and federation read through ``select``/``series``/``label_names``/
``label_values``) is defined in :mod:`stack.tsdb.head`. Time is integer milliseconds; ranges passed
to ``select`` are inclusive ``[mint, maxt]``; series come back with numpy arrays.

``Head`` alone is an in-memory database (simulations, tests); ``DB.open(path)`` adds the WAL,
blocks and retention behind the same methods. ``long_frame``/``wide_frame`` turn selections into
pandas DataFrames; they are loaded on first use so that the scraper and the engine do not pay for
importing pandas.
"""

from stack.tsdb.db import BLOCK_RANGE_MS, DB, DEFAULT_RETENTION_MS
from stack.tsdb.head import (
    ERR_DUPLICATE,
    ERR_OUT_OF_BOUNDS,
    ERR_OUT_OF_ORDER,
    Appender,
    Head,
    SeriesData,
)

__all__ = [
    "BLOCK_RANGE_MS",
    "DB",
    "DEFAULT_RETENTION_MS",
    "ERR_DUPLICATE",
    "ERR_OUT_OF_BOUNDS",
    "ERR_OUT_OF_ORDER",
    "Appender",
    "Head",
    "SeriesData",
    "long_frame",
    "select_frame",
    "wide_frame",
]


_FRAMES = ("long_frame", "select_frame", "wide_frame")


def __getattr__(name: str):
    if name in _FRAMES:
        from stack.tsdb import frames

        return getattr(frames, name)
    raise AttributeError(f"module 'stack.tsdb' has no attribute {name!r}")
