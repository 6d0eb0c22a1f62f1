"""One matplotlib figure per dashboard, laid out on Grafana's 24-column grid.

Figures are built with ``matplotlib.figure.Figure`` and an Agg canvas, never through ``pyplot``:
pyplot keeps every figure it makes alive in a global registry until ``plt.close``, which is how a
dashboard refreshing every 5 s in a notebook leaks memory. A bare Figure is garbage like any other
object, it draws off-screen (so a widget can swap in the finished image without flicker), and it
is safe to draw from the widget's refresh thread.

Layout follows Grafana: panels fill a row left to right by their ``width`` out of 24 columns and
wrap when a line is full; a titled row starts with a header line; a collapsed row shows only its
header (as in Grafana) unless ``expand=True``. Heights are in Grafana's grid units. Every panel
keeps fixed room for its title, tick labels and legend (``PADDING_IN``), so nothing overlaps.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from workshop.dashboards.fetch import DashboardData, TimeRange, fetch
from workshop.dashboards.model import GRID_COLUMNS, Dashboard, Panel
from workshop.dashboards.panels import DRAW
from workshop.dashboards.variables import DEFAULT_SCRAPE_INTERVAL_S

FIGURE_WIDTH_IN = 16.0
GRID_UNIT_IN = 0.3  # one Grafana grid row (30 px on a ~1600 px wide dashboard), in inches at 16 in wide
HEADER_UNITS = 1  # a row header's height, in grid units
HEADER_IN = 0.45  # the dashboard title line
# Room around each panel's plot area (left, right, top, bottom; inches) for tick labels, the title
# and the legend. Fixed padding instead of constrained layout: no label can overlap its neighbour
# by construction, and the layout costs nothing (constrained layout measured every tick label).
_PLOT = (0.8, 1.75, 0.32, 0.32)  # time series: y tick labels left, legend right
_BOX = (0.1, 0.1, 0.32, 0.08)  # stat, gauge, text, table: title only
PADDING_IN = {
    "timeseries": _PLOT,
    "heatmap": (0.8, 0.15, 0.32, 0.32),
    "bar": (1.3, 0.6, 0.32, 0.32),
    "stat": _BOX,
    "gauge": _BOX,
    "text": _BOX,
    "table": _BOX,
}
DEFAULT_DPI = 100
# Deterministic text: the font matplotlib ships, and SVG ids that do not change between runs.
RC = {
    "font.family": "DejaVu Sans",
    "svg.hashsalt": "workshop-dashboards",
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "figure.facecolor": "white",
}


@dataclass
class _Line:
    """One line of the grid: a row header, or panels side by side."""

    height: int
    panels: list[Panel]
    header: str | None = None


def layout(dashboard: Dashboard, expand: bool = False) -> list[_Line]:
    lines: list[_Line] = []
    for row in dashboard.rows:
        if row.title or row.collapsed:
            suffix = f"  ▸ collapsed, {len(row.panels)} panels" if row.collapsed and not expand else ""
            lines.append(_Line(HEADER_UNITS, [], row.title + suffix))
        if row.collapsed and not expand:
            continue
        current: list[Panel] = []
        used = 0
        for panel in row.panels:
            if used + panel.width > GRID_COLUMNS and current:
                lines.append(_Line(max(p.height for p in current), current))
                current, used = [], 0
            current.append(panel)
            used += panel.width
        if current:
            lines.append(_Line(max(p.height for p in current), current))
    return lines


@contextmanager
def _style():
    with matplotlib.rc_context(RC):
        yield


def render(
    dashboard: Dashboard,
    source=None,
    time_range: TimeRange | str | None = None,
    variables: Mapping[str, list[str] | str] | None = None,
    *,
    data: DashboardData | None = None,
    scrape_interval=DEFAULT_SCRAPE_INTERVAL_S,
    expand: bool = False,
    width: float = FIGURE_WIDTH_IN,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """Fetch (unless ``data`` is given) and draw ``dashboard``: a Figure not registered with pyplot."""
    if data is None:
        if source is None:
            raise ValueError("render needs a data source (a URL, client or Simulation) or fetched data")
        data = fetch(dashboard, source, time_range, variables, scrape_interval=scrape_interval)
    elif data.dashboard != dashboard:
        raise ValueError(f"the data given was fetched for dashboard {data.dashboard.title!r}, not this one")
    lines = layout(dashboard, expand)
    with _style():
        height = HEADER_IN + GRID_UNIT_IN * sum(line.height for line in lines)
        fig = Figure(figsize=(width, height), dpi=dpi)
        FigureCanvasAgg(fig)
        fig.text(0.005, 1 - 0.08 / height, _header(data), ha="left", va="top", fontsize=11, fontweight="bold")
        by_panel = {id(p): d for p, d in zip(dashboard.panels, data.panels, strict=True)}
        column = width / GRID_COLUMNS
        top = HEADER_IN
        for line in lines:
            if line.header is not None:
                ax = fig.add_axes(
                    _rect(
                        (0, top, width, line.height * GRID_UNIT_IN), (0.05, 0.02, 0.05, 0.02), width, height
                    )
                )
                ax.set_axis_off()
                ax.set_gid("row")
                ax.text(
                    0, 0.5, line.header, fontsize=10, fontweight="bold", va="center", transform=ax.transAxes
                )
            x = 0
            for panel in line.panels:
                cell = (x * column, top, panel.width * column, line.height * GRID_UNIT_IN)
                x += panel.width
                ax = fig.add_axes(_rect(cell, PADDING_IN[panel.type], width, height))
                ax.set_gid(f"panel:{panel.type}")
                ax.set_title(panel.title, fontsize=9, loc="left", pad=4)
                DRAW[panel.type](ax, panel, by_panel.get(id(panel)), data.time_range)
            top += line.height * GRID_UNIT_IN
    return fig


def _rect(cell, pad, fig_width: float, fig_height: float) -> list[float]:
    """Axes rectangle in figure fractions for a grid cell (inches from the top-left) minus its padding."""
    x, top, w, h = cell
    left, right, above, below = pad
    inner_w = max(w - left - right, 0.2)
    inner_h = max(h - above - below, 0.2)
    return [
        (x + left) / fig_width,
        1 - (top + above + inner_h) / fig_height,
        inner_w / fig_width,
        inner_h / fig_height,
    ]


def _header(data: DashboardData) -> str:
    import pandas as pd

    start = pd.Timestamp(data.time_range.start, unit="s", tz="UTC")
    end = pd.Timestamp(data.time_range.end, unit="s", tz="UTC")
    text = f"{data.dashboard.title}    {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"
    chosen = [f"{k}={','.join('All' if v == '$__all' else v for v in vs)}" for k, vs in data.selected.items()]
    return text + ("    " + "  ".join(chosen) if chosen else "")


def figure_bytes(fig: Figure, format: str = "png") -> bytes:  # noqa: A002 - matplotlib's name
    """The figure as PNG (or SVG) bytes, drawn off-screen."""
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format=format, dpi=fig.dpi, metadata=_metadata(format))
    return buf.getvalue()


def save(fig: Figure, path: str | Path) -> Path:
    """Write the figure; the format follows the suffix (``.png``, ``.svg``)."""
    path = Path(path)
    path.write_bytes(figure_bytes(fig, path.suffix.lstrip(".").lower() or "png"))
    return path


def _metadata(fmt: str) -> dict:
    # No software version or date in the file, so the same dashboard gives the same bytes.
    if fmt == "png":
        return {"Software": None}
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    return {}
