"""``ExpositionCache`` writes exactly what prometheus_client writes, for every Accept header it negotiates."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.exposition import choose_encoder

from toyservice.exposition import ExpositionCache

ACCEPTS = [
    "",
    "text/plain; version=0.0.4",
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
    # what Prometheus 3 sends by default
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;"
    "version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,"
    "*/*;q=0.2",
    "text/plain;version=1.0.0;escaping=underscores",
]


@pytest.fixture
def registry():
    r = CollectorRegistry()
    c = Counter("requests_total", 'Help with "quotes", a \\ backslash\nand a newline.', ["path", "code"],
                registry=r)  # fmt: skip
    c.labels("/a", "200").inc(3)
    c.labels('/we"ird\\path\n', "500").inc(0.5)
    Gauge("temperature_celsius", "A plain gauge.", registry=r).set(-1.5e-7)
    h = Histogram("latency_seconds", "A histogram.", ["path"], buckets=(0.1, 1.0), registry=r)
    for v in (0.05, 0.5, 5.0, 1e9):
        h.labels("/a").observe(v)
    Summary("size_bytes", "A summary.", registry=r).observe(1234567.0)
    Info("build", "An info metric.", registry=r).info({"version": "1.2.3"})
    Enum("state", "A stateset.", states=["up", "down"], registry=r).state("down")
    return r


@pytest.mark.parametrize("accept", ACCEPTS)
def test_output_and_content_type_equal_prometheus_client_for_every_format(registry, accept):
    encoder, content_type = choose_encoder(accept)
    cache = ExpositionCache(registry)
    assert cache.render(accept) == (content_type, encoder(registry))
    assert sum(map(len, cache._prefixes)) > 10  # written by the cache, not handed back to the client
    registry._names_to_collectors["requests_total"].labels("/b", "200").inc()  # a new series ...
    registry._names_to_collectors["temperature_celsius"].set(float("inf"))  # ... and a new value
    assert cache.render(accept) == (content_type, encoder(registry))  # the cache does not go stale


def test_what_it_cannot_write_itself_is_left_to_prometheus_client():
    r = CollectorRegistry()
    Counter("with_exemplar", "x", registry=r).inc(exemplar={"trace_id": "abc"})
    accept = "application/openmetrics-text; version=1.0.0"
    encoder, content_type = choose_encoder(accept)
    body = ExpositionCache(r).render(accept)[1]
    assert body == encoder(r) and b'# {trace_id="abc"}' in body
