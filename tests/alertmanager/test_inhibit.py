"""Inhibition: a firing source alert mutes matching targets with equal labels."""

from __future__ import annotations

import asyncio

from stack.alertmanager import Alertmanager, parse_config
from stack.alertmanager.alerts import Alert, AlertStore
from stack.alertmanager.inhibit import Inhibitor, InhibitRule
from stack.alertmanager.matchers import parse_matchers
from stack.model import Labels
from tests.alertmanager.helpers import Recorder, iso, t, virtual_clock

NOW = 1_000_000.0


def rule(src: str, tgt: str, equal=()) -> InhibitRule:
    return InhibitRule(tuple(parse_matchers(src)), tuple(parse_matchers(tgt)), tuple(equal))


def store(*label_sets, ends=NOW + 300) -> AlertStore:
    s = AlertStore()
    for ls in label_sets:
        s.put(Alert(Labels(ls), starts_at=NOW - 60, ends_at=ends, updated_at=NOW))
    return s


CRIT = {"alertname": "DiskFull", "severity": "critical", "cluster": "a"}
WARN_A = {"alertname": "DiskFull", "severity": "warning", "cluster": "a"}
WARN_B = {"alertname": "DiskFull", "severity": "warning", "cluster": "b"}


def test_critical_inhibits_warning_only_when_equal_labels_agree():
    s = store(CRIT, WARN_A, WARN_B)
    inh = Inhibitor([rule('severity="critical"', 'severity="warning"', ["cluster"])], s)
    crit_fp = s.get(Alert(Labels(CRIT)).fingerprint).fingerprint
    assert inh.inhibited_by(Labels(WARN_A), NOW) == [crit_fp]
    assert inh.inhibited_by(Labels(WARN_B), NOW) == []
    assert inh.inhibited_by(Labels(CRIT), NOW) == []


def test_labels_missing_on_both_sides_count_as_equal():
    s = store({"alertname": "X", "severity": "critical"}, {"alertname": "X", "severity": "warning"})
    inh = Inhibitor([rule('severity="critical"', 'severity="warning"', ["cluster"])], s)
    assert inh.is_inhibited(Labels({"alertname": "X", "severity": "warning"}), NOW)


def test_resolved_source_does_not_inhibit():
    s = store(CRIT, ends=NOW - 1)
    inh = Inhibitor([rule('severity="critical"', 'severity="warning"', ["cluster"])], s)
    assert not inh.is_inhibited(Labels(WARN_A), NOW)


def test_alerts_matching_both_sides_neither_inhibit_themselves_nor_each_other():
    a, b = {"alertname": "A", "x": "1"}, {"alertname": "B", "x": "1"}
    s = store(a, b)
    inh = Inhibitor([rule('x="1"', 'x="1"')], s)
    assert not inh.is_inhibited(Labels(a), NOW) and not inh.is_inhibited(Labels(b), NOW)


def test_inhibited_alert_is_left_out_of_notifications_and_reported_suppressed():
    clock = virtual_clock(t("10:00:00"))
    rec = Recorder(clock)
    cfg = parse_config("""
route: {receiver: hook, group_by: [severity]}
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [cluster]
receivers: [{name: hook, webhook_configs: [{url: 'http://x.invalid/'}]}]
""")
    am = Alertmanager(cfg, clock=clock, sender=rec)

    async def scenario():
        am.receive_alerts([{"labels": CRIT, "endsAt": iso("11:00:00")},
                           {"labels": WARN_A, "endsAt": iso("11:00:00")},
                           {"labels": WARN_B, "endsAt": iso("11:00:00")}])
        await asyncio.sleep(60)
        statuses = {a.labels.get("cluster") + a.labels.get("severity"): am.alert_status(a)["state"]
                    for a in am.alerts.all()}
        await am.stop()
        return statuses

    statuses = clock.run(scenario())
    clock.close()
    sent = sorted((a["labels"]["severity"], a["labels"]["cluster"])
                  for _, _, p in rec.received for a in p["alerts"])
    assert sent == [("critical", "a"), ("warning", "b")]
    assert statuses == {"acritical": "active", "awarning": "suppressed", "bwarning": "active"}
