"""Routing edges clients rely on: CORS, router errors, redirects, own metrics, lifecycle and admin flags."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from stack.model import Labels
from stack.remote.proto import compress, encode_write_request
from tests.web.conftest import T0, run_server


def test_cors_headers_are_sent_for_requests_with_an_origin(served):
    _, headers, _ = served.get("/api/v1/query", {"query": "1"}, headers={"Origin": "http://grafana:3000"})
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    assert headers["Vary"] == "Origin"
    _, headers, _ = served.get("/api/v1/query", {"query": "1"})
    assert "Access-Control-Allow-Origin" not in headers


def test_options_on_any_api_path_is_204(served):
    assert served.get("/api/v1/query", method="OPTIONS")[0] == 204
    assert served.get("/api/v1/label/job/values", method="OPTIONS")[0] == 204


def test_unknown_paths_get_the_router_plain_text_404(served):
    status, headers, body = served.get("/api/v1/nope")
    assert (status, body) == (404, b"404 page not found\n")
    assert headers["Content-Type"].startswith("text/plain")


def test_api_errors_are_json_even_for_4xx(served):
    status, headers, body = served.get("/api/v1/query", {"query": "sum("})
    assert status == 400 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body)["status"] == "error"


def test_root_redirects_to_the_graph_page_which_answers_200(served):
    status, _, body = served.get("/")  # urllib follows the redirect, as prometheus-api-client does
    assert status == 200 and b'id="expr"' in body


def test_health_and_readiness(served):
    assert served.get("/-/healthy")[0] == 200
    assert served.get("/-/ready")[0] == 200


def test_metrics_serves_the_server_registry_with_http_request_metrics(served):
    assert served.get("/-/healthy")[0] == 200
    served.get("/api/v1/query", {"query": "sum("})
    status, headers, body = served.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "prometheus_ready 1.0" in text
    assert 'prometheus_http_requests_total{code="200",handler="/-/healthy"} 1.0' in text
    assert 'prometheus_http_requests_total{code="400",handler="/api/v1/query"} 1.0' in text
    assert 'prometheus_http_request_duration_seconds_count{handler="/-/healthy"} 1.0' in text


def test_lifecycle_endpoints_are_refused_without_the_flag(served):
    status, _, body = served.get("/-/reload", method="POST", form={})
    assert (status, body) == (403, b"Lifecycle API is not enabled.")
    assert served.get("/-/quit", method="POST", form={})[0] == 403
    assert not served.server._shutdown.is_set()


def test_reload_applies_a_changed_config_file(served_lifecycle):
    Path(served_lifecycle.server.config_file).write_text("global:\n  external_labels: {site: reloaded}\n")
    assert served_lifecycle.get("/-/reload", method="POST", form={})[0] == 200
    assert "site: reloaded" in served_lifecycle.api("status/config")[1]["data"]["yaml"]


def test_a_bad_config_reload_is_refused_with_file_and_line_and_the_old_config_stays(served_lifecycle):
    Path(served_lifecycle.server.config_file).write_text("global:\n  scrape_intervall: 1s\n")
    status, _, body = served_lifecycle.get("/-/reload", method="POST", form={})
    assert status == 500 and b"prometheus.yml:2" in body
    assert served_lifecycle.server.config.global_.external_labels == ()
    assert served_lifecycle.api("status/runtimeinfo")[1]["data"]["reloadConfigSuccess"] is False
    assert served_lifecycle.api("query", {"query": "1"})[0] == 200


def test_quit_asks_the_server_to_shut_down(served_lifecycle):
    assert served_lifecycle.get("/-/quit", method="POST", form={})[0] == 200
    served_lifecycle.call(asyncio.wait_for(served_lifecycle.server.run_until_shutdown(), 10))


def test_admin_api_is_disabled_without_its_flag(served):
    status, body = served.api("admin/tsdb/delete_series", {"match[]": "up"}, method="POST", form={})
    assert (status, body["error"]) == (500, "admin APIs disabled")


def test_delete_series_removes_samples_with_the_admin_flag(tmp_path):
    with run_server(storage_path=str(tmp_path / "data"), enable_admin_api=True) as s:
        status, _, _ = s.get("/api/v1/admin/tsdb/delete_series", {"match[]": 'up{job="node"}'},
                             method="POST", form={})
        assert status == 204
        assert s.get("/api/v1/admin/tsdb/clean_tombstones", method="POST", form={})[0] == 204
        _, body = s.api("query", {"query": "up", "time": T0})
    assert [r["metric"]["job"] for r in body["data"]["result"]] == ["app", "app", "app"]


def test_remote_write_receiver_is_off_without_its_flag(served):
    body = compress(encode_write_request([(Labels({"__name__": "pushed"}), [(T0 * 1000, 1.0)])]))
    status, _, text = _post(served, body)
    assert status == 404 and b"--web.enable-remote-write-receiver" in text


def test_remote_write_receiver_appends_and_refuses_garbage_keeping_old_data(served_lifecycle):
    body = compress(encode_write_request([(Labels({"__name__": "pushed", "job": "x"}),
                                           [(T0 * 1000 - 1000, 1.0), (T0 * 1000, 2.5)])]))
    assert _post(served_lifecycle, body)[0] == 204
    assert _post(served_lifecycle, b"not snappy")[0] == 400
    _, body = served_lifecycle.api("query", {"query": "pushed", "time": T0})
    assert body["data"]["result"] == [{"metric": {"__name__": "pushed", "job": "x"}, "value": [T0, "2.5"]}]


def test_remote_write_of_out_of_order_samples_is_400(served_lifecycle):
    first = compress(encode_write_request([(Labels({"__name__": "pushed"}), [(T0 * 1000, 1.0)])]))
    older = compress(encode_write_request([(Labels({"__name__": "pushed"}), [(T0 * 1000 - 5000, 1.0)])]))
    assert _post(served_lifecycle, first)[0] == 204
    status, _, text = _post(served_lifecycle, older)
    assert status == 400 and b"out of order sample" in text


def _post(served, body: bytes):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(served.url + "/api/v1/write", data=body, method="POST", headers={
        "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_the_in_process_api_routes_like_the_http_router(served):
    from stack.web.api import API

    api = API(served.server)
    try:
        assert served.call(api.request("GET", "/api/v1/label/job/values")) == (
            200, '{"status":"success","data":["app","node"]}')
        assert served.call(api.request("POST", "/api/v1/label/job/values"))[0] == 405
        assert served.call(api.request("GET", "/api/v1/nope")) == (404, "404 page not found\n")
        status, body = served.call(api.request("POST", "/api/v1/query", [("query", "1+1"), ("time", "4")]))
        assert (status, json.loads(body)["data"]["result"]) == (200, [4, "2"])
    finally:
        api.close()
