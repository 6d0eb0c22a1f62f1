"""One refresh of a dashboard: resolve variables, interpolate every query, run them all at once.

A dashboard of twenty panels against a server is twenty round trips; run one after another they
would make every refresh as slow as their sum. They are independent, so one refresh submits them
all to a thread pool (the clients block on I/O, which releases the GIL) and waits for the lot.
A failing query does not fail the refresh: its error is kept and its panel says so, as Grafana's
red corner does.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from workshop.client import QueryError, parse_duration, parse_time
from workshop.dashboards.datasource import as_datasource, now_of
from workshop.dashboards.model import DEFAULT_MAX_DATA_POINTS, Dashboard, Panel, Target
from workshop.dashboards.variables import DEFAULT_SCRAPE_INTERVAL_S, Intervals, interpolate, resolve_variables

MAX_CONCURRENT_QUERIES = 8  # queries of one refresh in flight at once
INSTANT_PANELS = ("stat", "gauge", "bar", "table")  # panels showing one value per series: instant queries


@dataclass(frozen=True)
class TimeRange:
    """Absolute start and end, Unix seconds. ``TimeRange.last("1h", now)`` is Grafana's "Last 1 hour"."""

    start: float
    end: float

    @classmethod
    def last(cls, duration, now: float) -> TimeRange:
        return cls(now - parse_duration(duration), now)

    @classmethod
    def between(cls, start, end, now: float) -> TimeRange:
        s, e = parse_time(start, now), parse_time(end, now)
        if not e > s:
            raise ValueError(f"the time range must end after it starts (start {start!r}, end {end!r})")
        return cls(s, e)

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class TargetResult:
    """One target's interpolated query and its long frame (or the error that replaced it)."""

    target: Target
    expr: str
    frame: pd.DataFrame | None = None
    error: str | None = None


@dataclass
class PanelData:
    panel: Panel
    results: list[TargetResult] = field(default_factory=list)


@dataclass
class DashboardData:
    """Everything one refresh fetched, plus what it was fetched for (shown in the figure's header)."""

    dashboard: Dashboard
    time_range: TimeRange
    intervals: Intervals
    options: dict[str, list[str]]
    selected: dict[str, list[str]]
    panels: list[PanelData]

    @property
    def queries(self) -> list[str]:
        return [r.expr for p in self.panels for r in p.results]


def fetch(
    dashboard: Dashboard,
    source,
    time_range: TimeRange | str | None = None,
    variables: Mapping[str, list[str] | str] | None = None,
    scrape_interval=DEFAULT_SCRAPE_INTERVAL_S,
    max_data_points: int = DEFAULT_MAX_DATA_POINTS,
) -> DashboardData:
    """Run every query of ``dashboard`` against ``source`` for ``time_range`` (default: the dashboard's)."""
    ds = as_datasource(source)
    now = now_of(source)
    if time_range is None:
        time_range = dashboard.time_from
    if isinstance(time_range, str):
        time_range = _parse_range(time_range, now)
    intervals = Intervals.for_range(time_range.seconds, parse_duration(scrape_interval), max_data_points)
    selections = {k: ([v] if isinstance(v, str) else list(v)) for k, v in (variables or {}).items()}
    options, selected, scope = resolve_variables(dashboard.variables, ds, selections, intervals.scope())
    jobs = [
        (p, TargetResult(t, interpolate(t.expr, scope)))
        for p in dashboard.panels
        if p.type != "text"
        for t in p.targets
    ]
    panels = [PanelData(p) for p in dashboard.panels]
    by_panel = {id(p.panel): p for p in panels}
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_QUERIES, thread_name_prefix="dashboard-query") as pool:
        futures = [
            (panel, result, pool.submit(_run, ds, panel, result.expr, result.target, time_range, intervals))
            for panel, result in jobs
        ]
        for panel, result, future in futures:
            try:
                result.frame = future.result()
            except (QueryError, ValueError) as e:
                result.error = str(e)
            by_panel[id(panel)].results.append(result)
    return DashboardData(dashboard, time_range, intervals, options, selected, panels)


def _parse_range(text: str, now: float) -> TimeRange:
    """``"now-1h"`` (Grafana's form) or just ``"1h"``: the range ending now."""
    try:
        return TimeRange.last(text, now)
    except ValueError:
        return TimeRange(parse_time(text, now), now)


def _run(ds, panel: Panel, expr: str, target: Target, time_range: TimeRange, intervals: Intervals):
    if target.instant or panel.type in INSTANT_PANELS:
        return ds.query(expr, time_range.end)
    return ds.query_range(expr, time_range.start, time_range.end, intervals.interval_s)
