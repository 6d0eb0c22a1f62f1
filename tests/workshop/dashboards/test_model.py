import pytest

from stack.config.yamlutil import ConfigError
from workshop.dashboards import SHIPPED, Dashboard, shipped
from workshop.dashboards.model import PANEL_TYPES


def test_shipped_dashboards_load_with_distinct_uids_and_known_panel_types():
    dashboards = [shipped(name) for name in SHIPPED]
    assert len({d.uid for d in dashboards}) == 3
    for d in dashboards:
        assert d.panels and all(p.type in PANEL_TYPES for p in d.panels)
        for row in d.rows:
            assert row.title


def test_red_dashboard_covers_rate_errors_duration_in_flight_and_a_heatmap():
    red = shipped("red")
    exprs = " ".join(t.expr for p in red.panels for t in p.targets)
    assert "histogram_quantile(0.99" in exprs and "histogram_quantile(0.5" in exprs
    assert "http_requests_in_flight" in exprs and 'status=~"5.."' in exprs
    assert any(p.type == "heatmap" for p in red.panels)


def test_a_string_target_is_shorthand_for_one_query():
    d = Dashboard.from_yaml("d.yml", "title: T\nrows:\n  - panels:\n      - title: P\n        targets: up\n")
    assert d.panels[0].targets[0].expr == "up"


def test_an_unknown_key_is_reported_with_file_and_line():
    text = "title: T\nrows:\n  - title: R\n    panels:\n      - title: P\n        unti: s\n"
    with pytest.raises(ConfigError) as e:
        Dashboard.from_yaml("mine.yml", text)
    assert str(e.value).startswith("mine.yml:6: unknown key 'unti' in panel")


def test_an_unknown_unit_is_reported_with_the_panels_line():
    text = "title: T\nrows:\n  - panels:\n      - title: Latency\n        unit: fortnights\n"
    with pytest.raises(ConfigError) as e:
        Dashboard.from_yaml("mine.yml", text)
    assert "mine.yml:4:" in str(e.value) and "unknown unit 'fortnights'" in str(e.value)


def test_an_unknown_shipped_name_lists_the_shipped_ones():
    with pytest.raises(ValueError, match="red, use, prometheus"):
        shipped("nope")
