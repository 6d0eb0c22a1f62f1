"""API v2 over real HTTP on 127.0.0.1: shapes, status codes and error bodies as upstream."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from stack.alertmanager import Alertmanager
from stack.alertmanager.main import serve
from stack.clock import WallClock
from tests.support import wait_http

CONFIG = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
  routes:
    - matchers: [team=db]
      receiver: web.hook
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
receivers:
  - name: default
  - name: web.hook
"""


class Client:
    def __init__(self, base: str, session: aiohttp.ClientSession):
        self.base, self.session = base, session

    async def req(self, method: str, path: str, **kw):
        async with self.session.request(method, self.base + path, **kw) as r:
            text = await r.text()
            body = await r.json(content_type=None) if text and r.content_type == "application/json" else text
            return r.status, body


@pytest.fixture
async def api(tmp_path, port):
    cfg_file = tmp_path / "am.yml"
    cfg_file.write_text(CONFIG)
    am = Alertmanager(cfg_file, clock=WallClock(), storage_path=tmp_path / "data")
    await am.start()
    runner = await serve(am, "127.0.0.1", port)
    async with aiohttp.ClientSession() as session:
        client = Client(f"http://127.0.0.1:{port}", session)
        client.am, client.cfg_file = am, cfg_file
        yield client
    await runner.cleanup()
    await am.stop()


def iso(delta_s: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


PROMETHEUS_BODY = [  # what Prometheus' notifier POSTs: endsAt = now + 4m, generatorURL set
    {"labels": {"alertname": "InstanceDown", "instance": "h1:9100", "job": "node", "severity": "critical",
                "empty": ""},
     "annotations": {"summary": "h1 down"}, "startsAt": iso(-120), "endsAt": iso(240),
     "generatorURL": "http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"},
    {"labels": {"alertname": "InstanceDown", "instance": "h2:9100", "job": "node", "severity": "warning"},
     "annotations": {}, "startsAt": iso(-60), "endsAt": iso(240)},
    {"labels": {"alertname": "DBSlow", "team": "db"}, "startsAt": iso(-1), "endsAt": iso(240)},
]


async def test_prometheus_notifier_body_is_accepted_and_listed(api):
    status, body = await api.req("POST", "/api/v2/alerts", json=PROMETHEUS_BODY)
    assert (status, body) == (200, "")
    status, alerts = await api.req("GET", "/api/v2/alerts")
    assert status == 200 and len(alerts) == 3
    assert [a["fingerprint"] for a in alerts] == sorted(a["fingerprint"] for a in alerts)
    h1 = next(a for a in alerts if a["labels"].get("instance") == "h1:9100")
    assert "empty" not in h1["labels"]
    assert set(h1) == {"labels", "annotations", "startsAt", "endsAt", "updatedAt", "generatorURL",
                       "fingerprint",
                       "receivers", "status"}
    assert h1["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": []}
    assert h1["startsAt"].endswith("Z") and len(h1["startsAt"]) == len("2024-05-01T10:00:00.000Z")
    h2 = next(a for a in alerts if a["labels"].get("instance") == "h2:9100")
    assert "generatorURL" not in h2 and h2["status"]["state"] == "suppressed"
    assert h2["status"]["inhibitedBy"] == [h1["fingerprint"]]


async def test_alert_filters_receiver_regex_and_state_flags(api):
    await api.req("POST", "/api/v2/alerts", json=PROMETHEUS_BODY)
    _, only_node = await api.req("GET", "/api/v2/alerts", params=[("filter", 'job="node"'),
                                                                   ("filter", "instance=~h1.*")])
    assert [a["labels"]["instance"] for a in only_node] == ["h1:9100"]
    _, hooked = await api.req("GET", "/api/v2/alerts", params={"receiver": "web.hook"})
    assert [a["labels"]["alertname"] for a in hooked] == ["DBSlow"]
    assert (await api.req("GET", "/api/v2/alerts", params={"receiver": "web"}))[1] == []  # anchored
    _, active = await api.req("GET", "/api/v2/alerts", params={"inhibited": "false"})
    assert len(active) == 2
    status, err = await api.req("GET", "/api/v2/alerts", params={"filter": 'job="node'})
    assert status == 400 and "unterminated quoted string" in err
    assert (await api.req("GET", "/api/v2/alerts", params={"active": "maybe"}))[0] == 400


async def test_invalid_alerts_answer_400_with_reasons_and_valid_ones_are_kept(api):
    bad = {"labels": {"alertname": "Bad"}, "startsAt": iso(0), "endsAt": iso(-60)}
    good = {"labels": {"alertname": "Good"}}
    status, body = await api.req("POST", "/api/v2/alerts", json=[bad, good])
    assert (status, body) == (400, "start time must be before end time")
    _, alerts = await api.req("GET", "/api/v2/alerts")
    assert [a["labels"]["alertname"] for a in alerts] == ["Good"]


async def test_schema_errors_look_like_the_real_servers(api):
    assert await api.req("POST", "/api/v2/alerts", json=[{"annotations": {}}]) == (
        422, {"code": 602, "message": "0.labels in body is required"})
    status, body = await api.req("POST", "/api/v2/alerts",
                                 json=[{"labels": {"a": "b"}, "startsAt": "yesterday"}])
    assert status == 400 and body["code"] == 400 and "startsAt" in body["message"]


async def test_groups_list_alerts_by_aggregation_group(api):
    await api.req("POST", "/api/v2/alerts", json=PROMETHEUS_BODY)
    _, groups = await api.req("GET", "/api/v2/alerts/groups")
    assert [(g["labels"], g["receiver"]["name"], len(g["alerts"])) for g in groups] == [
        ({"alertname": "DBSlow"}, "web.hook", 1), ({"alertname": "InstanceDown"}, "default", 2)]
    _, uninhibited = await api.req("GET", "/api/v2/alerts/groups", params={"inhibited": "false"})
    assert [len(g["alerts"]) for g in uninhibited] == [1, 1]


async def test_silence_lifecycle_over_the_api(api):
    await api.req("POST", "/api/v2/alerts", json=PROMETHEUS_BODY)
    new = {"matchers": [{"name": "alertname", "value": "DBSlow", "isRegex": False, "isEqual": True}],
           "startsAt": iso(-3600), "endsAt": iso(3600), "createdBy": "alice", "comment": ""}
    status, body = await api.req("POST", "/api/v2/silences", json=new)
    assert status == 200
    sid = body["silenceID"]
    uuid.UUID(sid)
    status, sil = await api.req("GET", f"/api/v2/silence/{sid}")
    assert status == 200 and sil["status"] == {"state": "active"} and sil["createdBy"] == "alice"
    _, alerts = await api.req("GET", "/api/v2/alerts", params={"filter": "alertname=DBSlow"})
    assert alerts[0]["status"]["silencedBy"] == [sid]
    params = {"silenced": "false", "filter": "alertname=DBSlow"}
    assert (await api.req("GET", "/api/v2/alerts", params=params))[1] == []
    _, listed = await api.req("GET", "/api/v2/silences", params={"filter": 'alertname="DBSlow"'})
    assert [s["id"] for s in listed] == [sid]
    longer = {**new, "id": sid, "startsAt": sil["startsAt"], "endsAt": iso(7200), "comment": "longer"}
    assert (await api.req("POST", "/api/v2/silences", json=longer))[1] == {"silenceID": sid}  # same id
    changed = {**longer, "matchers": [{"name": "alertname", "value": "Other", "isRegex": False}]}
    _, body = await api.req("POST", "/api/v2/silences", json=changed)
    assert body["silenceID"] != sid  # new matchers: a new silence, the old one expired
    assert (await api.req("GET", f"/api/v2/silence/{sid}"))[1]["status"]["state"] == "expired"
    sid = body["silenceID"]
    assert (await api.req("DELETE", f"/api/v2/silence/{sid}"))[0] == 200
    _, sil = await api.req("GET", f"/api/v2/silence/{sid}")
    assert sil["status"]["state"] == "expired"
    assert (await api.req("DELETE", f"/api/v2/silence/{sid}"))[0] == 200  # expiring again is a no-op


async def test_silence_errors(api):
    unknown = str(uuid.uuid4())
    assert (await api.req("GET", f"/api/v2/silence/{unknown}")) == (404, "")
    assert (await api.req("DELETE", f"/api/v2/silence/{unknown}"))[0] == 404
    status, body = await api.req("GET", "/api/v2/silence/not-a-uuid")
    assert status == 422 and body["code"] == 601
    base = {"matchers": [{"name": "a", "value": "", "isRegex": False}], "startsAt": iso(0), "endsAt": iso(60),
            "createdBy": "x"}
    assert await api.req("POST", "/api/v2/silences", json=base) == (
        422, {"code": 602, "message": "comment in body is required"})
    status, body = await api.req("POST", "/api/v2/silences", json={**base, "comment": ""})
    assert status == 400 and "at least one matcher must not match the empty string" in body
    status, body = await api.req("POST", "/api/v2/silences", json={**base, "comment": "", "id": unknown,
                                                                   "matchers": [{"name": "a", "value": "b",
                                                                                 "isRegex": False}]})
    assert status == 404


async def test_status_receivers_health_and_metrics(api):
    status, st = await api.req("GET", "/api/v2/status")
    assert status == 200 and st["cluster"] == {"status": "disabled", "peers": []}
    assert set(st["versionInfo"]) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    assert "group_wait: 1h" in st["config"]["original"] and st["uptime"].endswith("Z")
    assert (await api.req("GET", "/api/v2/receivers"))[1] == [{"name": "default"}, {"name": "web.hook"}]
    assert (await api.req("GET", "/-/healthy"))[0] == 200 and (await api.req("GET", "/-/ready"))[0] == 200
    await api.req("POST", "/api/v2/alerts", json=PROMETHEUS_BODY)
    _, text = await api.req("GET", "/metrics")
    assert 'alertmanager_alerts{state="active"} 2.0' in text
    assert 'alertmanager_alerts{state="suppressed"} 1.0' in text
    assert 'alertmanager_alerts_received_total{status="firing",version="v2"} 3.0' in text


async def test_bad_config_on_reload_keeps_the_running_one_and_says_what_is_wrong(api):
    api.cfg_file.write_text(CONFIG.replace("receiver: web.hook", "receiver: nobody"))
    status, body = await api.req("POST", "/-/reload")
    assert status == 500
    assert f'{api.cfg_file}:8: undefined receiver "nobody" used in route' in body
    assert [r["name"] for r in (await api.req("GET", "/api/v2/receivers"))[1]] == ["default", "web.hook"]
    assert "alertmanager_config_last_reload_successful 0.0" in (await api.req("GET", "/metrics"))[1]
    api.cfg_file.write_text(CONFIG + "  - name: extra\n")
    assert (await api.req("POST", "/-/reload"))[0] == 200
    names = [r["name"] for r in (await api.req("GET", "/api/v2/receivers"))[1]]
    assert names == ["default", "web.hook", "extra"]
    assert "alertmanager_config_last_reload_successful 1.0" in (await api.req("GET", "/metrics"))[1]


def test_command_refuses_a_bad_config_naming_file_and_line(tmp_path):
    f = tmp_path / "am.yml"
    f.write_text("route:\n  receiver: a\n  bogus: 1\nreceivers: [{name: a}]\n")
    r = subprocess.run([sys.executable, "-m", "workshop.cli", "alertmanager", f"--config.file={f}",
                        f"--storage.path={tmp_path}"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"{f}:3: field bogus not found in type config.Route" in r.stderr


async def test_home_page_shows_groups_alerts_and_silences(api):
    await api.req("POST", "/api/v2/alerts", json=PROMETHEUS_BODY)
    new = {"matchers": [{"name": "alertname", "value": "DBSlow", "isRegex": False}], "startsAt": iso(0),
           "endsAt": iso(600), "createdBy": "bob", "comment": "<b>db work</b>"}
    _, body = await api.req("POST", "/api/v2/silences", json=new)
    status, page = await api.req("GET", "/")
    assert status == 200 and 'http-equiv="refresh"' in page
    assert "h1 down" in page and f"silenced by {body['silenceID']}" in page
    assert "inhibited by" in page and "&lt;b&gt;db work&lt;/b&gt;" in page


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def _poll(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sighup_reloads_the_command_and_a_bad_file_keeps_the_running_config(tmp_path, port):
    f = tmp_path / "am.yml"
    f.write_text(CONFIG)
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "workshop.cli", "alertmanager", f"--config.file={f}",
                             f"--web.listen-address=127.0.0.1:{port}", f"--storage.path={tmp_path / 'd'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_http(base + "/-/ready", timeout=30)
        f.write_text("route: {receiver: missing}\nreceivers: [{name: default}]\n")
        proc.send_signal(signal.SIGHUP)
        failed = "alertmanager_config_last_reload_successful 0.0"
        _poll(lambda: failed in _get(base + "/metrics"), "failed reload")
        assert json.loads(_get(base + "/api/v2/receivers")) == [{"name": "default"}, {"name": "web.hook"}]
        f.write_text(CONFIG + "  - name: extra\n")
        proc.send_signal(signal.SIGHUP)
        _poll(lambda: "extra" in _get(base + "/api/v2/receivers"), "good reload")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert f'reload failed, keeping the running config: {f}:1: undefined receiver "missing"' in err
