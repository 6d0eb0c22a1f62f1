"""/targets, /rules, /alerts, /metadata and /status/* show the components' state in upstream's shapes."""

from __future__ import annotations

import pytest

from stack.model import Labels
from stack.rules.manager import RuleManager
from stack.scrape.target import Target
from stack.web.api_status import target_json
from tests.support import free_port
from tests.web.conftest import T0, T0_MS, run_server, scraping_config, wait_for

RULES = """
groups:
  - name: demo
    interval: 15s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: AppUp
        expr: up{job="app"} == 1
        for: 1m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} is up"}
      - alert: NeverFires
        expr: up == 5
"""


def _target(pool: str, address: str, health: str, error: str = "", last: float = 0.0) -> Target:
    labels = Labels({"__address__": address, "__metrics_path__": "/metrics", "__scheme__": "http",
                     "__scrape_interval__": "15s", "__scrape_timeout__": "10s", "job": pool,
                     "instance": address})
    return Target(pool, labels, labels.without("instance"), health=health, last_error=error, last_scrape=last,
                  last_scrape_duration=0.0123 if last else 0.0)


@pytest.fixture(scope="module")
def scraping():
    """The real server scraping itself and a dead port, after every target has been scraped once."""
    own, down = free_port(), free_port()
    with run_server(scraping_config(own, down), listen_address=f"127.0.0.1:{own}") as s:
        wait_for(lambda: all(t["health"] != "unknown"
                             for t in s.api("targets")[1]["data"]["activeTargets"]))
        s.down_port = down
        yield s


@pytest.fixture
def with_rules(tmp_path):
    rule_file = tmp_path / "demo.rules.yml"
    rule_file.write_text(RULES)
    with run_server() as s:
        rm = RuleManager(s.server.engine, s.server.tsdb, s.server.clock)
        rm.update([str(rule_file)])
        s.server.rule_manager = rm  # what the rules issue wires into the server
        s.rule_file = str(rule_file)
        yield s


def test_a_target_is_shown_in_upstream_shape():
    t = _target("node", "localhost:9100", "up", last=T0 + 0.004)
    assert target_json(t) == {
        "discoveredLabels": {"__address__": "localhost:9100", "__metrics_path__": "/metrics",
                             "__scheme__": "http", "__scrape_interval__": "15s", "__scrape_timeout__": "10s",
                             "job": "node"},
        "labels": {"instance": "localhost:9100", "job": "node"}, "scrapePool": "node",
        "scrapeUrl": "http://localhost:9100/metrics", "globalUrl": "http://localhost:9100/metrics",
        "lastError": "", "lastScrape": "2024-05-01T10:00:00.004Z", "lastScrapeDuration": 0.0123,
        "health": "up", "scrapeInterval": "15s", "scrapeTimeout": "10s"}
    assert target_json(_target("app", "b:8080", "unknown"))["lastScrape"] == "0001-01-01T00:00:00Z"


def test_targets_of_a_scraping_server_show_health_errors_and_dropped_targets(scraping):
    _, body = scraping.api("targets")
    active = body["data"]["activeTargets"]
    assert [(t["scrapePool"], t["health"]) for t in active] == [("prometheus", "up"), ("toy", "down")]
    own, down = active
    assert own["labels"] == {"instance": own["discoveredLabels"]["__address__"], "job": "prometheus"}
    assert own["scrapeUrl"] == f"http://{own['labels']['instance']}/metrics"
    assert (own["lastError"], own["scrapeInterval"], own["scrapeTimeout"]) == ("", "1s", "500ms")
    assert own["lastScrape"] != "0001-01-01T00:00:00Z" and own["lastScrapeDuration"] > 0
    assert down["lastError"] != "" and down["scrapeUrl"] == f"http://127.0.0.1:{scraping.down_port}/metrics"
    assert body["data"]["droppedTargets"] == [{"discoveredLabels": {
        "__address__": "dropped.example:80", "__metrics_path__": "/metrics", "__scheme__": "http",
        "__scrape_interval__": "1s", "__scrape_timeout__": "500ms", "job": "toy"}, "scrapePool": "toy"}]
    assert body["data"]["droppedTargetCounts"] == {"toy": 1}


def test_targets_state_and_pool_filters(scraping):
    data = scraping.api("targets", {"state": "Active"})[1]["data"]
    assert len(data["activeTargets"]) == 2 and data["droppedTargets"] == []
    assert data["droppedTargetCounts"] is None
    data = scraping.api("targets", {"state": "dropped"})[1]["data"]
    assert data["activeTargets"] == [] and len(data["droppedTargets"]) == 1
    data = scraping.api("targets", {"state": "bogus"})[1]["data"]
    assert data["activeTargets"] == [] and data["droppedTargets"] == []
    data = scraping.api("targets", {"scrapePool": "toy"})[1]["data"]
    assert {t["scrapePool"] for t in data["activeTargets"]} == {"toy"} and len(data["droppedTargets"]) == 1


def test_metadata_comes_from_what_the_scrapes_saw(scraping):
    _, body = scraping.api("metadata", {"metric": "prometheus_http_requests_total"})
    assert body["data"] == {"prometheus_http_requests_total": [
        {"type": "counter", "help": "Counter of HTTP requests.", "unit": ""}]}
    assert scraping.api("metadata", {"limit": "0"})[1]["data"] == {}
    assert len(scraping.api("metadata", {"limit": "2"})[1]["data"]) == 2
    status, body = scraping.api("metadata", {"limit": "x"})
    assert (status, body["error"]) == (400, "limit must be a number")
    _, body = scraping.api("targets/metadata", {"match_target": '{job="prometheus"}',
                                                 "metric": "prometheus_ready"})
    assert [(m["target"]["job"], m["type"]) for m in body["data"]] == [("prometheus", "gauge")]


def test_rules_before_the_first_evaluation_are_unknown(with_rules):
    _, body = with_rules.api("rules")
    (group,) = body["data"]["groups"]
    assert (group["name"], group["file"], group["interval"], group["limit"]) == (
        "demo", with_rules.rule_file, 15, 0)
    assert group["lastEvaluation"] == "0001-01-01T00:00:00Z"
    alert = group["rules"][1]
    assert (alert["state"], alert["health"], alert["alerts"]) == ("unknown", "unknown", [])


def test_rules_and_alerts_show_pending_alerts_after_an_evaluation(with_rules):
    group = next(iter(with_rules.server.rule_manager.groups.values()))
    group.evaluate(T0_MS)
    _, body = with_rules.api("rules")
    rec, app_up, never = body["data"]["groups"][0]["rules"]
    assert rec == {"name": "job:up:sum", "query": "sum by (job) (up)", "labels": {}, "health": "ok",
                   "evaluationTime": rec["evaluationTime"], "lastEvaluation": rec["lastEvaluation"],
                   "type": "recording"}
    assert rec["lastEvaluation"] != "0001-01-01T00:00:00Z" and rec["evaluationTime"] > 0
    assert (app_up["type"], app_up["state"], app_up["duration"], app_up["keepFiringFor"]) == (
        "alerting", "pending", 60, 0)
    assert app_up["labels"] == {"severity": "page"}
    assert app_up["annotations"] == {"summary": "{{ $labels.instance }} is up"}
    assert app_up["query"] == 'up{job="app"} == 1'
    assert app_up["alerts"][0] == {
        "labels": {"alertname": "AppUp", "instance": "a:9100", "job": "app", "severity": "page"},
        "annotations": {"summary": "a:9100 is up"}, "state": "pending", "activeAt": "2024-05-01T10:00:00Z",
        "value": "1e+00"}
    assert (never["state"], never["alerts"]) == ("inactive", [])
    _, body = with_rules.api("alerts")
    assert [a["labels"]["instance"] for a in body["data"]["alerts"]] == ["a:9100", "b:9100", "c:9100"]


def test_rules_filters_by_type_and_name_and_can_exclude_alerts(with_rules):
    names = lambda b: [r["name"] for g in b["data"]["groups"] for r in g["rules"]]  # noqa: E731
    assert names(with_rules.api("rules", {"type": "RECORD"})[1]) == ["job:up:sum"]
    assert names(with_rules.api("rules", {"type": "alert"})[1]) == ["AppUp", "NeverFires"]
    assert names(with_rules.api("rules", {"rule_name[]": "NeverFires"})[1]) == ["NeverFires"]
    assert with_rules.api("rules", {"rule_group[]": "other"})[1]["data"]["groups"] == []
    body = with_rules.api("rules", {"exclude_alerts": "true", "type": "alert"})[1]
    assert body["data"]["groups"][0]["rules"][0]["alerts"] is None
    status, body = with_rules.api("rules", {"type": "Bogus"})
    assert (status, body["error"]) == (400, 'invalid parameter "type": not supported value "bogus"')


def test_rules_and_alerts_are_empty_lists_without_a_rule_manager(served):
    assert served.api("rules")[1]["data"] == {"groups": []}
    assert served.api("alerts")[1]["data"] == {"alerts": []}
    assert served.api("targets")[1]["data"]["activeTargets"] == []


def test_buildinfo_reports_a_version_grafana_accepts_and_no_features_key(served):
    _, body = served.api("status/buildinfo")
    data = body["data"]
    assert "features" not in data
    assert set(data) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    major, minor = (int(x) for x in data["version"].split(".")[:2])
    assert (major, minor) >= (2, 24)


def test_status_config_flags_runtimeinfo_and_tsdb(scraping):
    assert "job_name: toy" in scraping.api("status/config")[1]["data"]["yaml"]
    flags = scraping.api("status/flags")[1]["data"]
    assert flags["web.enable-lifecycle"] == "false" and flags["config.file"].endswith("prometheus.yml")
    runtime = scraping.api("status/runtimeinfo")[1]["data"]
    assert runtime["startTime"].endswith("Z") and runtime["reloadConfigSuccess"] is True
    assert runtime["storageRetention"] == flags["storage.tsdb.retention.time"]
    tsdb = scraping.api("status/tsdb")[1]["data"]
    assert tsdb["headStats"]["numSeries"] > 8
    assert {"name": "up", "value": 6} in tsdb["seriesCountByMetricName"]

def test_get_only_endpoints_answer_post_with_405(served):
    for path in ("targets", "rules", "alerts", "metadata", "status/buildinfo", "status/config"):
        status, headers, _ = served.get("/api/v1/" + path, method="POST", form={})
        assert (status, headers.get("Allow")) == (405, "GET, OPTIONS"), path


def test_metadata_endpoints_reject_a_bad_time_with_the_time_named(served):
    status, body = served.api("labels", {"start": "abc"})
    assert status == 400
    assert body["error"] == ('invalid parameter "start": invalid time value for \'start\': '
                             'cannot parse "abc" to a valid timestamp')


def test_alertmanagers_are_listed_from_the_alerting_config():
    config = """
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:9093', 'am2:9093']}]
"""
    with run_server(config) as s:
        _, body = s.api("alertmanagers")
    assert body["data"] == {"activeAlertmanagers": [{"url": "http://127.0.0.1:9093/api/v2/alerts"},
                                                    {"url": "http://am2:9093/api/v2/alerts"}],
                            "droppedAlertmanagers": []}
