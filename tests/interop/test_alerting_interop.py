"""Alerting across the real and the in-package binaries, both ways round.

* the real Prometheus (Debian 2.42) evaluates our rule file and sends to our Alertmanager, which
  delivers to our inbox;
* our ``workshop prometheus`` evaluates the same rule file and sends to the real Alertmanager
  (0.25), checked with the real ``amtool alert query``.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support import WORKSHOP, free_port, get_json, poll, require_binary, running

pytestmark = pytest.mark.interop

# A rule that fires at once: the test is about the path, not about `for`.
RULES = """
groups:
  - name: interop
    interval: 1s
    rules:
      - alert: InteropCheck
        expr: vector(1)
        labels:
          severity: warning
        annotations:
          # $labels holds the query result's labels only, not the rule's own: this renders empty
          summary: "sent by {{ $labels.severity }} rule"
"""

PROMETHEUS_YML = """
global:
  evaluation_interval: 1s
rule_files: ['{rules}']
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:{am}']
scrape_configs: []
"""

ALERTMANAGER_YML = """
route:
  receiver: inbox
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5s
receivers:
  - name: inbox
    webhook_configs:
      - url: http://127.0.0.1:{inbox}/interop
"""


def write_configs(tmp_path, am: int, inbox: int):
    rules = tmp_path / "interop.rules.yml"
    rules.write_text(RULES)
    prom_yml = tmp_path / "prometheus.yml"
    prom_yml.write_text(PROMETHEUS_YML.format(rules=rules, am=am))
    am_yml = tmp_path / "alertmanager.yml"
    am_yml.write_text(ALERTMANAGER_YML.format(inbox=inbox))
    return prom_yml, am_yml


def test_real_prometheus_alerts_reach_our_inbox_through_our_alertmanager(tmp_path):
    prometheus = require_binary("prometheus")
    am, inbox, prom = free_port(), free_port(), free_port()
    prom_yml, am_yml = write_configs(tmp_path, am, inbox)
    inbox_cmd = [*WORKSHOP, "inbox", "--listen", f"127.0.0.1:{inbox}", "--state-dir", str(tmp_path / "inbox")]
    am_cmd = [*WORKSHOP, "alertmanager", f"--config.file={am_yml}", f"--web.listen-address=127.0.0.1:{am}",
              f"--storage.path={tmp_path / 'am'}"]
    prom_cmd = [prometheus, f"--config.file={prom_yml}", f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom}", "--rules.alert.resend-delay=1s"]
    with running(inbox_cmd, f"http://127.0.0.1:{inbox}/", tmp_path / "inbox.log"), \
            running(am_cmd, f"http://127.0.0.1:{am}/-/ready", tmp_path / "am.log"), \
            running(prom_cmd, f"http://127.0.0.1:{prom}/-/ready", tmp_path / "prom.log"):
        notes = poll(lambda: get_json(f"http://127.0.0.1:{inbox}/api/notifications"), timeout=60,
                     what="a notification in the inbox")
    first = notes[0]
    payload = first.get("payload", first)
    assert first.get("path", "/interop") == "/interop"
    assert payload["version"] == "4" and payload["receiver"] == "inbox" and payload["status"] == "firing"
    (alert,) = payload["alerts"]
    assert alert["labels"] == {"alertname": "InteropCheck", "severity": "warning"}
    assert alert["annotations"] == {"summary": "sent by  rule"}
    assert alert["generatorURL"].endswith("/graph?g0.expr=vector%281%29&g0.tab=1")


def test_our_rule_engine_alerts_reach_the_real_alertmanager(tmp_path):
    alertmanager = require_binary("prometheus-alertmanager")
    amtool = require_binary("amtool")
    am, inbox, prom = free_port(), free_port(), free_port()
    prom_yml, am_yml = write_configs(tmp_path, am, inbox)
    am_cmd = [alertmanager, f"--config.file={am_yml}", f"--web.listen-address=127.0.0.1:{am}",
              f"--storage.path={tmp_path / 'am'}", "--cluster.listen-address="]
    prom_cmd = [*WORKSHOP, "prometheus", f"--config.file={prom_yml}",
                f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{prom}"]

    def amtool_alerts():
        out = subprocess.run([amtool, f"--alertmanager.url=http://127.0.0.1:{am}", "alert", "query",
                              "-o", "json"], capture_output=True, text=True, timeout=20)
        return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []

    with running(am_cmd, f"http://127.0.0.1:{am}/-/ready", tmp_path / "am.log"), \
            running(prom_cmd, f"http://127.0.0.1:{prom}/-/ready", tmp_path / "prom.log"):
        alerts = poll(amtool_alerts, timeout=60, what="our alert in the real Alertmanager")
    (alert,) = alerts
    assert alert["labels"] == {"alertname": "InteropCheck", "severity": "warning"}
    assert alert["annotations"] == {"summary": "sent by  rule"}
    assert alert["status"]["state"] == "active"
    assert "/graph?g0.expr=vector%281%29&g0.tab=1" in alert["generatorURL"]
