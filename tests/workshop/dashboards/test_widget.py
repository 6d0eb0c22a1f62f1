"""The notebook widget driven from Python, as a participant's clicks would drive it."""

import threading

import matplotlib.pyplot as plt
import pytest

from workshop.dashboards import shipped
from workshop.dashboards.datasource import LabelValuesByQuery
from workshop.dashboards.widget import DashboardWidget, live_widgets
from workshop.simulation import DEFAULT_START


class Recording(LabelValuesByQuery):
    """The Simulation as a data source, remembering every range query it was asked."""

    def __init__(self, sim):
        super().__init__(sim)
        self.ranges = []
        self._lock = threading.Lock()

    def query_range(self, expr, start, end, step):
        with self._lock:
            self.ranges.append((expr, float(start), float(end)))
        return super().query_range(expr, start, end, step)

    def take(self):
        with self._lock:
            out, self.ranges = self.ranges, []
        return out


def red_core():
    """The RED dashboard's rate and duration rows: every kind of query, at half the drawing cost."""
    red = shipped("red")
    red.rows = red.rows[1:3]
    return red


@pytest.fixture
def recording(sim):
    return Recording(sim)


@pytest.fixture
def widget(recording):
    w = DashboardWidget(red_core(), recording, time_range="5m", scrape_interval="5s", dpi=40)
    yield w
    w.close()


def test_the_first_refresh_draws_the_picture_and_fills_the_variable_picker(widget, recording):
    assert bytes(widget.image.value).startswith(b"\x89PNG")
    assert widget.variables["instance"].options == (
        "All",
        "127.0.0.1:8080",
        "127.0.0.1:8081",
        "127.0.0.1:8082",
    )
    assert widget.variables["instance"].value == ("All",)
    assert {round(end - start) for _, start, end in recording.take()} == {300}


def test_choosing_another_range_reissues_every_query_for_it_and_changes_the_picture(widget, recording):
    recording.take()
    before = bytes(widget.image.value)
    widget.range.value = "15m"
    issued = recording.take()
    assert len(issued) == sum(
        len(p.targets) for p in widget.dashboard.panels if p.type in ("timeseries", "heatmap")
    )
    assert {round(end - start) for _, start, end in issued} == {900}
    assert bytes(widget.image.value) != before


def test_choosing_an_instance_reissues_queries_filtered_to_it(widget, recording):
    recording.take()
    before = bytes(widget.image.value)
    widget.variables["instance"].value = ("127.0.0.1:8081",)
    issued = recording.take()
    assert issued and all('instance=~"127\\\\.0\\\\.0\\\\.1:8081"' in expr for expr, _, _ in issued)
    assert widget.data.selected == {"instance": ["127.0.0.1:8081"]}
    assert bytes(widget.image.value) != before


def test_an_absolute_range_is_used_as_given_and_a_bad_one_is_reported_without_losing_the_picture(
    widget, recording
):
    widget.start.value = "2026-01-01T00:02:00Z"
    widget.end.value = "2026-01-01T00:04:00Z"
    recording.take()
    widget.range.value = "absolute"
    assert {(start, end) for _, start, end in recording.take()} == {
        (DEFAULT_START + 120, DEFAULT_START + 240)
    }
    picture = bytes(widget.image.value)
    widget.end.value = "2026-01-01T00:01:00Z"  # before the start
    widget.refresh()
    assert "must end after it starts" in widget.status.value
    assert bytes(widget.image.value) == picture


def test_recreating_the_widget_stops_the_old_one_and_leaks_no_threads_or_figures(recording):
    figures, threads = len(plt.get_fignums()), threading.active_count()
    first = DashboardWidget(red_core(), recording, time_range="5m", auto_refresh=30.0, dpi=40)
    timer = first.timer_thread
    assert timer is not None and timer.is_alive()
    second = DashboardWidget(red_core(), recording, time_range="5m", auto_refresh=5.0, dpi=40)  # cell re-run
    assert first.closed and not timer.is_alive()
    assert live_widgets() == [second]
    second.auto.value = 0.0  # auto-refresh off from the dropdown
    assert second.timer_thread is None
    second.close()
    assert live_widgets() == []
    assert threading.active_count() == threads
    assert len(plt.get_fignums()) == figures
