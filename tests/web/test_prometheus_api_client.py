"""prometheus-api-client (PyPI), as notebooks elsewhere use it, works against our server."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from prometheus_api_client import MetricRangeDataFrame, PrometheusConnect

from stack.model import Labels
from tests.web.conftest import run_server

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


@pytest.fixture(scope="module")
def live():
    """A server holding 10 minutes of fresh samples, up to just before now."""
    with run_server() as s:
        now_ms = int(time.time() * 1000) // 1000 * 1000
        app = s.server.tsdb.appender()
        for i in range(41):
            t = now_ms - 600_000 + i * 15_000
            for inst in ("a:8080", "b:8080"):
                labels = Labels({"__name__": "demo_requests_total", "job": "app", "instance": inst})
                app.append(labels, t, 10.0 * i)
        app.commit()
        yield s


@pytest.fixture(params=["GET", "POST"])
def prom(live, request):
    return PrometheusConnect(url=live.url, disable_ssl=True, method=request.param)


def test_connection_check_follows_the_root_redirect(prom):
    assert prom.check_prometheus_connection() is True


def test_all_metrics_and_label_names(prom):
    assert "demo_requests_total" in prom.all_metrics()
    assert set(prom.get_label_names()) >= {"__name__", "instance", "job"}
    assert prom.get_label_values("instance") == ["a:8080", "a:9100", "b:8080", "b:9100", "c:9100",
                                                 "localhost:9100"]


def test_custom_query_returns_the_vector(prom):
    result = prom.custom_query('demo_requests_total{instance="a:8080"}')
    assert len(result) == 1
    assert result[0]["metric"] == {"__name__": "demo_requests_total", "instance": "a:8080", "job": "app"}
    assert float(result[0]["value"][1]) == 400.0


def test_current_value_uses_single_quoted_label_values(prom):
    result = prom.get_current_metric_value("demo_requests_total", label_config={"instance": "b:8080"})
    assert [r["metric"]["instance"] for r in result] == ["b:8080"]


def test_custom_query_range_and_metric_range_dataframe(prom):
    end = datetime.now()
    result = prom.custom_query_range("sum(demo_requests_total)", start_time=end - timedelta(minutes=5),
                                     end_time=end, step="60")
    assert len(result) == 1 and len(result[0]["values"]) in (5, 6)
    frame = MetricRangeDataFrame(result)
    assert list(frame.columns) == ["value"] and len(frame) == len(result[0]["values"])


def test_get_metric_range_data_reads_raw_samples_as_a_matrix(prom):
    end = datetime.now()
    result = prom.get_metric_range_data("demo_requests_total", label_config={"job": "app"},
                                        start_time=end - timedelta(minutes=5), end_time=end)
    assert {r["metric"]["instance"] for r in result} == {"a:8080", "b:8080"}
    assert all(19 <= len(r["values"]) <= 21 for r in result)  # 15 s samples over 5 minutes
    frame = MetricRangeDataFrame(result)
    assert set(frame["instance"]) == {"a:8080", "b:8080"} and frame["value"].max() == 400.0


def test_series_and_targets(prom):
    end = datetime.now()
    series = prom.get_series(start=end - timedelta(minutes=5), end=end,
                             params={"match[]": 'demo_requests_total{instance="a:8080"}'})
    assert series == [{"__name__": "demo_requests_total", "instance": "a:8080", "job": "app"}]
    assert prom.get_targets()["activeTargets"] == []
