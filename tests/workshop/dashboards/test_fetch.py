import threading

import pytest

from workshop.dashboards import Dashboard, Panel, Row, Target, TimeRange, fetch
from workshop.dashboards.datasource import LabelValuesByQuery, as_datasource


class Rendezvous(LabelValuesByQuery):
    """Every range query waits until ``parties`` of them are in flight at once (or times out)."""

    def __init__(self, sim, parties):
        super().__init__(sim)
        self.barrier = threading.Barrier(parties, timeout=20)

    def query_range(self, expr, start, end, step):
        self.barrier.wait()  # BrokenBarrierError if queries ran one after another
        return super().query_range(expr, start, end, step)


def test_the_queries_of_one_refresh_run_concurrently(sim):
    panels = [Panel(f"P{i}", targets=[Target(f"up + {i}")]) for i in range(4)]
    data = fetch(Dashboard("D", rows=[Row(panels=panels)]), Rendezvous(sim, parties=4), "now-5m")
    assert [r.error for p in data.panels for r in p.results] == [None] * 4
    assert [len(p.results[0].frame) > 0 for p in data.panels] == [True] * 4


def test_range_queries_use_the_interval_as_step_and_instant_panels_query_at_the_end(sim):
    dashboard = Dashboard(
        "D",
        rows=[
            Row(
                panels=[
                    Panel("Rate", targets=[Target("sum(rate(http_requests_total[$__rate_interval]))")]),
                    Panel("Now", type="stat", targets=[Target('count(up{job="toyservice"})')]),
                ]
            )
        ],
    )
    time_range = TimeRange(sim.now - 300, sim.now)
    data = fetch(dashboard, sim, time_range, scrape_interval="5s")
    assert data.queries == [
        "sum(rate(http_requests_total[20s]))",
        'count(up{job="toyservice"})',
    ]  # max(5s + 5s, 4 x 5s)
    rate, now = (p.results[0].frame for p in data.panels)
    assert rate["timestamp"].diff().dropna().dt.total_seconds().unique().tolist() == [5.0]
    assert len(now) == 1 and now["value"].iloc[0] == 3


def test_label_values_for_a_simulation_come_from_the_series_present(sim):
    source = as_datasource(sim)
    toys = ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"]
    assert source.label_values("instance", 'up{job="toyservice"}') == toys
    assert source.label_values("path") == ["/api/bar", "/api/foo"]


def test_the_engine_adapter_answers_like_the_http_client(host_lab):
    assert host_lab.label_values("job") == ["node", "prometheus"]
    frame = host_lab.query("up")
    assert sorted(frame["job"]) == ["node", "prometheus"] and str(frame["timestamp"].dt.tz) == "UTC"


def test_something_that_is_not_a_data_source_is_refused_by_name():
    with pytest.raises(TypeError, match="int is not a data source"):
        as_datasource(42)


@pytest.mark.parametrize("text", ["now-5m", "5m"])
def test_a_relative_range_ends_at_the_sources_now(sim, text):
    data = fetch(Dashboard("D"), sim, text)
    assert (data.time_range.start, data.time_range.end) == (sim.now - 300, sim.now)


def test_a_malformed_range_is_a_value_error_naming_it(sim):
    with pytest.raises(ValueError, match="'yesterday-ish'"):
        fetch(Dashboard("D"), sim, "yesterday-ish")
