"""The notebook query client turns API answers into pandas frames and server errors into QueryError."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pandas as pd
import pytest

from stack.clock import VirtualClock
from tests.support import free_port
from tests.web.conftest import T0, run_server
from workshop.client import AsyncPrometheusClient, PrometheusClient, QueryError, parse_duration, parse_time
from workshop.client import _Calls as Calls


@pytest.fixture(scope="module")
def prom():
    clock = VirtualClock(start=T0 + 1)  # "now" stands still just after the test data
    with run_server(clock=clock) as s:
        yield s
    clock.close()


@pytest.fixture
def client(prom):
    return PrometheusClient(prom.url)


def test_query_returns_one_row_per_series_with_label_columns_utc_timestamp_and_float_value(client):
    df = client.query('up{job="app"}', time=T0)
    assert list(df.columns) == ["__name__", "instance", "job", "timestamp", "value"]
    assert list(df["instance"]) == ["a:9100", "b:9100", "c:9100"]
    assert (df["timestamp"] == pd.Timestamp("2024-05-01T10:00:00Z")).all()
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert df["value"].dtype == float and list(df["value"]) == [1.0, 1.0, 1.0]


def test_query_range_is_long_and_wide_pivots_to_one_column_per_series(client):
    df = client.query_range('http_requests_total{job="app"}', T0 - 60, T0, step="30s")
    assert len(df) == 9
    wide = df.wide()
    assert list(wide.columns) == ["a:9100", "b:9100", "c:9100"]
    assert list(wide.index) == [pd.Timestamp(T0 + d, unit="s", tz="UTC") for d in (-60, -30, 0)]
    assert list(wide["a:9100"]) == [540.0, 570.0, 600.0]
    assert list(df.wide("instance").columns) == ["a:9100", "b:9100", "c:9100"]


def test_query_range_accepts_a_duration_as_start_meaning_before_end(client):
    df = client.query_range('up{job="node"}', "2m", end=datetime(2024, 5, 1, 10, 0, 0), step=60)
    assert list(df["timestamp"]) == [pd.Timestamp(T0 + d, unit="s", tz="UTC") for d in (-120, -60, 0)]


def test_scalar_results_are_one_row(client):
    df = client.query("1+1", time=4)
    assert list(df["value"]) == [2.0] and df["timestamp"][0] == pd.Timestamp(4, unit="s", tz="UTC")


def test_a_bad_query_raises_query_error_with_type_position_and_caret(client):
    with pytest.raises(QueryError) as e:
        client.query("sum(rate(x[5m])")
    err = e.value
    assert err.error_type == "bad_data" and err.status == 400
    assert "unclosed left parenthesis" in err.message
    assert err.position == 15
    assert err.caret().splitlines()[:2] == ["sum(rate(x[5m])", " " * 15 + "^"]


def test_an_unreachable_server_is_a_query_error_too():
    with pytest.raises(QueryError) as e:
        PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout=5).query("up")
    assert e.value.error_type == "unavailable"


def test_a_non_api_answer_is_a_query_error(prom):
    with pytest.raises(QueryError) as e:
        PrometheusClient(prom.url + "/nothing-here").query("up")
    assert e.value.error_type == "http" and e.value.status == 404


def test_series_labels_and_label_values(client):
    series = client.series('up{job="node"}')
    assert series.to_dict("records") == [{"__name__": "up", "instance": "localhost:9100", "job": "node"}]
    assert client.labels() == ["__name__", "instance", "job", "sensor"]
    assert client.label_values("job") == ["app", "node"]
    assert client.label_values("instance", match='up{job="node"}') == ["localhost:9100"]


def test_targets_alerts_and_rules_are_frames_even_when_empty(client):
    assert list(client.targets().columns)[:3] == ["scrapePool", "state", "job"]
    assert client.alerts().empty and "alertname" in client.alerts().columns
    assert client.rules().empty and "query" in client.rules().columns


def test_sync_client_works_while_an_event_loop_is_running(client):
    async def inside_a_notebook_cell():
        return client.query("up", time=T0)

    import asyncio

    assert len(asyncio.run(inside_a_notebook_cell())) == 4


async def test_async_client_gives_the_same_frames(prom, client):
    async with AsyncPrometheusClient(prom.url) as aclient:
        got = await aclient.query_range("up", T0 - 60, T0, step=30)
        with pytest.raises(QueryError):
            await aclient.query("sum(")
    pd.testing.assert_frame_equal(got, client.query_range("up", T0 - 60, T0, step=30))


def test_times_accept_datetimes_timestamps_numbers_now_expressions_and_iso_text():
    now = 1_000_000.0
    assert parse_time("now", now) == now
    assert parse_time("now-1h", now) == now - 3600
    assert parse_time("now + 90s", now) == now + 90
    assert parse_time(datetime(2024, 5, 1, 10), now) == T0  # naive means UTC
    assert parse_time(pd.Timestamp("2024-05-01T12:00:00+02:00"), now) == T0
    assert parse_time("2024-05-01T10:00:00Z", now) == T0
    assert parse_time(T0, now) == T0 and parse_time(str(T0), now) == T0
    with pytest.raises(ValueError, match="invalid time"):
        parse_time("yesterday-ish", now)


def test_durations_accept_strings_seconds_and_timedeltas():
    assert parse_duration("15s") == 15 and parse_duration("1m30s") == 90 and parse_duration("1.5h") == 5400
    assert parse_duration(15) == 15 and parse_duration("0.5") == 0.5
    assert parse_duration(timedelta(minutes=2)) == 120
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("5 minutes")


def test_the_default_range_is_the_last_hour_computed_at_call_time():
    before = time.time()
    params = dict(Calls.query_range("up").params)
    start, end = float(params["start"]), float(params["end"])
    assert end - start == pytest.approx(3600, abs=0.002)
    assert before - 0.002 <= end  # not a time fixed at import
    assert params["step"] == "15"  # 3600 s / 250 points, rounded up to whole seconds


def test_in_process_client_answers_like_http_on_a_virtual_clock(prom, client):
    from stack.config.prometheus import PrometheusConfig
    from stack.prometheus import PrometheusServer
    from tests.web.conftest import load_samples

    clock = VirtualClock(start=T0 + 1)
    server = PrometheusServer(config=PrometheusConfig(), clock=clock, listen_address=None)
    clock.run(server.start())
    try:
        load_samples(server.tsdb)
        local = PrometheusClient.in_process(server, clock.run)
        pd.testing.assert_frame_equal(local.query_range("up", T0 - 60, T0, step=30),
                                      client.query_range("up", T0 - 60, T0, step=30))
        assert local.label_values("job") == ["app", "node"]
        with pytest.raises(QueryError) as e:
            local.query("sum(")
        assert (e.value.error_type, e.value.position) == ("bad_data", 4)
        with pytest.raises(QueryError) as e:
            local.series('{job=~".*"}')
        assert e.value.status == 400
    finally:
        clock.run(server.stop())
        clock.close()
