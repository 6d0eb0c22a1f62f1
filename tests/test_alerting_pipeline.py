"""The whole alerting path on the virtual clock: scrape -> rules -> notifier -> Alertmanager -> inbox.

A target that stops answering makes ``up`` 0; the shipped InstanceDown rule (``for: 1m``, groups
every 15 s) goes pending, then firing; the notifier posts it to our Alertmanager, which waits
``group_wait`` and delivers a webhook to the inbox. Every step runs the same code as live, so the
times are exact and the same on every run.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from stack.alertmanager.alertmanager import Alertmanager
from stack.alertmanager.config import parse_config as parse_am_config
from stack.clock import VirtualClock
from stack.config.prometheus import parse_config_text
from stack.prometheus import PrometheusServer
from stack.scrape import InProcessTransport, ScrapeResponse
from workshop.inbox import Inbox

RULES = Path(__file__).resolve().parents[1] / "stack" / "rules" / "workshop.rules.yml"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z

PROMETHEUS_YML = f"""
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files: ['{RULES}']
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['alertmanager:9093']
scrape_configs:
  - job_name: toyservice
    static_configs:
      - targets: ['toy:8080']
"""

ALERTMANAGER_YML = """
route:
  receiver: inbox
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: inbox
    webhook_configs:
      - url: http://inbox:5001/
"""


def test_a_target_going_down_reaches_the_inbox_at_the_expected_time():
    clock = VirtualClock(start=START)
    down_at = START + 120
    healthy = "# TYPE x gauge\nx 1\n"

    def toy(path, headers):
        if clock.now() >= down_at:
            return ScrapeResponse(503, "text/plain", b"down", None)
        return ScrapeResponse(200, "text/plain; version=0.0.4", healthy.encode(), None)

    inbox = Inbox(clock=clock)
    am = Alertmanager(parse_am_config(ALERTMANAGER_YML), clock=clock, sender=inbox.deliver)
    server = PrometheusServer(
        config=parse_config_text(PROMETHEUS_YML), clock=clock,
        transport=InProcessTransport({"toy:8080": toy}), listen_address=None, alert_poster=am.post_alerts, external_url="http://prometheus:9090",
    )

    async def scenario():
        await am.start()
        await server.start()
        await clock.sleep(600)
        await server.stop()
        await am.stop()

    clock.run(scenario())
    clock.close()

    notes = inbox.notifications()
    assert len(notes) == 1, notes
    payload = notes[0]["payload"]
    (alert,) = payload["alerts"]
    assert alert["labels"]["alertname"] == "InstanceDown"
    assert alert["labels"]["instance"] == "toy:8080" and alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == "toy:8080 of job toyservice is down"
    assert alert["generatorURL"].startswith("http://prometheus:9090/graph?g0.expr=up+%3D%3D+0")
    # Scrapes fail from 2:00; the rule sees up == 0 at its next slot, fires one minute later, and
    # Alertmanager holds the new group for group_wait (30 s) before the first notification.
    delay = datetime.fromisoformat(notes[0]["received_at"]).timestamp() - down_at
    print(f"notification {delay:.3f} s after the target went down")
    assert 60 + 30 <= delay <= 60 + 30 + 15 + 15 + 1, delay
    # firing since (startsAt) is exactly one rule slot past 'for' after the first failed scrape
    fired = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")).timestamp()
    assert 60 <= fired - down_at <= 60 + 15 + 15
