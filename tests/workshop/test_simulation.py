"""``Simulation``: the demo on a virtual clock, queried like a live Prometheus."""

from __future__ import annotations

import pandas as pd
import pytest

from workshop.client import QueryError
from workshop.simulation import DEFAULT_START, Simulation

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


def test_every_toy_service_is_scraped_every_5_seconds(sim):
    frame = sim.query("count_over_time(up[1m])")
    assert sorted(frame["instance"]) == ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"]
    assert list(frame["value"]) == [12.0, 12.0, 12.0]
    assert set(sim.query("up")["value"]) == {1.0}


def test_load_reaches_every_instance_at_about_the_configured_rate(sim):
    frame = sim.query("sum by (instance) (increase(http_requests_total[1m]))")
    # 2 requests/s per target, swinging +-50% over 2 minutes: between ~60 and ~180 a minute
    assert len(frame) == 3
    assert all(60 <= v <= 180 for v in frame["value"]), frame


def test_query_range_returns_a_long_frame_that_pivots_to_one_column_per_series(sim):
    frame = sim.query_range("sum by (instance) (rate(http_requests_total[30s]))", "1m", step="15s")
    wide = frame.wide()
    assert list(wide.columns) == ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"]
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
        up = dict(zip(s.query("up")["instance"], s.query("up")["value"], strict=True))
        assert up == {"127.0.0.1:8080": 1.0, "127.0.0.1:8081": 0.0}
        s.run("45s")
        assert set(s.query("up")["value"]) == {1.0}


async def test_works_from_inside_a_running_event_loop_as_in_jupyter():
    with Simulation(seed=3, instances=1, **FAST) as s:
        s.run("20s")
        assert list(s.query("count_over_time(up[20s])")["value"]) == [4.0]


def test_a_closed_simulation_says_so():
    s = Simulation(seed=0, instances=1, **FAST)
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.run("1m")
