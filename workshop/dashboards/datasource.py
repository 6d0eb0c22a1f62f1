"""The three calls a dashboard needs from wherever the data lives, and adapters to provide them.

A dashboard only ever asks ``query_range``, ``query`` and ``label_values``, and expects the long
frames of :mod:`workshop.client` (one row per sample, a column per label, UTC ``timestamp``,
``value``). Anything with those methods is a data source: a :class:`~workshop.client.PrometheusClient`
on our stack or a real Prometheus, a :class:`~workshop.simulation.Simulation`, or the engine
adapter below for code that holds a TSDB directly. :func:`as_datasource` turns the usual
things a participant has in hand (a URL, a Simulation, an Engine) into one.
"""

from __future__ import annotations

import json
import math
import time as _time
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from workshop.client import PrometheusClient, QueryError, parse_duration, result_frame


@runtime_checkable
class DataSource(Protocol):
    """What a dashboard queries: the Prometheus HTTP API's three read calls, as long DataFrames."""

    def query_range(self, expr: str, start, end, step) -> pd.DataFrame: ...

    def query(self, expr: str, time) -> pd.DataFrame: ...

    def label_values(self, label: str, match: str | None = None) -> list[str]: ...


def as_datasource(source: Any) -> DataSource:
    """A data source from a URL, a client, a Simulation or an Engine (``now`` comes from the source)."""
    if isinstance(source, str):
        return PrometheusClient(source)
    if hasattr(source, "instant") and hasattr(source, "range"):  # a stack.promql Engine
        return EngineDataSource(source)
    if isinstance(source, DataSource):
        return source
    if hasattr(source, "query") and hasattr(source, "query_range"):
        return LabelValuesByQuery(source)
    raise TypeError(
        f"{type(source).__name__} is not a data source: it needs query_range, query and "
        "label_values (or pass a URL, a Simulation or a stack.promql Engine)"
    )


def now_of(source: Any) -> float:
    """The source's notion of now: a Simulation's or an engine adapter's virtual time, else the wall clock."""
    inner = getattr(source, "source", source)
    for candidate in (source, inner):
        now = getattr(candidate, "now", None)
        if callable(now):
            now = now()
        if isinstance(now, int | float):
            return float(now)
    return _time.time()


def _fallback_label_values(query, label: str, match: str | None) -> list[str]:
    """``label_values`` through an instant query, for sources (a Simulation) without the API call.

    Upstream's label values endpoint looks at all stored data; this sees the series present now
    (within the 5 m lookback), which is what a dashboard's dropdown wants anyway.
    """
    selector = match if match else f'{{{label}!=""}}'
    frame = query(f"count by ({label}) ({selector})")
    if frame.empty or label not in frame.columns:
        return []
    return sorted(v for v in frame[label].dropna().unique() if v != "")


class LabelValuesByQuery:
    """Wraps something with ``query``/``query_range`` (a Simulation) and adds ``label_values``."""

    def __init__(self, source: Any):
        self.source = source

    def query_range(self, expr: str, start, end, step) -> pd.DataFrame:
        return self.source.query_range(expr, start, end, step)

    def query(self, expr: str, time=None) -> pd.DataFrame:
        return self.source.query(expr, time)

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        return _fallback_label_values(self.query, label, match)


class EngineDataSource:
    """A data source over a ``stack.promql.Engine`` (and the TSDB it reads), with no HTTP in between.

    ``clock`` (a :mod:`stack.clock` clock) gives ``now`` for relative ranges; results go through
    the same JSON encoding as the web API, so frames are identical to what a client gets.
    """

    def __init__(self, engine: Any, clock: Any = None):
        self.engine = engine
        self.clock = clock

    def now(self) -> float:
        return self.clock.now() if self.clock is not None else _time.time()

    def query(self, expr: str, time=None) -> pd.DataFrame:
        t = self.now() if time is None else _seconds(time)
        return self._evaluate(expr, lambda: self.engine.instant(expr, round(t * 1000)))

    def query_range(self, expr: str, start, end, step) -> pd.DataFrame:
        ms = (round(_seconds(start) * 1000), round(_seconds(end) * 1000), round(parse_duration(step) * 1000))
        return self._evaluate(expr, lambda: self.engine.range(expr, *ms))

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        return _fallback_label_values(self.query, label, match)

    @staticmethod
    def _evaluate(expr: str, evaluate) -> pd.DataFrame:
        from stack.promql import ParseError
        from stack.promql import QueryError as EngineQueryError
        from stack.web.codec import result_json

        try:
            value = evaluate()
        except (ParseError, EngineQueryError) as e:
            raise QueryError(getattr(e, "error_type", "bad_data"), str(e), expr) from None
        return result_frame(json.loads(result_json(value)))


def _seconds(t) -> float:
    if isinstance(t, pd.Timestamp):
        return t.timestamp()
    value = float(t)
    if not math.isfinite(value):
        raise ValueError(f"invalid time {t!r}")
    return value
