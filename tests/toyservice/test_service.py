"""The toy service over real HTTP on 127.0.0.1: routes, statuses, /metrics in both formats, faults."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from stack.clock import VirtualClock
from toyservice import faults
from toyservice.instrumented import InstrumentedToyService
from toyservice.model import ModelConfig, Route
from toyservice.uninstrumented import ToyService

# Error-free routes so that statuses are predictable; no outage cycle.
RELIABLE = ModelConfig(
    routes={(m, p): Route(base_latency=0.002, error_ratio=0.0) for m in ("GET", "POST")
            for p in ("/api/foo", "/api/bar")},
    outage_for=0,
)  # fmt: skip
OPENMETRICS_ACCEPT = "application/openmetrics-text; version=1.0.0; charset=utf-8"


async def started(cls, port: int, **kwargs):
    service = cls(config=RELIABLE, **kwargs)
    await service.start("127.0.0.1", port)
    return service


@pytest.fixture
async def instrumented(port):
    service = await started(InstrumentedToyService, port, enable_faults=True)
    yield f"127.0.0.1:{port}"
    await service.stop()


@pytest.fixture
async def uninstrumented(port):
    service = await started(ToyService, port)
    yield f"127.0.0.1:{port}"
    await service.stop()


async def fetch(target: str, method: str, path: str, **kwargs) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as s, s.request(method, f"http://{target}{path}", **kwargs) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


@pytest.fixture(params=[InstrumentedToyService, ToyService], ids=["instrumented", "uninstrumented"])
async def either(request, port):
    service = await started(request.param, port)
    yield f"127.0.0.1:{port}"
    await service.stop()


async def test_both_versions_answer_the_same_routes_and_statuses(either):
    target = either
    assert (await fetch(target, "GET", "/api/foo"))[0] == 200
    assert (await fetch(target, "POST", "/api/foo"))[0] == 200
    assert (await fetch(target, "GET", "/api/bar"))[0] == 200
    assert (await fetch(target, "POST", "/api/bar"))[0] == 200
    assert (await fetch(target, "GET", "/api/baz"))[0] == 404
    assert (await fetch(target, "PUT", "/api/foo"))[0] == 405
    assert (await fetch(target, "DELETE", "/api/bar"))[0] == 405


async def test_uninstrumented_service_has_no_metrics_endpoint(uninstrumented):
    status, _, body = await fetch(uninstrumented, "GET", "/metrics")
    assert status == 404
    assert "http_requests_total" not in body


def test_uninstrumented_module_does_not_use_prometheus_client():
    import toyservice.uninstrumented as module

    with open(module.__file__) as f:
        source = f.read()
    assert "import prometheus_client" not in source and "from prometheus_client" not in source


async def test_metrics_count_requests_by_method_path_and_status(instrumented):
    for method, path in [("GET", "/api/foo")] * 3 + [("POST", "/api/bar")] * 2:
        await fetch(instrumented, method, path)
    status, content_type, body = await fetch(instrumented, "GET", "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body)}
    requests = {
        (s.labels["method"], s.labels["path"], s.labels["status"]): s.value
        for s in families["http_requests"].samples
    }
    assert requests == {("GET", "/api/foo", "200"): 3.0, ("POST", "/api/bar", "200"): 2.0}
    assert families["http_requests"].type == "counter"
    duration = families["http_request_duration_seconds"]
    assert duration.type == "histogram"
    counts = {s.labels["path"]: s.value for s in duration.samples if s.name.endswith("_count")}
    assert counts == {"/api/foo": 3.0, "/api/bar": 2.0}
    assert {"http_requests_in_flight", "batch_job_last_success_timestamp_seconds",
            "batch_job_duration_seconds", "batch_job_records_processed"} <= set(families)  # fmt: skip
    # no *_created series: Prometheus does not use them, and they would break determinism in simulations
    assert "_created" not in body


async def test_metrics_are_served_as_openmetrics_when_asked_for(instrumented):
    await fetch(instrumented, "GET", "/api/foo")
    status, content_type, body = await fetch(instrumented, "GET", "/metrics",
                                             headers={"Accept": OPENMETRICS_ACCEPT})  # fmt: skip
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")
    families = {f.name: f for f in parse_openmetrics(body)}
    assert families["http_requests"].type == "counter"
    [sample] = [s for s in families["http_requests"].samples if s.labels.get("path") == "/api/foo"]
    assert sample.value == 1.0


def test_in_flight_gauge_counts_requests_being_answered():
    clock = VirtualClock(start=0.0)
    service = InstrumentedToyService(clock=clock, config=RELIABLE)

    async def scenario():
        tasks = [asyncio.ensure_future(service.handle("GET", "/api/foo")) for _ in range(5)]
        await asyncio.sleep(0)  # they are all sleeping their latency now
        during = service.in_flight._value.get()
        await asyncio.gather(*tasks)
        return during, service.in_flight._value.get()

    try:
        assert clock.run(scenario()) == (5.0, 0.0)
    finally:
        clock.close()


async def test_each_instance_has_its_own_registry():
    a, b = InstrumentedToyService(config=RELIABLE), InstrumentedToyService(config=RELIABLE)
    await a.handle("GET", "/api/foo")
    assert b"http_requests_total{" in a.exposition()[1]
    assert b"http_requests_total{" not in b.exposition()[1]


def test_batch_job_success_sets_last_success_timestamp_and_records():
    clock = VirtualClock(start=0.0)
    service = InstrumentedToyService(clock=clock, config=ModelConfig(batch_success_ratio=1.0), seed=1)
    try:
        outcome = clock.run(service.run_batch_job())
        body = service.exposition()[1].decode()
        families = {f.name: f for f in text_string_to_metric_families(body)}
        assert families["batch_job_last_success_timestamp_seconds"].samples[0].value == clock.now()
        assert families["batch_job_duration_seconds"].samples[0].value == pytest.approx(outcome.duration)
        assert families["batch_job_records_processed"].samples[0].value == outcome.records > 0
    finally:
        clock.close()


async def test_fault_injection_over_http_makes_the_service_down_until_cleared(instrumented):
    # the client blocks (urllib), so it runs in a thread while this loop serves the request
    assert await asyncio.to_thread(faults.main, ["down", "--target", instrumented, "--for", "5m"]) == 0
    assert (await fetch(instrumented, "GET", "/api/foo"))[0] == 503
    assert (await fetch(instrumented, "GET", "/metrics"))[0] == 503
    status, _, body = await fetch(instrumented, "GET", faults.ADMIN_PATH)
    assert status == 200 and list(json.loads(body)["active"]) == ["down"]
    assert await asyncio.to_thread(faults.main, ["clear", "--target", instrumented]) == 0
    assert (await fetch(instrumented, "GET", "/api/foo"))[0] == 200


def test_injected_fault_expires_after_its_duration():
    clock = VirtualClock(start=0.0)
    service = InstrumentedToyService(clock=clock, config=RELIABLE, enable_faults=True)
    body = json.dumps({"kind": "down", "for": "2m"}).encode()

    async def scenario():
        statuses = [(await service.handle("POST", faults.ADMIN_PATH, body)).status]
        statuses.append((await service.handle("GET", "/api/foo")).status)
        await clock.sleep(119)
        statuses.append((await service.handle("GET", "/api/bar")).status)
        await clock.sleep(1)
        statuses.append((await service.handle("GET", "/api/bar")).status)
        return statuses

    try:
        assert clock.run(scenario()) == [200, 503, 503, 200]
    finally:
        clock.close()


async def test_fault_api_is_off_unless_enabled(uninstrumented, capsys):
    assert await asyncio.to_thread(faults.main, ["latency", "--target", uninstrumented]) == 1
    assert "fault injection is disabled; start the service with --enable-faults" in capsys.readouterr().err
    assert (await fetch(uninstrumented, "GET", "/api/foo"))[0] == 200


@pytest.mark.parametrize(("payload", "message"), [
    ({"kind": "slow"}, "unknown fault kind 'slow'"),
    ({"kind": "down", "for": "soon"}, "not a duration: 'soon'"),
    ([1, 2], "not a JSON object"),
])  # fmt: skip
async def test_bad_fault_requests_get_400_naming_the_problem(instrumented, payload, message):
    status, _, body = await fetch(instrumented, "POST", faults.ADMIN_PATH, json=payload)
    assert status == 400
    assert message in json.loads(body)["error"]


def test_fault_command_reports_an_unreachable_target(port, capsys):
    assert faults.main(["down", "--target", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}: cannot reach the toy service" in err
