"""A dashboard you can drive in JupyterLab: time range, refresh, auto-refresh and variable pickers.

Three things make a notebook dashboard pleasant or painful, and this module is about them:

- **No flicker.** Each refresh draws off-screen (a bare Agg ``Figure``, see :mod:`.render`) and
  then swaps the finished PNG into one ``ipywidgets.Image``; the old picture stays until the new
  one is ready, instead of an Output widget being cleared and redrawn in front of the reader.
- **No leaks.** No figure is ever registered with pyplot, so nothing piles up in
  ``plt.get_fignums()``; auto-refresh is one daemon thread per widget, stopped by ``close()``.
- **Re-running the cell is safe.** Live widgets are kept in a module-level registry by dashboard
  uid; creating a new widget for the same dashboard closes the old one and stops its timer, so a
  cell re-run ten times does not leave ten threads querying the server.
"""

from __future__ import annotations

import html
import threading
import weakref

import ipywidgets as widgets

from workshop.client import QueryError
from workshop.dashboards.datasource import as_datasource, now_of
from workshop.dashboards.fetch import DashboardData, TimeRange, fetch
from workshop.dashboards.model import Dashboard
from workshop.dashboards.render import DEFAULT_DPI, FIGURE_WIDTH_IN, figure_bytes, render
from workshop.dashboards.variables import ALL, DEFAULT_SCRAPE_INTERVAL_S

# Grafana's quick ranges (the ones a workshop needs) and its auto-refresh choices.
RANGES = [
    ("Last 5 minutes", "5m"),
    ("Last 15 minutes", "15m"),
    ("Last 1 hour", "1h"),
    ("Last 6 hours", "6h"),
    ("Last 24 hours", "24h"),
    ("Absolute…", "absolute"),
]
AUTO_REFRESH = [("Off", 0.0), ("5s", 5.0), ("30s", 30.0), ("1m", 60.0)]
ALL_LABEL = "All"

_live: dict[str, weakref.ref] = {}  # dashboard uid -> the widget showing it now
_live_lock = threading.Lock()


def live_widgets() -> list[DashboardWidget]:
    """The widgets not closed yet (one per dashboard)."""
    with _live_lock:
        return [w for w in (ref() for ref in _live.values()) if w is not None and not w.closed]


class DashboardWidget:
    """The controls and the picture of one dashboard; display it as the last expression of a cell."""

    def __init__(
        self,
        dashboard: Dashboard,
        source,
        *,
        time_range: str | None = None,
        auto_refresh: float = 0.0,
        scrape_interval=DEFAULT_SCRAPE_INTERVAL_S,
        width: float = FIGURE_WIDTH_IN,
        dpi: int = DEFAULT_DPI,
    ):
        self.dashboard = dashboard
        self.source = source
        self.datasource = as_datasource(source)
        self.scrape_interval = scrape_interval
        self.width, self.dpi = width, dpi
        self.closed = False
        self.data: DashboardData | None = None
        self.refreshes = 0
        self._draw_lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._syncing = False

        self.range = widgets.Dropdown(
            options=RANGES, value=time_range or _quick_range(dashboard), description="Range"
        )
        self.start = widgets.Text(
            description="From", placeholder="2026-01-01T00:00Z or now-2h", disabled=True
        )
        self.end = widgets.Text(value="now", description="To", disabled=True)
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.auto = widgets.Dropdown(options=AUTO_REFRESH, value=0.0, description="Auto")
        self.variables = {v.name: self._variable_control(v) for v in dashboard.variables}
        self.image = widgets.Image(format="png")
        self.status = widgets.HTML()
        controls = [self.range, self.start, self.end, self.refresh_button, self.auto]
        self.box = widgets.VBox(
            [
                widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox(list(self.variables.values()), layout=widgets.Layout(flex_flow="row wrap")),
                self.status,
                self.image,
            ]
        )

        self.range.observe(self._on_range, names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.auto.observe(lambda change: self.set_auto_refresh(change["new"]), names="value")
        for control in self.variables.values():
            control.observe(self._on_variable, names="value")

        _register(self)
        self.refresh()
        if auto_refresh:
            self.auto.value = auto_refresh

    # --- what a notebook (or a test) calls -----------------------------------------------------------
    def refresh(self) -> None:
        """Query everything for the chosen range and variables, draw off-screen, swap the picture in."""
        if self.closed:
            return
        with self._draw_lock:
            try:
                time_range = self._time_range()
                data = fetch(
                    self.dashboard,
                    self.datasource,
                    time_range,
                    self._selections(),
                    scrape_interval=self.scrape_interval,
                )
            except (ValueError, QueryError) as e:
                self.status.value = f"<span style='color:#C4162A'>{html.escape(str(e))}</span>"
                return
            fig = render(self.dashboard, data=data, width=self.width, dpi=self.dpi)
            png = figure_bytes(fig, "png")
            fig.clear()
            self.data = data
            self._sync_variables(data)
            self.image.value = png
            self.refreshes += 1
            errors = sum(1 for p in data.panels for r in p.results if r.error)
            self.status.value = (
                f"<small>{len(data.queries)} queries, step {data.intervals.interval_s:g}s"
                + (f", <b style='color:#C4162A'>{errors} failed</b>" if errors else "")
                + "</small>"
            )

    def set_auto_refresh(self, seconds: float) -> None:
        """Refresh every ``seconds`` in a background thread (0 stops it)."""
        self._stop_timer()
        if seconds and not self.closed:
            self._stop = threading.Event()
            self._timer = threading.Thread(
                target=self._tick,
                args=(self._stop, float(seconds)),
                daemon=True,
                name=f"dashboard-refresh-{self.dashboard.uid or self.dashboard.title}",
            )
            self._timer.start()

    def close(self) -> None:
        """Stop the timer thread and close the widgets (also done when the cell is re-run)."""
        self.closed = True
        self._stop_timer()
        self.box.close()
        for w in (self.range, self.start, self.end, self.refresh_button, self.auto, self.image, self.status):
            w.close()
        for w in self.variables.values():
            w.close()

    @property
    def timer_thread(self) -> threading.Thread | None:
        return self._timer

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)

    # --- internals ----------------------------------------------------------------------------------------
    def _tick(self, stop: threading.Event, seconds: float) -> None:
        while not stop.wait(seconds):
            self.refresh()

    def _stop_timer(self) -> None:
        self._stop.set()
        timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.join(timeout=30)

    def _time_range(self) -> TimeRange:
        now = now_of(self.source)
        if self.range.value == "absolute":
            return TimeRange.between(
                self.start.value.strip() or "now-1h", self.end.value.strip() or "now", now
            )
        return TimeRange.last(self.range.value, now)

    def _variable_control(self, var):
        description = var.label or var.name
        if var.multi:
            return widgets.SelectMultiple(options=[], description=description, rows=4)
        return widgets.Dropdown(options=[], description=description)

    def _selections(self) -> dict[str, list[str]]:
        out = {}
        for name, control in self.variables.items():
            value = control.value
            values = list(value) if isinstance(value, tuple) else ([] if value is None else [value])
            if values:
                out[name] = [ALL if v == ALL_LABEL else v for v in values]
        return out

    def _sync_variables(self, data: DashboardData) -> None:
        """Fill the pickers with the options this refresh found, without triggering another refresh."""
        self._syncing = True
        try:
            for var in self.dashboard.variables:
                control = self.variables[var.name]
                options = ([ALL_LABEL] if var.include_all else []) + list(data.options.get(var.name, []))
                selected = [ALL_LABEL if v == ALL else v for v in data.selected.get(var.name, [])]
                if list(control.options) != options:
                    control.options = options
                value = tuple(selected) if var.multi else (selected[0] if selected else None)
                if control.value != value:
                    control.value = value
        finally:
            self._syncing = False

    def _on_range(self, change) -> None:
        absolute = change["new"] == "absolute"
        self.start.disabled = self.end.disabled = not absolute
        if absolute and not self.start.value and self.data is not None:
            import pandas as pd

            self.start.value = pd.Timestamp(self.data.time_range.start, unit="s", tz="UTC").isoformat()
            self.end.value = pd.Timestamp(self.data.time_range.end, unit="s", tz="UTC").isoformat()
        self.refresh()

    def _on_variable(self, _change) -> None:
        if not self._syncing:
            self.refresh()


def _quick_range(dashboard: Dashboard) -> str:
    """The dashboard's own default range when it is one of the quick ranges ("now-1h" -> "1h")."""
    wanted = dashboard.time_from.removeprefix("now-")
    return wanted if wanted in dict((v, k) for k, v in RANGES) else "1h"


def _register(widget: DashboardWidget) -> None:
    key = widget.dashboard.uid or widget.dashboard.title
    with _live_lock:
        old = _live.get(key)
        _live[key] = weakref.ref(widget)
    old = old() if old is not None else None
    if old is not None and old is not widget:
        old.close()


def show(dashboard: Dashboard, source, **kwargs) -> DashboardWidget:
    """The interactive dashboard for a notebook cell: ``show(red, sim)``."""
    return DashboardWidget(dashboard, source, **kwargs)
