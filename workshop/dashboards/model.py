"""What a dashboard *is*, independent of how it is drawn: rows of panels, their queries, variables.

The types mirror Grafana's dashboard model closely enough that a participant who later opens
Grafana recognises every field (a 24-column grid, ``legendFormat``, ``fieldConfig`` units and
thresholds, ``templating`` variables), and so that export to Grafana JSON and import back are a
field-by-field mapping with nothing lost: ``import(export(d)) == d`` is a test. They are plain
frozen-ish dataclasses so equality is structural.

Dashboards are written in Python or YAML (``Dashboard.from_yaml``); a YAML mistake is reported as
``file:line: message``, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from stack.config.yamlutil import ConfigError, load_yaml

GRID_COLUMNS = 24  # Grafana's gridPos: a dashboard is 24 columns wide
DEFAULT_PANEL_HEIGHT = 8  # Grafana's default panel height, in grid rows (30 px each)
DEFAULT_TIME_FROM = "now-1h"  # Grafana's default dashboard time range
DEFAULT_MAX_DATA_POINTS = 250  # points per series we ask for (Grafana uses the panel's pixel width)

PANEL_TYPES = ("timeseries", "stat", "gauge", "bar", "table", "heatmap", "text")
UNITS = (
    "short",
    "none",
    "s",
    "ms",
    "bytes",
    "decbytes",
    "Bps",
    "binBps",
    "percent",
    "percentunit",
    "reqps",
    "ops",
)
VARIABLE_KINDS = ("query", "custom")


@dataclass
class Threshold:
    """One step: from ``value`` upwards the colour is ``color`` (``value=None`` is the base)."""

    color: str
    value: float | None = None


@dataclass
class Target:
    """One PromQL query of a panel; ``legend`` is a Grafana ``legendFormat`` such as ``{{instance}}``."""

    expr: str
    legend: str = ""
    ref_id: str = "A"
    instant: bool = False


@dataclass
class Panel:
    """A panel: its kind, queries, unit, thresholds and place on the 24-column grid (``width``/``height``)."""

    title: str
    type: str = "timeseries"
    targets: list[Target] = field(default_factory=list)
    unit: str = "short"
    thresholds: list[Threshold] = field(default_factory=list)
    width: int = 12
    height: int = DEFAULT_PANEL_HEIGHT
    stack: bool = False  # time series: stack the series (Grafana's "stacking: normal")
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    content: str = ""  # text panels: markdown
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in PANEL_TYPES:
            raise ValueError(
                f"panel {self.title!r}: unknown type {self.type!r} (one of {', '.join(PANEL_TYPES)})"
            )
        if self.unit not in UNITS:
            raise ValueError(f"panel {self.title!r}: unknown unit {self.unit!r} (one of {', '.join(UNITS)})")
        if not 1 <= self.width <= GRID_COLUMNS:
            raise ValueError(f"panel {self.title!r}: width must be 1..{GRID_COLUMNS}, got {self.width}")


@dataclass
class Row:
    """A titled band of panels; panels wrap onto the next grid line when 24 columns are used up."""

    title: str = ""
    panels: list[Panel] = field(default_factory=list)
    collapsed: bool = False


@dataclass
class Variable:
    """A template variable, as Grafana's: ``query`` (``label_values(...)``) or ``custom`` (a fixed list).

    ``current`` holds the selected value(s); ``["$__all"]`` selects All when ``include_all``.
    """

    name: str
    kind: str = "query"
    query: str = ""  # query: "label_values(metric, label)" or "label_values(label)"
    options: list[str] = field(default_factory=list)  # custom: the values
    multi: bool = False
    include_all: bool = False
    current: list[str] = field(default_factory=list)
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in VARIABLE_KINDS:
            raise ValueError(f"variable {self.name!r}: unknown kind {self.kind!r} (query or custom)")


@dataclass
class Dashboard:
    """Rows of panels plus variables and a default time range; render, export or wrap in a widget."""

    title: str
    uid: str = ""
    rows: list[Row] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    time_from: str = DEFAULT_TIME_FROM
    refresh: str = ""
    tags: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def panels(self) -> list[Panel]:
        return [p for row in self.rows for p in row.panels]

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(f"dashboard {self.title!r} has no variable {name!r}")

    @classmethod
    def from_yaml(cls, path: str | Path, text: str | None = None) -> Dashboard:
        """Load a dashboard definition; mistakes raise ``ConfigError`` with ``file:line``."""
        return _dashboard_from(load_yaml(path, text))

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Dashboard:
        return _dashboard_from(doc)


# --- YAML -> dataclasses, with file:line on every mistake ----------------------------------------


def _where(node: Any, key: str | None = None) -> tuple[str | None, int | None]:
    line = getattr(node, "line", None)
    if key is not None and getattr(node, "key_lines", None):
        line = node.key_lines.get(key, line)
    return getattr(node, "filename", None), line


def _build(cls, node: Any, what: str, convert: dict[str, Any] | None = None):
    """Construct ``cls`` from a YAML mapping, rejecting unknown keys and bad values with their line."""
    if not isinstance(node, dict):
        raise ConfigError(f"{what} must be a mapping", *_where(node))
    names = {f.name for f in fields(cls)}
    kwargs = {}
    for key, value in node.items():
        if key not in names:
            raise ConfigError(
                f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(names))})", *_where(node, key)
            )
        if convert and key in convert:
            value = convert[key](value, node, key)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{what}: {e}", *_where(node)) from None


def _list_of(cls, what: str, convert=None):
    def conv(value, parent, key):
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list", *_where(parent, key))
        return [_build(cls, item, what, convert) for item in value]

    return conv


def _targets(value, parent, key):
    if isinstance(value, str):  # shorthand: a single query string
        return [Target(value)]
    items = _list_of(Target, "target")(value, parent, key)
    for i, t in enumerate(items):  # refIds default to A, B, C... as Grafana assigns them
        if t.ref_id == "A" and i:
            t.ref_id = chr(ord("A") + i)
    return items


def _strings(value, parent, key):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list of strings", *_where(parent, key))
    return [str(v) for v in value]


_PANEL = {"targets": _targets, "thresholds": _list_of(Threshold, "threshold")}
_ROW = {"panels": _list_of(Panel, "panel", _PANEL)}
_VARIABLE = {"options": _strings, "current": _strings}
_DASHBOARD = {
    "rows": _list_of(Row, "row", _ROW),
    "variables": _list_of(Variable, "variable", _VARIABLE),
    "tags": _strings,
}


def _dashboard_from(doc: Any) -> Dashboard:
    return _build(Dashboard, doc, "dashboard", _DASHBOARD)
