"""Each request Grafana's Prometheus data source sends (spec §9.1) succeeds with the right shape.

The requests are made the way Grafana makes them: resource calls POST first and retry as GET on
400 or 405, panels POST form bodies with start/end aligned to the step.
"""

from __future__ import annotations

import json

from tests.web.conftest import T0


def grafana_resource(served, path: str, params: dict):
    """Grafana's resource client: POST, and on 400/405 the same request as GET."""
    status, _, raw = served.get("/api/v1/" + path, method="POST", form=params)
    if status in (400, 405):
        return served.api(path, params)
    return status, json.loads(raw)


def test_save_and_test_health_check_then_buildinfo(served):
    status, body = served.api("query", method="POST", form={"query": "1+1", "time": "4", "timeout": "30s"})
    assert status == 200 and body["data"] == {"resultType": "scalar", "result": [4, "2"]}
    status, body = grafana_resource(served, "status/buildinfo", {})
    assert status == 200 and "features" not in body["data"]


def test_metric_browser_requests(served):
    window = {"start": str(T0 - 3600), "end": str(T0), "limit": "40000"}
    status, body = grafana_resource(served, "label/__name__/values", window)
    assert status == 200 and body["data"] == ["http_requests_total", "temperature_celsius", "up"]
    status, body = grafana_resource(served, "labels", {**window, "match[]": "up"})
    assert status == 200 and body["data"] == ["__name__", "instance", "job"]
    status, body = grafana_resource(served, "label/job/values", {**window, "match[]": "up"})
    assert status == 200 and body["data"] == ["app", "node"]
    status, body = grafana_resource(served, "series", {**window, "match[]": '{__name__!=""}'})
    assert status == 200 and len(body["data"]) == 8 and all("__name__" in s for s in body["data"])
    status, body = grafana_resource(served, "metadata", {})
    assert status == 200 and body["data"] == {}
    status, body = grafana_resource(served, "metadata", {"metric": "up", "limit": "1"})
    assert status == 200 and body["data"] == {}


def test_panel_range_query_with_aligned_start_and_step(served):
    step = 30
    start, end = (T0 - 600) // step * step, T0 // step * step
    form = {"query": "sum by (job) (up)", "start": str(start), "end": str(end), "step": str(step),
            "timeout": "60s"}
    status, body = served.api("query_range", method="POST", form=form)
    assert status == 200 and body["data"]["resultType"] == "matrix"
    by_job = {s["metric"]["job"]: s["values"] for s in body["data"]["result"]}
    assert by_job["app"][-1] == [end, "3"] and len(by_job["app"]) == 21


def test_explore_instant_query_and_query_result_variable(served):
    status, body = served.api("query", method="POST", form={"query": 'up{job="app"}', "time": str(T0)})
    assert status == 200 and len(body["data"]["result"]) == 3


def test_exemplar_toggle_and_format_query_and_rules(served):
    status, body = served.api("query_exemplars", method="POST", form={
        "query": "up", "start": str(T0 - 600), "end": str(T0)})
    assert (status, body["data"]) == (200, [])
    status, body = grafana_resource(served, "format_query", {"query": "sum(up)by(job)"})
    assert (status, body["data"]) == (200, "sum by (job) (up)")
    status, body = grafana_resource(served, "rules", {})
    assert (status, body["data"]) == (200, {"groups": []})
