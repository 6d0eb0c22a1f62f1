"""Scraping what prometheus_client serves (the library participants instrument with), in both formats."""

import prometheus_client.metrics
import pytest
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.exposition import choose_encoder

from stack.scrape import ScrapeResponse
from tests.scrape.helpers import Sim, job


@pytest.fixture(autouse=True)
def created_series_on():
    """``*_created`` series are a process-wide switch (the toy service turns them off for
    repeatable simulations); these tests need them on, whatever ran before."""
    was = prometheus_client.metrics._use_created
    prometheus_client.metrics.enable_created_metrics()
    yield
    if not was:
        prometheus_client.metrics.disable_created_metrics()


def registry() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("requests", "Requests.", ["path"], registry=r).labels(path='/a "q"\n').inc(3)
    Gauge("temperature_celsius", "Temp.", registry=r).set(-4.5)
    h = Histogram("latency_seconds", "Latency.", buckets=(0.1, 1.0), registry=r)
    for v in (0.05, 0.5, 5):
        h.observe(v)
    Summary("size_bytes", "Size.", registry=r).observe(10)
    Info("build", "Build.", registry=r).info({"version": "1.2"})
    Enum("state", "State.", states=["up", "down"], registry=r).state("down")
    return r


@pytest.mark.parametrize("accept_openmetrics", [True, False])
def test_every_client_python_metric_type_is_stored(accept_openmetrics):
    reg = registry()
    seen_types = []

    def handler(path, headers):
        accept = headers["Accept"] if accept_openmetrics else "text/plain"
        encoder, content_type = choose_encoder(accept)
        seen_types.append(content_type)
        return ScrapeResponse(200, content_type, encoder(reg))

    s = Sim(job(), {"a:1": handler})
    try:
        s.advance(15)
        assert s.targets()[0].last_error == ""
        assert seen_types[0].startswith(
            "application/openmetrics-text" if accept_openmetrics else "text/plain"
        )
        stored = {ls.name: ls for ls in s.head.series([])}
        assert s.values("requests_total", path='/a "q"\n') == [3.0]
        assert s.values("temperature_celsius") == [-4.5]
        assert s.values("latency_seconds_bucket", le="1.0") == [2.0]
        assert s.values("latency_seconds_bucket", le="+Inf") == [3.0]
        assert s.values("latency_seconds_count") == [3.0] and s.values("size_bytes_sum") == [10.0]
        assert s.values("build_info", version="1.2") == [1.0]
        assert s.values("state", state="down") == [1.0] and s.values("state", state="up") == [0.0]
        assert "requests_created" in stored
        families = s.targets()[0].metadata
        assert families["latency_seconds"]["type"] == "histogram"
    finally:
        s.close()
