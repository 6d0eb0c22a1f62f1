"""The shipped dashboards drawn from real data: inspect the Figure's Axes, not pixels."""

import threading
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from workshop.dashboards import Dashboard, Panel, Row, Target, render, save, shipped
from workshop.dashboards.panels import color_for

FIVE_MINUTES = "now-5m"
FIXTURES = Path(__file__).parent / "fixtures"


def panel_axes(fig):
    return [ax for ax in fig.axes if (ax.get_gid() or "").startswith("panel:")]


def by_title(fig):
    return {ax.get_title(loc="left"): ax for ax in panel_axes(fig)}


def tick_labels(ax, axis="y"):
    """The tick labels the axis will draw (its locator and formatter; no need to draw the figure)."""
    which = ax.yaxis if axis == "y" else ax.xaxis
    low, high = sorted(which.get_view_interval())
    locs = [v for v in which.get_majorticklocs() if low <= v <= high]
    return [t for t in which.get_major_formatter().format_ticks(locs) if t]


def legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


@pytest.fixture(scope="module")
def red_figure(sim):
    return render(shipped("red"), sim, FIVE_MINUTES, scrape_interval="5s")


def test_red_dashboard_renders_every_panel_with_its_title_series_and_units(red_figure):
    dashboard, fig = shipped("red"), red_figure
    axes = by_title(fig)
    assert list(axes) == [p.title for p in dashboard.panels]
    assert [ax.get_gid() for ax in panel_axes(fig)] == [f"panel:{p.type}" for p in dashboard.panels]
    assert sum(1 for ax in fig.axes if ax.get_gid() == "row") == 4

    by_route = axes["Request rate by route"]
    assert sorted(line.get_label() for line in by_route.lines) == ["/api/bar", "/api/foo"]
    assert all(label.endswith(" req/s") for label in tick_labels(by_route))
    durations = axes["Request duration p50 / p90 / p99 by route"]
    assert len(durations.lines) == 6  # three quantiles x two routes
    assert all(label.endswith(("ms", " s")) for label in tick_labels(durations))
    assert all(label.endswith("%") for label in tick_labels(axes["Error ratio by route"]))
    assert len(axes["Requests in flight by instance"].lines) == 3  # three toy service instances
    assert [c.get_gid() for c in axes["Latency heatmap"].collections] == ["heatmap"]
    assert any(label.endswith("ms") for label in tick_labels(axes["Latency heatmap"]))
    # the date axis reads as clock time, not as matplotlib's float days
    assert all(":" in label for label in tick_labels(by_route, "x"))
    stat_text = [t.get_text() for t in axes["Request rate"].texts]
    assert len(stat_text) == 1 and stat_text[0].endswith(" req/s")
    assert [t.get_text() for t in axes["Error ratio"].texts][0].endswith("%")


def test_a_series_has_the_same_colour_in_every_panel(red_figure):
    axes = by_title(red_figure)
    rate = {line.get_label(): line.get_color() for line in axes["Request rate by route"].lines}
    errors = {line.get_label(): line.get_color() for line in axes["Error ratio by route"].lines}
    assert rate == errors == {name: color_for(name) for name in rate}


def test_prometheus_dashboard_against_a_simulation_shows_one_series_per_target(sim):
    targets = sim.query("up")
    fig = render(shipped("prometheus"), sim, FIVE_MINUTES, scrape_interval="5s")
    axes = by_title(fig)
    assert len(axes["Scrape duration"].lines) == len(targets)
    assert sorted(legend_texts(axes["Up by job"])) == sorted(set(targets["job"]))
    assert [t.get_text() for t in axes["Targets up"].texts] == [f"{round(100 * targets['value'].mean())}%"]
    assert len(axes["Targets"].tables) == 1
    assert all(label.endswith(("ms", " s")) for label in tick_labels(axes["Scrape duration"]))


def test_use_dashboard_against_a_simulation_shows_the_simulated_host(sim):
    dashboard = shipped("use")
    hosts = sim.query("node_uname_info")
    fig = render(dashboard, sim, FIVE_MINUTES, scrape_interval="5s")
    axes = by_title(fig)
    assert list(axes) == [p.title for p in dashboard.panels]
    assert len(axes["Load average"].lines) == 3 * len(hosts)
    assert all(label.endswith("%") for label in tick_labels(axes["CPU utilisation by mode"]))


def test_use_dashboard_on_a_simulated_host_shows_cpu_modes_memory_and_days_to_full(host_lab):
    fig = render(shipped("use"), host_lab, "now-30m", scrape_interval="5s")
    axes = by_title(fig)
    cpu = axes["CPU utilisation by mode"]
    assert cpu.collections and "system" in legend_texts(cpu)  # stacked areas, one per busy mode
    assert legend_texts(axes["Load average"]) == ["1m", "5m", "15m"]
    assert all(label.endswith("B") for label in tick_labels(axes["Memory used / available"]))
    full_in = [t.get_text() for t in axes["Root filesystem full in"].texts]
    assert len(full_in) == 1 and full_in[0].endswith("hour")  # 5 GiB/h into ~45 GiB free
    assert [t.get_text() for t in axes["Filesystem used"].get_yticklabels()] == ["/", "/boot"]


def test_prometheus_dashboard_on_a_self_scraping_server_shows_head_series(host_lab):
    fig = render(shipped("prometheus"), host_lab, "now-30m", scrape_interval="5s")
    axes = by_title(fig)
    assert len(axes["Head series"].lines) == 1
    assert sorted(legend_texts(axes["Up by job"])) == ["node", "prometheus"]


def test_collapsed_rows_show_only_their_header_unless_expanded(sim):
    dashboard = Dashboard(
        "D",
        rows=[Row("Open", [Panel("A", targets=[Target("up")])]), Row("Shut", [Panel("B")], collapsed=True)],
    )
    assert [ax.get_title(loc="left") for ax in panel_axes(render(dashboard, sim, FIVE_MINUTES))] == ["A"]
    assert len(panel_axes(render(dashboard, sim, FIVE_MINUTES, expand=True))) == 2


def test_a_failing_query_is_shown_in_its_panel_and_the_others_still_render(sim):
    dashboard = Dashboard(
        "D",
        rows=[
            Row(
                panels=[
                    Panel("Bad", targets=[Target("rate(up[")]),
                    Panel("Good", targets=[Target('up{job="toyservice"}')]),
                ]
            )
        ],
    )
    axes = by_title(render(dashboard, sim, FIVE_MINUTES))
    assert axes["Bad"].texts[0].get_text().startswith("Error: bad_data")
    assert len(axes["Good"].lines) == 3


def test_rendering_registers_no_pyplot_figures_and_saves_png_and_svg(sim, tmp_path):
    before = len(plt.get_fignums())
    threads = threading.active_count()
    fig = render(shipped("red"), sim, FIVE_MINUTES, scrape_interval="5s", dpi=40)
    png, svg = save(fig, tmp_path / "red.png"), save(fig, tmp_path / "red.svg")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in svg.read_bytes()[:500]
    assert len(plt.get_fignums()) == before
    assert threading.active_count() == threads  # the query pool is gone


def test_a_range_without_a_data_source_is_a_clear_error():
    with pytest.raises(ValueError, match="needs a data source"):
        render(shipped("red"))


def test_a_flat_zero_series_gets_a_non_negative_axis(sim):
    flat = Dashboard(
        "D", rows=[Row(panels=[Panel("Zero", unit="s", targets=[Target('0 * up{job="toyservice"}')])])]
    )
    ax = by_title(render(flat, sim, FIVE_MINUTES))["Zero"]
    assert ax.get_ylim() == (0.0, 1.0)
    assert tick_labels(ax)[0] == "0 s"


def test_an_imported_node_exporter_full_renders_its_open_rows_against_a_simulation(sim):
    from workshop.dashboards import import_dashboard

    dashboard, report = import_dashboard(FIXTURES / "node-exporter-full.json")
    fig = render(dashboard, sim, FIVE_MINUTES, scrape_interval="5s")
    open_panels = [p for row in dashboard.rows if not row.collapsed for p in row.panels]
    assert [ax.get_title(loc="left") for ax in panel_axes(fig)] == [p.title for p in open_panels]
    assert sum(1 for ax in fig.axes if ax.get_gid() == "row") == len(dashboard.rows)
    # the variables resolved against the simulated host, and its panels show its numbers
    assert by_title(fig)["CPU Busy"].texts[-1].get_text().endswith("%")
    assert by_title(fig)["RAM Total"].texts[0].get_text().endswith("GiB")


def test_an_imported_dashboard_leaves_out_exactly_what_the_report_lists(sim):
    from workshop.dashboards import import_dashboard

    dashboard, report = import_dashboard(FIXTURES / "apache-full.json")
    titles = [
        ax.get_title(loc="left") for ax in panel_axes(render(dashboard, sim, FIVE_MINUTES, expand=True))
    ]
    assert len(titles) == report.panels
    assert [s.title for s in report.skipped] == ["Up / Down"] and "Up / Down" not in titles
