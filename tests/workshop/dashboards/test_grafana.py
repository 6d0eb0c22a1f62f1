import json
from pathlib import Path

import pytest

from workshop.dashboards import SHIPPED, export_dashboard, import_dashboard, shipped
from workshop.dashboards.export import DEFAULT_DIR, main, stale
from workshop.dashboards.grafana import DATASOURCE

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", SHIPPED)
def test_export_then_import_gives_the_same_dashboard(name):
    dashboard = shipped(name)
    again, report = import_dashboard(export_dashboard(dashboard))
    assert again == dashboard
    assert report.skipped == [] and report.panels == len(dashboard.panels)


def test_export_is_grafana_json_with_grid_positions_units_thresholds_and_the_fixed_datasource():
    doc = export_dashboard(shipped("red"))
    assert 39 <= doc["schemaVersion"] <= 41
    assert doc["time"] == {"from": "now-1h", "to": "now"}
    rows = [p for p in doc["panels"] if p["type"] == "row"]
    assert [r["title"] for r in rows] == ["Overview", "Rate and errors", "Duration", "Saturation"]
    panels = {p["title"]: p for p in doc["panels"] if p["type"] != "row"}
    error_ratio = panels["Error ratio"]
    assert error_ratio["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert error_ratio["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "green", "value": None},
        {"color": "orange", "value": 0.01},
        {"color": "red", "value": 0.05},
    ]
    durations = panels["Request duration p50 / p90 / p99 by route"]
    assert [(t["refId"], t["legendFormat"]) for t in durations["targets"]] == [
        ("A", "p50 {{path}}"),
        ("B", "p90 {{path}}"),
        ("C", "p99 {{path}}"),
    ]
    assert all(t["datasource"] == DATASOURCE for p in panels.values() for t in p.get("targets", []))
    assert panels["Latency heatmap"]["type"] == "heatmap"
    assert panels["Request rate by status"]["type"] == "bargauge"
    # panels of one grid line sit side by side and never overlap
    line = sorted((p["gridPos"] for p in doc["panels"] if p["gridPos"]["y"] == 1), key=lambda g: g["x"])
    assert [g["x"] for g in line] == [0, 5, 10, 15, 19] and sum(g["w"] for g in line) == 24
    variable = doc["templating"]["list"][0]
    assert (
        variable["type"] == "query"
        and variable["query"]["query"] == "label_values(http_requests_total, instance)"
    )
    assert variable["current"]["value"] == ["$__all"] and variable["includeAll"] is True


def test_committed_provisioning_json_is_generated_from_the_shipped_dashboards():
    assert stale(DEFAULT_DIR) == [], "run `workshop dashboards export` and commit grafana/dashboards/"


def test_export_command_writes_files_and_check_fails_when_one_is_stale(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "red.json").read_text())["uid"] == "workshop-red"
    assert main(["export", "--check", str(tmp_path)]) == 0
    (tmp_path / "use.json").write_text("{}")
    assert main(["export", "--check", str(tmp_path)]) == 1
    assert "use.json: stale" in capsys.readouterr().err


def test_node_exporter_full_imports_rows_collapsed_panels_and_variables():
    dashboard, report = import_dashboard(FIXTURES / "node-exporter-full.json")
    assert dashboard.title == "Node Exporter Full"
    assert len(dashboard.rows) == 16
    collapsed = [r for r in dashboard.rows if r.collapsed]
    assert collapsed and all(r.panels for r in collapsed)  # nested panels of collapsed rows came along
    assert report.panels == len(dashboard.panels) == 125
    assert report.skipped == []
    assert [v.name for v in dashboard.variables] == ["job", "nodename", "node"]
    assert dashboard.variable("node").query.startswith("label_values(node_uname_info{")
    assert any("datasource variable 'ds_prometheus'" in n for n in report.notes)
    assert any("unit 'bps' shown as short" in n for n in report.notes)
    cpu = next(p for p in dashboard.panels if p.title == "CPU Busy")
    assert cpu.type == "gauge" and cpu.unit == "percent" and cpu.thresholds


def test_panel_types_we_do_not_draw_are_listed_with_title_type_and_reason():
    dashboard, report = import_dashboard(FIXTURES / "apache-full.json")
    assert [(s.title, s.type) for s in report.skipped] == [("Up / Down", "state-timeline")]
    assert report.skipped[0].reason == "panel type not supported"
    assert "Up / Down" not in [p.title for p in dashboard.panels]
    assert "skipped state-timeline 'Up / Down'" in str(report)


def test_old_graph_and_singlestat_panels_and_non_promql_targets_are_converted_or_reported():
    old = {
        "title": "Old",
        "panels": [
            {"type": "graph", "title": "G", "stack": True, "yaxes": [{"format": "bytes"}, {}],
             "gridPos": {"x": 0, "y": 0, "w": 12, "h": 6},
             "targets": [{"expr": "node_memory_MemFree_bytes", "legendFormat": "{{instance}}",
                          "refId": "A"}]},
            {"type": "singlestat", "title": "S", "format": "percent", "thresholds": "80,90",
             "colors": ["green", "orange", "red"], "gridPos": {"x": 12, "y": 0, "w": 12, "h": 6},
             "targets": [{"expr": "up", "refId": "A"}, {"refId": "B", "rawSql": "select 1"},
                         {"refId": "C", "expr": "{job=\"x\"} |= \"error\"", "datasource": {"type": "loki"}}]},
            {"type": "alertlist", "title": "Alerts", "gridPos": {"x": 0, "y": 6, "w": 24, "h": 4}},
        ],
        "templating": {"list": [{"type": "adhoc", "name": "filters"},
                                {"type": "interval", "name": "iv", "query": "1m,5m"}]},
    }  # fmt: skip
    dashboard, report = import_dashboard(json.dumps(old))
    graph, stat = dashboard.panels
    assert (graph.type, graph.unit, graph.stack, graph.targets[0].legend) == (
        "timeseries",
        "bytes",
        True,
        "{{instance}}",
    )
    assert (stat.type, stat.unit) == ("stat", "percent")
    assert [(t.color, t.value) for t in stat.thresholds] == [("green", None), ("orange", 80.0), ("red", 90.0)]
    reasons = {(s.title, s.type): s.reason for s in report.skipped}
    assert [s.reason for s in report.skipped if s.title == "S"] == [
        "query B is not PromQL",
        "query C uses a loki data source",
    ]
    assert [t.expr for t in stat.targets] == ["up"]
    assert reasons[("Alerts", "alertlist")] == "panel type not supported"
    assert reasons[("filters", "variable")] == "variable type 'adhoc' not supported"
    assert dashboard.variable("iv").options == ["1m", "5m"]


def test_broken_json_is_reported_with_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "title": "x",\n  "panels": [\n}\n')
    with pytest.raises(ValueError, match=r"bad.json:4:1: not Grafana dashboard JSON"):
        import_dashboard(path)
