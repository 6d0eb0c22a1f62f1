"""Storage: the in-memory head, its write-ahead log, persisted blocks and retention.

The contract the rest of the stack relies on (the scrape loop writes through an ``Appender``; the
PromQL engine, the web API and federation read through ``select``/``series``/``label_names``/
``label_values``) is defined in :mod:`stack.tsdb.head`. Time is integer milliseconds; ranges passed
to ``select`` are inclusive ``[mint, maxt]``; series come back with numpy arrays.
"""

from stack.tsdb.head import Appender, Head, SeriesData

__all__ = ["Appender", "Head", "SeriesData"]
