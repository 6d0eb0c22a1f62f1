"""Grafana dashboard JSON, both ways: what participants draw here opens in Grafana, and back.

Export writes the JSON model of current Grafana (``schemaVersion`` 39): panels placed by
``gridPos`` on the 24-column grid, ``fieldConfig.defaults`` for unit, thresholds, min/max and
stacking, ``targets`` with ``expr``/``legendFormat``/``refId``, ``templating.list`` for variables,
and every datasource referenced by the fixed uid ``prometheus`` -- the uid our provisioning file
gives the Prometheus data source -- so the files work with file provisioning as they are.

Import reads what people actually have: current dashboards and older ones (``graph``,
``singlestat``, ``table-old``; the ``${DS_PROMETHEUS}`` and ``$datasource`` indirections of
dashboards shared on grafana.com), open rows and collapsed rows with their panels nested. Anything
it cannot show -- a panel type, a non-PromQL target, a variable kind -- is listed in the
:class:`ImportReport` with the panel's title and the reason, never dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workshop.dashboards.model import (
    DEFAULT_PANEL_HEIGHT,
    DEFAULT_TIME_FROM,
    GRID_COLUMNS,
    UNITS,
    Dashboard,
    Panel,
    Row,
    Target,
    Threshold,
    Variable,
)
from workshop.dashboards.variables import ALL, parse_label_values

SCHEMA_VERSION = 39  # Grafana 10.x/11.x dashboard JSON model
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # the uid grafana/provisioning gives our Prometheus
ROW_HEIGHT = 1  # a row panel's gridPos.h

# our panel type -> Grafana's, and every Grafana type we can draw -> ours
EXPORT_TYPES = {
    "timeseries": "timeseries",
    "stat": "stat",
    "gauge": "gauge",
    "bar": "bargauge",
    "table": "table",
    "heatmap": "heatmap",
    "text": "text",
}
IMPORT_TYPES = {
    **{v: k for k, v in EXPORT_TYPES.items()},
    "graph": "timeseries",
    "singlestat": "stat",
    "table-old": "table",
}
# Grafana unit ids drawn as one of ours.
UNIT_ALIASES = {
    "dtdurations": "s",
    "dtdurationms": "ms",
    "locale": "short",
    "sishort": "short",
    "decbytes": "decbytes",
    "kbytes": "bytes",
    "reqpm": "reqps",
    "rps": "reqps",
    "iops": "ops",
}


@dataclass
class Skipped:
    """Something an import could not bring over: a panel (by title and type) or a variable."""

    title: str
    type: str
    reason: str


@dataclass
class ImportReport:
    """What an import kept and what it left out, so nothing disappears without a word."""

    panels: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"imported {self.panels} panels, skipped {len(self.skipped)}"]
        lines += [f"  skipped {s.type} {s.title!r}: {s.reason}" for s in self.skipped]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))


# --- export -------------------------------------------------------------------------------------------


def export_dashboard(dashboard: Dashboard) -> dict[str, Any]:
    """The Grafana JSON model of ``dashboard``, ready for file provisioning or the import dialog."""
    panels: list[dict] = []
    y = 0
    next_id = iter(range(1, 10_000))
    for index, row in enumerate(dashboard.rows):
        row_panel = None
        if index or row.title or row.collapsed:
            row_panel = {
                "type": "row",
                "id": next(next_id),
                "title": row.title,
                "collapsed": row.collapsed,
                "gridPos": {"h": ROW_HEIGHT, "w": GRID_COLUMNS, "x": 0, "y": y},
                "panels": [],
            }
            panels.append(row_panel)
            y += ROW_HEIGHT
        exported = []
        for panel, x, py in _positions(row.panels, y):
            exported.append(_export_panel(panel, next(next_id), x, py))
            y = max(y, py + panel.height)
        if row.collapsed and row_panel is not None:
            row_panel["panels"] = exported
        else:
            panels.extend(exported)
    return {
        "title": dashboard.title,
        "uid": dashboard.uid or None,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": dashboard.refresh,
        "time": {"from": dashboard.time_from, "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": [_export_variable(v) for v in dashboard.variables]},
        "panels": panels,
    }


def _positions(panels: list[Panel], y: int):
    """(panel, x, y) on the grid: left to right, wrapping when 24 columns are used (as render lays out)."""
    x, line_height = 0, 0
    for panel in panels:
        if x + panel.width > GRID_COLUMNS and x:
            y, x, line_height = y + line_height, 0, 0
        yield panel, x, y
        x += panel.width
        line_height = max(line_height, panel.height)


def _export_panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": EXPORT_TYPES[panel.type],
        "id": panel_id,
        "title": panel.title,
        "description": panel.description,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
    }
    if panel.type == "text":
        out["options"] = {"mode": "markdown", "content": panel.content}
        return out
    out["datasource"] = dict(DATASOURCE)
    out["targets"] = [
        {
            "datasource": dict(DATASOURCE),
            "refId": t.ref_id,
            "expr": t.expr,
            "legendFormat": t.legend,
            "range": not t.instant,
            "instant": t.instant,
            **({"format": "heatmap"} if panel.type == "heatmap" else {}),
        }
        for t in panel.targets
    ]
    defaults: dict[str, Any] = {"unit": panel.unit}
    if panel.thresholds:
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": t.color, "value": t.value} for t in panel.thresholds],
        }
    for name in ("min", "max", "decimals"):
        if getattr(panel, name) is not None:
            defaults[name] = getattr(panel, name)
    if panel.type == "timeseries":
        defaults["custom"] = {
            "stacking": {"mode": "normal" if panel.stack else "none", "group": "A"},
            "fillOpacity": 60 if panel.stack else 0,
        }
        out["options"] = {
            "legend": {"displayMode": "list", "placement": "right", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif panel.type == "heatmap":
        out["options"] = {
            "calculate": False,
            "yAxis": {"unit": panel.unit},
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges"},
        }
    elif panel.type in ("stat", "gauge", "bar"):
        out["options"] = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            **({"colorMode": "background"} if panel.type == "stat" else {}),
            **({"orientation": "horizontal"} if panel.type == "bar" else {}),
        }
    out["fieldConfig"] = {"defaults": defaults, "overrides": []}
    return out


def _export_variable(var: Variable) -> dict[str, Any]:
    values = list(var.current)
    text = ["All" if v == ALL else v for v in values]
    current = (
        {"text": text, "value": values}
        if var.multi
        else {"text": text[0] if text else "", "value": values[0] if values else ""}
    )
    out: dict[str, Any] = {
        "name": var.name,
        "label": var.label,
        "type": var.kind,
        "multi": var.multi,
        "includeAll": var.include_all,
        "current": current,
        "hide": 0,
    }
    if var.kind == "query":
        out.update(
            {
                "datasource": dict(DATASOURCE),
                "definition": var.query,
                "refresh": 2,
                "sort": 1,
                "query": {"query": var.query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                "options": [],
                "regex": "",
            }
        )
    else:
        out.update(
            {
                "query": ",".join(var.options),
                "options": [{"text": o, "value": o, "selected": o in values} for o in var.options],
            }
        )
    return out


def export_json(dashboard: Dashboard) -> str:
    """Stable JSON text (sorted keys, 2-space indent, final newline): the committed provisioning files."""
    return json.dumps(export_dashboard(dashboard), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- import -------------------------------------------------------------------------------------------


def import_dashboard(source: dict | str | Path) -> tuple[Dashboard, ImportReport]:
    """A Dashboard from Grafana JSON (a dict, JSON text or a file) and the report of what was left out."""
    doc = _load(source)
    if isinstance(doc.get("dashboard"), dict):  # the HTTP API's and grafana.com's wrapper
        doc = doc["dashboard"]
    report = ImportReport()
    rows: list[Row] = []
    if "rows" in doc and not doc.get("panels"):
        rows = _import_old_rows(doc["rows"], report)
    for panel in sorted(doc.get("panels") or [], key=_grid_order):
        if panel.get("type") == "row":
            row = Row(title=panel.get("title") or "", collapsed=bool(panel.get("collapsed")))
            rows.append(row)
            for nested in sorted(panel.get("panels") or [], key=_grid_order):
                _add(row, nested, report)
            continue
        if not rows:
            rows.append(Row())
        _add(rows[-1], panel, report)
    variables = [
        v
        for v in (_import_variable(t, report) for t in (doc.get("templating") or {}).get("list") or [])
        if v is not None
    ]
    time_range = doc.get("time") or {}
    if time_range.get("to", "now") != "now":
        report.notes.append(f"time range ends at {time_range['to']!r}; imported as ending now")
    dashboard = Dashboard(
        title=doc.get("title") or "Imported dashboard",
        uid=doc.get("uid") or "",
        rows=rows,
        variables=variables,
        time_from=time_range.get("from") or DEFAULT_TIME_FROM,
        refresh=doc.get("refresh") or "",
        tags=list(doc.get("tags") or []),
        description=doc.get("description") or "",
    )
    return dashboard, report


def _load(source) -> dict:
    if isinstance(source, dict):
        return source
    text = source
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        text = Path(source).read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        where = f"{source}:" if isinstance(source, Path | str) and text is not source else ""
        raise ValueError(f"{where}{e.lineno}:{e.colno}: not Grafana dashboard JSON: {e.msg}") from None
    if not isinstance(doc, dict):
        raise ValueError("Grafana dashboard JSON must be an object")
    return doc


def _grid_order(panel: dict) -> tuple[int, int]:
    pos = panel.get("gridPos") or {}
    return int(pos.get("y", 0)), int(pos.get("x", 0))


def _add(row: Row, panel: dict, report: ImportReport) -> None:
    converted = _import_panel(panel, report)
    if converted is not None:
        row.panels.append(converted)
        report.panels += 1


def _import_panel(p: dict, report: ImportReport, width: int | None = None) -> Panel | None:
    title = p.get("title") or "(untitled)"
    kind = p.get("type") or "?"
    if "libraryPanel" in p:
        report.skipped.append(
            Skipped(title, kind, "library panel: its definition lives in Grafana's database")
        )
        return None
    ours = IMPORT_TYPES.get(kind)
    if ours is None:
        report.skipped.append(Skipped(title, kind, "panel type not supported"))
        return None
    defaults = (p.get("fieldConfig") or {}).get("defaults") or {}
    pos = p.get("gridPos") or {}
    targets = []
    for t in p.get("targets") or []:
        if t.get("hide"):
            report.notes.append(f"panel {title!r}: hidden query {t.get('refId', '?')} left out")
        elif _foreign(t.get("datasource")):
            where = t["datasource"].get("type")
            report.skipped.append(
                Skipped(title, kind, f"query {t.get('refId', '?')} uses a {where} data source")
            )
        elif not t.get("expr"):
            report.skipped.append(Skipped(title, kind, f"query {t.get('refId', '?')} is not PromQL"))
        else:
            legend = t.get("legendFormat") or ""
            targets.append(
                Target(
                    t["expr"],
                    "" if legend == "__auto" else legend,
                    t.get("refId") or "A",
                    bool(t.get("instant")) and not t.get("range"),
                )
            )
    unit = _unit(defaults.get("unit") or _old_unit(p), title, report)
    options = p.get("options") or {}
    return Panel(
        title=p.get("title") or "",
        type=ours,
        targets=targets,
        unit=unit,
        thresholds=_thresholds(defaults, p),
        width=min(max(int(width or pos.get("w") or 12), 1), GRID_COLUMNS),
        height=int(pos.get("h") or DEFAULT_PANEL_HEIGHT),
        stack=_stacked(defaults, p),
        decimals=defaults.get("decimals"),
        min=defaults.get("min"),
        max=defaults.get("max"),
        content=options.get("content") or p.get("content") or "",
        description=p.get("description") or "",
    )


def _foreign(datasource) -> bool:
    """A target's data source that is not Prometheus (Loki's targets have an ``expr`` too)."""
    if not isinstance(datasource, dict):
        return False  # a name, a ${DS_...} variable or nothing: the dashboard's Prometheus
    kind = datasource.get("type") or "prometheus"
    return kind != "prometheus" and not kind.startswith("$")


def _old_unit(p: dict) -> str:
    """Units of pre-7 panels: ``graph`` keeps them per y axis, ``singlestat`` in ``format``."""
    yaxes = p.get("yaxes") or []
    if yaxes and isinstance(yaxes[0], dict):
        return yaxes[0].get("format") or "short"
    return p.get("format") or "short"


def _unit(unit: str, title: str, report: ImportReport) -> str:
    if unit in UNITS:
        return unit
    if unit in UNIT_ALIASES:
        return UNIT_ALIASES[unit]
    report.notes.append(f"panel {title!r}: unit {unit!r} shown as short")
    return "short"


def _thresholds(defaults: dict, p: dict) -> list[Threshold]:
    steps = (defaults.get("thresholds") or {}).get("steps")
    if steps:
        return [Threshold(s.get("color") or "green", s.get("value")) for s in steps]
    old = p.get("thresholds")  # singlestat: "80,90" and three colours
    if isinstance(old, str) and old.strip():
        colors = p.get("colors") or ["green", "orange", "red"]
        values = [float(v) for v in old.split(",") if v.strip()]
        return [Threshold(colors[0])] + [Threshold(c, v) for c, v in zip(colors[1:], values, strict=False)]
    return []


def _stacked(defaults: dict, p: dict) -> bool:
    mode = ((defaults.get("custom") or {}).get("stacking") or {}).get("mode")
    return mode in ("normal", "percent") or bool(p.get("stack"))


def _import_variable(t: dict, report: ImportReport) -> Variable | None:
    name, kind = t.get("name") or "?", t.get("type") or "?"
    current = (t.get("current") or {}).get("value")
    current = [] if current in (None, "") else [current] if isinstance(current, str) else list(current)
    common = {
        "name": name,
        "label": t.get("label") or "",
        "multi": bool(t.get("multi")),
        "include_all": bool(t.get("includeAll")),
        "current": current,
    }
    if kind == "query":
        query = t.get("query")
        query = query.get("query", "") if isinstance(query, dict) else (query or t.get("definition") or "")
        try:
            parse_label_values(query)
        except ValueError:
            report.skipped.append(Skipped(name, "variable", f"query {query!r} is not label_values(...)"))
            return None
        if t.get("regex"):
            report.notes.append(f"variable {name!r}: regex filter {t['regex']!r} not applied")
        return Variable(kind="query", query=query, **common)
    if kind in ("custom", "interval", "constant", "textbox"):
        text = t.get("query") or ""
        options = [o.split(" : ")[-1].strip() for o in text.split(",") if o.strip()] or list(current)
        return Variable(kind="custom", options=options, **common)
    if kind == "datasource":
        report.notes.append(f"datasource variable {name!r}: every panel queries the one data source given")
        return None
    report.skipped.append(Skipped(name, "variable", f"variable type {kind!r} not supported"))
    return None


def _import_old_rows(old_rows: list[dict], report: ImportReport) -> list[Row]:
    """Dashboards before Grafana 5 had ``rows`` of panels sized by ``span`` (of 12)."""
    rows = []
    for r in old_rows:
        row = Row(
            title=(r.get("title") or "") if r.get("showTitle") else "", collapsed=bool(r.get("collapse"))
        )
        for p in r.get("panels") or []:
            converted = _import_panel(p, report, width=int(2 * (p.get("span") or 6)))
            if converted is not None:
                row.panels.append(converted)
                report.panels += 1
        rows.append(row)
    return rows
