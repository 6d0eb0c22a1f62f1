"""Dashboards in the notebook: Grafana's model, drawn with matplotlib, driven with ipywidgets.

    from workshop import Simulation
    from workshop.dashboards import shipped, render, show
    sim = Simulation(seed=1).run("1h")
    render(shipped("red"), sim, "now-30m")      # a matplotlib Figure
    show(shipped("red"), sim)                   # the interactive version

The same dashboards load from and save to Grafana JSON (``import_dashboard``/``export_dashboard``),
so what participants build here opens in Grafana and community dashboards open here.
"""

from __future__ import annotations

from pathlib import Path

from workshop.dashboards.datasource import DataSource, EngineDataSource, as_datasource
from workshop.dashboards.fetch import DashboardData, TimeRange, fetch
from workshop.dashboards.grafana import ImportReport, Skipped, export_dashboard, export_json, import_dashboard
from workshop.dashboards.model import Dashboard, Panel, Row, Target, Threshold, Variable
from workshop.dashboards.render import render, save
from workshop.dashboards.units import format_value
from workshop.dashboards.variables import Intervals, interpolate
from workshop.dashboards.widget import DashboardWidget, show

SHIPPED_DIR = Path(__file__).parent / "shipped"
SHIPPED = ("red", "use", "prometheus")  # the toy service (RED), the host (USE), Prometheus itself


def shipped(name: str) -> Dashboard:
    """One of the dashboards that come with the kit: ``red``, ``use`` or ``prometheus``."""
    if name not in SHIPPED:
        raise ValueError(f"no shipped dashboard {name!r}; there are {', '.join(SHIPPED)}")
    return Dashboard.from_yaml(SHIPPED_DIR / f"{name}.yml")


__all__ = [
    "SHIPPED",
    "Dashboard",
    "DashboardData",
    "DashboardWidget",
    "DataSource",
    "EngineDataSource",
    "ImportReport",
    "Intervals",
    "Panel",
    "Row",
    "Skipped",
    "Target",
    "Threshold",
    "TimeRange",
    "Variable",
    "as_datasource",
    "export_dashboard",
    "export_json",
    "fetch",
    "format_value",
    "import_dashboard",
    "interpolate",
    "render",
    "save",
    "shipped",
    "show",
]
