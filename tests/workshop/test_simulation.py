"""``Simulation``: the full demo on a virtual clock, queried like a live Prometheus."""

from __future__ import annotations

import pandas as pd
import pytest

from toyservice.push import BATCH_JOB
from workshop.client import QueryError
from workshop.simulation import DEFAULT_START, Simulation

TOYS = ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"]

# Small and quick: a low request rate keeps each test to a few seconds of real time.
FAST = {"rate": 2.0, "progress": False}


@pytest.fixture(scope="module")
def sim():
    with Simulation(seed=1, **FAST) as s:
        s.run("2m")
        yield s


def test_run_advances_virtual_time_by_the_duration(sim):
    assert sim.now == DEFAULT_START + 120
    assert sim.time == pd.Timestamp("2026-01-01T00:02:00Z")


def test_every_target_of_the_live_config_is_scraped_every_5_seconds_under_its_job_and_address(sim):
    frame = sim.query("count_over_time(up[1m])")
    targets = sorted(zip(frame["job"], frame["instance"], frame["value"], strict=True))
    assert targets == [("node", "127.0.0.1:9100", 12.0), ("prometheus", "127.0.0.1:9090", 12.0),
                       ("pushgateway", "127.0.0.1:9091", 12.0)] + [("toyservice", t, 12.0) for t in TOYS]
    assert set(sim.query("up")["value"]) == {1.0}


def test_batch_jobs_push_their_results_which_are_scraped_with_honor_labels(sim):
    # The first batch run starts 60 s in and takes ~5 s; by 2m every service has pushed once.
    frame = sim.query(f'batch_job_last_success_timestamp_seconds{{job="{BATCH_JOB}"}}')
    assert sorted(frame["instance"]) == ["toyservice-1", "toyservice-2", "toyservice-3"]
    assert "exported_job" not in frame.columns and "exported_instance" not in frame.columns
    for service in sim.services.values():
        pushed = sim.query(f'{{job="{BATCH_JOB}", instance="{service.name}", __name__=~"batch_job_.*"}}')
        values = dict(zip(pushed["__name__"], pushed["value"], strict=True))
        own = {s.name: s.value for m in service.batch_registry.collect() for s in m.samples}
        assert values == own
        assert values["batch_job_duration_seconds"] > 0
    pushed_at = sim.query(f'push_time_seconds{{job="{BATCH_JOB}"}}')["value"]
    assert len(pushed_at) == 3 and all(DEFAULT_START + 60 < t < DEFAULT_START + 120 for t in pushed_at)


def test_node_series_come_from_the_simulated_host(sim):
    selector = 'node_filesystem_avail_bytes{job="node", instance="127.0.0.1:9100", mountpoint="/"}'
    (value,) = sim.query(selector)["value"]
    (scraped_at,) = sim.query(f"timestamp({selector})")["value"]
    assert value == sim.host.avail_bytes(scraped_at)
    assert len(sim.query('node_cpu_seconds_total{mode="idle"}')) == sim.host.cpus


def test_load_reaches_every_instance_at_about_the_configured_rate(sim):
    frame = sim.query("sum by (instance) (increase(http_requests_total[1m]))")
    # 2 requests/s per target, swinging +-50% over 2 minutes: between ~60 and ~180 a minute
    assert len(frame) == 3
    assert all(60 <= v <= 180 for v in frame["value"]), frame


def test_query_range_returns_a_long_frame_that_pivots_to_one_column_per_series(sim):
    frame = sim.query_range("sum by (instance) (rate(http_requests_total[30s]))", "1m", step="15s")
    wide = frame.wide()
    assert list(wide.columns) == TOYS
    assert list(wide.index) == list(pd.date_range("2026-01-01T00:01:00Z", periods=5, freq="15s"))


def test_query_at_a_relative_time(sim):
    frame = sim.query("up", time="now-1m")
    assert set(frame["timestamp"]) == {pd.Timestamp("2026-01-01T00:01:00Z")}


def test_a_malformed_query_raises_query_error_with_its_position(sim):
    with pytest.raises(QueryError) as e:
        sim.query("sum(rate(http_requests_total[5m])")
    assert e.value.error_type == "bad_data"
    assert "unclosed left parenthesis" in str(e.value)
    assert e.value.caret().splitlines()[1] == " " * 33 + "^"


def test_bad_durations_are_rejected():
    with Simulation(seed=0, instances=1, **FAST) as s:
        with pytest.raises(ValueError, match="invalid duration"):
            s.run("an hour")
        with pytest.raises(ValueError, match="must be positive"):
            s.run(0)


def test_same_seed_gives_the_same_samples_and_another_seed_does_not():
    def samples(seed: int) -> pd.DataFrame:
        with Simulation(seed=seed, instances=1, **FAST) as s:
            s.run("1m")
            return s.query_range("http_request_duration_seconds_sum", "1m", step="5s")

    first, again, other = samples(7), samples(7), samples(8)
    assert len(first) > 0
    pd.testing.assert_frame_equal(first, again)
    assert not first["value"].equals(other["value"])


def test_an_injected_down_fault_shows_as_up_0_until_it_ends():
    with Simulation(seed=2, instances=2, **FAST) as s:
        s.run("30s")
        s.fault("down", "1m", instance="127.0.0.1:8081")
        s.run("30s")
        up = s.query('up{job="toyservice"}')
        assert dict(zip(up["instance"], up["value"], strict=True)) == {"127.0.0.1:8080": 1.0,
                                                                       "127.0.0.1:8081": 0.0}
        s.run("45s")
        assert set(s.query('up{job="toyservice"}')["value"]) == {1.0}


async def test_works_from_inside_a_running_event_loop_as_in_jupyter():
    with Simulation(seed=3, instances=1, **FAST) as s:
        s.run("20s")
        assert list(s.query('count_over_time(up{job="toyservice"}[20s])')["value"]) == [4.0]


def test_a_closed_simulation_says_so():
    s = Simulation(seed=0, instances=1, **FAST)
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.run("1m")


def test_an_outage_fires_alerts_that_reach_the_inbox_at_exact_times():
    # Instance 1's outage cycle starts at 0:00 and lasts 2 minutes (latency x3, errors x10). The rule
    # groups evaluate every 15 s (at :14.177 past each 15 s slot, a deterministic offset hashed from
    # the rule file's name and the group's); HighErrorRatio and HighLatency hold for 1m, then
    # Alertmanager waits group_wait (10 s) before notifying.
    with Simulation(seed=1, **FAST) as s:
        s.run("150s")
        alerts = s.alerts()
        assert list(zip(alerts["alertname"], alerts["state"], alerts["instance"], strict=True)) == [
            ("HighErrorRatio", "firing", "127.0.0.1:8080"), ("HighLatency", "firing", "127.0.0.1:8080")]
        assert list(alerts["active_since"]) == [pd.Timestamp("2026-01-01T00:00:29.177Z")] * 2
        s.run("90s")
        # Two groups (group_by alertname) flush at the same instant: order them by name.
        inbox = s.inbox.frame().sort_values(["received_at", "alertname"], kind="stable")
        got = list(zip(inbox["received_at"], inbox["status"], inbox["alertname"], inbox["instance"],
                       inbox["receiver"], strict=True))
        t = pd.Timestamp
        # Resolved notifications wait for the group's next flush (group_interval 1m after the last one).
        assert got == [
            (t("2026-01-01T00:01:39.177Z"), "firing", "HighErrorRatio", "127.0.0.1:8080", "inbox"),
            (t("2026-01-01T00:01:39.177Z"), "firing", "HighLatency", "127.0.0.1:8080", "inbox"),
            (t("2026-01-01T00:03:39.177Z"), "resolved", "HighErrorRatio", "127.0.0.1:8080", "inbox"),
            (t("2026-01-01T00:03:39.177Z"), "resolved", "HighLatency", "127.0.0.1:8080", "inbox"),
        ]
        assert list(inbox["startsAt"]) == [t("2026-01-01T00:01:29.177Z")] * 4
        assert list(inbox["endsAt"][2:]) == [t("2026-01-01T00:02:59.177Z"), t("2026-01-01T00:02:44.177Z")]
        firing = s.query_range('ALERTS{alertstate="firing"}', "4m", step="15s")
        assert set(firing["alertname"]) == {"HighErrorRatio", "HighLatency"}


def test_an_injected_down_fault_notifies_the_critical_receiver():
    with Simulation(seed=4, instances=2, **FAST) as s:
        s.run("3m")  # past the first outages of both instances
        s.inbox.clear()
        s.fault("down", "3m", instance="127.0.0.1:8081")
        s.run("2m")
        inbox = s.inbox.frame()
        down = inbox[inbox["alertname"] == "InstanceDown"]
        assert list(zip(down["status"], down["instance"], down["receiver"], down["path"], strict=True)) == [
            ("firing", "127.0.0.1:8081", "inbox-critical", "/critical")]


def test_the_same_seed_gives_byte_identical_query_results_including_alerts():
    queries = ['ALERTS', 'sum by (instance) (rate(http_requests_total[1m]))',
               'batch_job_last_success_timestamp_seconds', 'node_filesystem_avail_bytes{mountpoint="/"}']

    def results(seed: int) -> list[pd.DataFrame]:
        with Simulation(seed=seed, instances=1, **FAST) as s:  # one toy service keeps this test quick
            s.run("20m")
            return [s.query_range(q, "20m", step="15s") for q in queries]

    first, again = results(7), results(7)
    assert [f.to_json(date_format="iso") for f in first] == [f.to_json(date_format="iso") for f in again]
    assert {"HighErrorRatio", "HighLatency"} <= set(first[0]["alertname"])
    assert all(len(frame) > 0 for frame in first)


def test_the_same_seed_stores_exactly_the_same_series_and_samples_everywhere():
    """Not only the toy series: the self-monitoring ones too (process_*, rule and scrape durations),
    which a simulation must take from the virtual clock, never from this Python process."""

    def stored(seed: int) -> dict:
        with Simulation(seed=seed, **FAST) as s:
            s.run("3m")
            everything = s.query_range('{__name__=~".+"}', "3m", step="5s")
        return {name: frame.to_json(date_format="iso") for name, frame in everything.groupby("__name__")}

    first, again = stored(3), stored(3)
    assert {"prometheus_rule_group_last_duration_seconds", "scrape_duration_seconds"} <= set(first)
    assert "process_cpu_seconds_total" not in first  # the simulated Prometheus is no real process
    assert len(first) > 50
    assert [name for name in first if first[name] != again.get(name)] == []
