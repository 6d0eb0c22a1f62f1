"""``ExpositionCache`` writes exactly what prometheus_client writes, for every Accept header it negotiates.

Every comparison renders with the cache and with prometheus_client's encoder and wants the same
bytes, across changes to the registry between renders (the cache must never go stale), with
prometheus_client's ``*_created`` series on and off. ``test_plain_metrics_are_read_without_collect``
makes sure the fast path (children read directly) is really the one taken.
"""

from __future__ import annotations

import asyncio

import prometheus_client.metrics as client_metrics
import pytest
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.values import MutexValue

import toyservice.exposition as exposition
from stack.clock import VirtualClock
from toyservice.exposition import ExpositionCache
from toyservice.instrumented import InstrumentedToyService
from toyservice.model import ModelConfig

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
TEXT, OPENMETRICS = ACCEPTS[1], ACCEPTS[2]


@pytest.fixture(params=[False, True], ids=["created-off", "created-on"])
def created(request):
    """prometheus_client's process-wide ``*_created`` switch, restored afterwards (the toy service
    turns it off when imported)."""
    before = client_metrics._use_created
    if request.param:
        client_metrics.enable_created_metrics()
    else:
        client_metrics.disable_created_metrics()
    yield request.param
    client_metrics._use_created = before


def assert_same(cache: ExpositionCache, accepts=ACCEPTS) -> None:
    for accept in accepts:
        encoder, content_type = choose_encoder(accept)
        assert cache.render(accept) == (content_type, encoder(cache.registry)), accept


def plain_metrics(r: CollectorRegistry) -> dict:
    """One of each plain kind, labelled and not, with awkward names, help texts and values."""
    m = {
        "requests": Counter("requests_total", 'Help with "quotes", a \\ backslash\nand a newline.',
                            ["path", "code"], registry=r),  # fmt: skip
        "events": Counter("events_total", "An unlabelled counter.", registry=r),
        "temperature": Gauge("temperature", "A gauge with a unit.", unit="celsius", registry=r),
        "queue": Gauge("queue_length", "A labelled gauge.", ["queue"], registry=r),
        "latency": Histogram("latency_seconds", "A histogram.", ["path"], buckets=(0.1, 1.0), registry=r),
        "skew": Histogram("skew", "Negative first bucket: no _sum.", buckets=(-1.0, 0.0, 2e6), registry=r),
        "size": Summary("size_bytes", "A summary.", registry=r),
        "payload": Summary("payload_bytes", "A labelled summary.", ["kind"], registry=r),
    }
    m["requests"].labels("/a", "200").inc(3)
    m["requests"].labels('/we"ird\\path\n', "500").inc(0.5)
    m["events"].inc(1234567)
    m["temperature"].set(-1.5e-7)
    m["queue"].labels("fast").set(float("nan"))
    m["queue"].labels("slow").set(float("-inf"))
    for v in (0.05, 0.5, 5.0, 1e9, 0.1):
        m["latency"].labels("/a").observe(v)
        m["skew"].observe(-v)
    m["size"].observe(1234567.0)
    m["payload"].labels("json").observe(12.5)
    return m


@pytest.fixture
def registry():
    r = CollectorRegistry()
    plain_metrics(r)
    Info("build", "An info metric.", registry=r).info({"version": "1.2.3"})
    Enum("state", "A stateset.", states=["up", "down"], registry=r).state("down")
    return r


@pytest.mark.parametrize("accept", ACCEPTS)
def test_output_and_content_type_equal_prometheus_client_for_every_format(registry, accept, created):
    encoder, content_type = choose_encoder(accept)
    cache = ExpositionCache(registry)
    assert cache.render(accept) == (content_type, encoder(registry))
    registry._names_to_collectors["requests_total"].labels("/b", "200").inc()  # a new series ...
    registry._names_to_collectors["temperature_celsius"].set(float("inf"))  # ... and a new value
    assert cache.render(accept) == (content_type, encoder(registry))  # the cache does not go stale


def test_plain_metrics_are_read_without_collect(monkeypatch, created):
    r, nested = CollectorRegistry(), CollectorRegistry()
    plain_metrics(r)
    Counter("nested_total", "In a registry inside the registry.", ["job"], registry=nested).labels("x").inc()
    r.register(nested)
    expected = {accept: choose_encoder(accept)[1] for accept in ACCEPTS}
    expected = {accept: (ct, choose_encoder(accept)[0](r)) for accept, ct in expected.items()}
    cache = ExpositionCache(r)

    def collect(self):
        raise AssertionError(f"{self!r}.collect() was called: the fast path was not taken")

    monkeypatch.setattr(MetricWrapperBase, "collect", collect)
    for _ in range(2):  # the first render builds the rows, the second reuses them
        for accept in ACCEPTS:
            assert cache.render(accept) == expected[accept]
    with pytest.raises(AssertionError, match="fast path"):
        choose_encoder(TEXT)[0](r)  # prometheus_client's encoder does go through collect()


def test_children_added_removed_cleared_and_recreated(created):
    r = CollectorRegistry()
    m = plain_metrics(r)
    cache = ExpositionCache(r)
    assert_same(cache)
    for i in range(3):  # added after the first render, in an order that is not sorted
        m["requests"].labels(f"/new{2 - i}", "201").inc(i)
        m["latency"].labels(f"/new{i}").observe(0.5 * i)
        m["payload"].labels(f"k{i}").observe(i)
        m["queue"].labels(f"q{i}").inc(i)
    assert_same(cache)
    m["requests"].remove("/a", "200")
    m["latency"].remove("/a")
    m["queue"].remove("fast")
    assert_same(cache)
    m["requests"].labels("/a", "200").inc(7)  # same labels, a new child: at the end, from zero
    m["latency"].labels("/a").observe(0.01)
    assert_same(cache)
    m["payload"].clear()
    m["latency"].clear()
    assert_same(cache)
    m["queue"].remove("slow")  # removed and re-created between two renders: the same key, another child
    m["queue"].labels("slow").set(2)
    m["events"].inc()
    m["skew"].observe(1)
    m["size"].observe(1)
    m["requests"].clear()
    m["requests"].labels('/we"ird\\path\n', "500").inc(9)
    assert_same(cache)
    m["payload"].labels("json").observe(1)  # re-created after clear()
    m["latency"].labels("/a").observe(2)
    m["requests"].remove_by_labels({"code": "201"})
    m["events"].reset()  # back to the integer 0 prometheus_client stores, and a new _created
    m["size"].observe(-3.25)
    assert_same(cache)


def test_created_switched_between_renders():
    before = client_metrics._use_created
    r = CollectorRegistry()
    plain_metrics(r)
    cache = ExpositionCache(r)
    try:
        for switch in (client_metrics.enable_created_metrics, client_metrics.disable_created_metrics) * 2:
            switch()
            assert_same(cache)
    finally:
        client_metrics._use_created = before


def test_gauges_with_set_function_before_or_after_the_first_render():
    r = CollectorRegistry()
    values = iter(range(100))
    Gauge("early", "set_function before the first render.", registry=r).set_function(lambda: next(values))
    late = Gauge("late", "set_function after the first render.", registry=r)
    labelled = Gauge("labelled", "A child with set_function.", ["x"], registry=r)
    labelled.labels("a").set(1)
    cache = ExpositionCache(r)
    assert cache.render(TEXT)[1] == choose_encoder(TEXT)[0](r).replace(b"early 1.0", b"early 0.0")
    late.set_function(lambda: 2.5e7)
    labelled.labels("b").set_function(lambda: 3)
    assert cache.render(TEXT)[1] == choose_encoder(TEXT)[0](r).replace(b"early 3.0", b"early 2.0")
    assert b"late 2.5e+07\n" in cache.render(OPENMETRICS)[1]


def test_nested_registries_keep_collect_order(created):
    outer, inner = CollectorRegistry(), CollectorRegistry(target_info={"env": "test"})
    Counter("first_total", "Before the nested registry.", registry=outer).inc()
    Gauge("inner_gauge", "In the nested registry.", ["a"], registry=inner).labels("1").set(1)
    outer.register(inner)
    last = Histogram("last_seconds", "After the nested registry.", registry=outer)
    cache = ExpositionCache(outer)
    assert_same(cache)
    Summary("inner_summary", "Registered after the first render.", registry=inner).observe(2)
    outer.unregister(last)
    Gauge("later", "Registered after the first render.", registry=outer).set(4)
    assert_same(cache)
    outer.register(last)  # back, now last in the order
    assert_same(cache)


def test_custom_collectors_subclasses_and_other_value_classes_are_collected(created):
    class Custom:
        def collect(self):
            yield GaugeMetricFamily("custom", "A custom collector.", labels=["x"])
            yield GaugeMetricFamily("custom_value", "Another.", value=2.0)

    class Doubled(Counter):  # overrides sampling: must not be read as a plain counter
        def _child_samples(self):
            return tuple(s._replace(value=s.value * 2) for s in super()._child_samples())

    class OtherValue(MutexValue):  # e.g. multiprocess mode's values
        def get(self):
            return super().get() + 0.25

    r = CollectorRegistry()
    r.register(Custom())
    Doubled("doubled", "A subclass.", registry=r).inc(2)
    odd = Gauge("odd", "A labelled gauge with another value class.", ["x"], registry=r)
    odd.labels("a").set(1)
    cache = ExpositionCache(r)
    assert_same(cache)
    odd.labels("b")._value = OtherValue("gauge", "odd", "odd", ("x",), ("b",), "")
    assert_same(cache)
    assert b"doubled_total 4.0" in cache.render(TEXT)[1] and b'odd{x="b"} 0.25' in cache.render(TEXT)[1]


def test_without_the_fast_path_everything_is_collected(monkeypatch, registry, created):
    monkeypatch.setattr(exposition, "_FAST", False)
    assert_same(ExpositionCache(registry))


def test_what_it_cannot_write_itself_is_left_to_prometheus_client():
    r = CollectorRegistry()
    Counter("with_exemplar", "x", registry=r).inc(exemplar={"trace_id": "abc"})
    encoder, content_type = choose_encoder(OPENMETRICS)
    body = ExpositionCache(r).render(OPENMETRICS)[1]
    assert body == encoder(r) and b'# {trace_id="abc"}' in body


def test_exemplars_added_after_the_first_render_are_written_by_prometheus_client():
    r = CollectorRegistry()
    c = Counter("hits", "x", ["a"], registry=r)
    h = Histogram("took_seconds", "x", ["a"], registry=r)
    c.labels("1").inc()
    h.labels("1").observe(0.2)
    cache = ExpositionCache(r)
    assert_same(cache)
    h.labels("1").observe(0.3, exemplar={"trace_id": "h"})
    assert_same(cache)
    assert b'# {trace_id="h"} 0.3' in cache.render(OPENMETRICS)[1]
    c.labels("2").inc(exemplar={"trace_id": "c"})
    assert_same(cache)


def test_the_toy_service_after_traffic(monkeypatch):
    clock = VirtualClock(start=0.0)
    service = InstrumentedToyService(clock=clock, config=ModelConfig(outage_for=0), seed=3)
    routes = list(service.model.config.routes)

    async def traffic(n: int):
        await asyncio.gather(*(service.handle(*routes[i % len(routes)]) for i in range(n)))
        await service.run_batch_job()

    try:
        clock.run(traffic(400))
        cache = service._exposition
        assert_same(cache)
        clock.run(traffic(400))  # new statuses may appear: new children
        assert_same(cache)
        bucket = b'http_request_duration_seconds_bucket{le="+Inf",method="GET",path="/api/foo",status="200"}'
        assert bucket in service.exposition(TEXT)[1]
        expected = {accept: cache.render(accept) for accept in ACCEPTS}
        monkeypatch.setattr(MetricWrapperBase, "collect", None)  # all plain: nothing is collected
        assert {accept: service.exposition(accept) for accept in ACCEPTS} == expected
    finally:
        clock.close()
