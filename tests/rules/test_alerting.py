"""The alerting state machine, sending cadence and ALERTS series, on the worked timeline of the spec.

spec rules.md §10: interval 1m, ``for: 5m``, resend delay 1m, condition true from 10:00 to 10:09.
Times here are minutes from t=0; the timeline's 10:00 is minute 0.
"""

from __future__ import annotations

import pytest

from stack.clock import VirtualClock
from stack.model import Labels, Matcher, is_stale_nan
from stack.promql.engine import Engine
from stack.rules.group import Group
from stack.rules.rulefile import load_rule_file
from stack.tsdb import Head

MIN = 60_000

RULES = """
groups:
  - name: g
    interval: 1m
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.instance }} of {{ $labels.job }} is down"
"""


def make_group(tmp_path, rules: str, head: Head, sent: list) -> Group:
    path = tmp_path / "rules.yml"
    path.write_text(rules)
    (spec,) = load_rule_file(path)
    return Group(
        spec,
        interval_ms=spec.interval_ms or MIN,
        query_offset_ms=0,
        engine=Engine(head),
        storage=head,
        clock=VirtualClock(start=0),
        notify=lambda alerts: sent.append(alerts),
        external_url="http://prom.example:9090",
    )


def load_up(head: Head, values: list[float], step_ms: int = MIN) -> None:
    app = head.appender()
    for i, v in enumerate(values):
        app.append(Labels({"__name__": "up", "job": "node", "instance": "host1:9100"}), i * step_ms, v)
    app.commit()


def run_timeline(tmp_path, minutes: int, down_until: int, rules: str = RULES):
    head, sent = Head(), []
    # up == 0 from minute 0 to down_until-1, then 1
    load_up(head, [0.0 if m < down_until else 1.0 for m in range(minutes + 1)])
    group = make_group(tmp_path, rules, head, sent)
    log = {}
    for m in range(minutes + 1):
        before = len(sent)
        group.evaluate(m * MIN)
        rule = group.rules[0]
        alert = next(iter(rule.active.values()), None)
        log[m] = (alert.state.value if alert else None, sent[before:] and sent[before][0])
    return log, head, group


def test_alert_goes_pending_then_fires_after_for_duration(tmp_path):
    log, _, _ = run_timeline(tmp_path, minutes=12, down_until=10)
    assert [log[m][0] for m in range(5)] == ["pending"] * 5
    assert log[5][0] == "firing"
    assert log[10][0] == "inactive"


def test_firing_alert_is_sent_at_once_then_every_two_minutes_with_ends_at_four_minutes_ahead(tmp_path):
    log, _, _ = run_timeline(tmp_path, minutes=12, down_until=10)
    sent_at = [m for m in range(13) if log[m][1]]
    assert sent_at[:4] == [5, 7, 9, 10]
    first = log[5][1]
    assert first["startsAt"] == "1970-01-01T00:05:00.000Z"
    assert first["endsAt"] == "1970-01-01T00:09:00.000Z"
    assert first["labels"] == {
        "alertname": "InstanceDown",
        "instance": "host1:9100",
        "job": "node",
        "severity": "page",
    }
    assert first["annotations"] == {"summary": "host1:9100 of node is down"}
    assert first["generatorURL"] == "http://prom.example:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"


def test_resolution_is_sent_immediately_and_resent_until_fifteen_minutes(tmp_path):
    log, _, group = run_timeline(tmp_path, minutes=27, down_until=10)
    resolved = log[10][1]
    assert resolved["endsAt"] == "1970-01-01T00:10:00.000Z"
    resent = [m for m in range(10, 28) if log[m][1]]
    assert resent == [10, 12, 14, 16, 18, 20, 22, 24]
    assert log[25][0] == "inactive"  # 15m after resolution: not yet dropped (strictly greater)
    assert log[26][0] is None  # dropped


def test_pending_alert_that_clears_is_dropped_without_notification(tmp_path):
    log, head, _ = run_timeline(tmp_path, minutes=6, down_until=3)
    assert [log[m][0] for m in range(4)] == ["pending", "pending", "pending", None]
    assert not any(log[m][1] for m in log)
    pending = head.select(
        [Matcher("=", "__name__", "ALERTS"), Matcher("=", "alertstate", "pending")], 0, 10 * MIN
    )
    (series,) = pending
    assert is_stale_nan(series.v[-1]) and series.t[-1] == 3 * MIN


def test_alerts_series_follow_the_state_and_for_state_holds_active_at(tmp_path):
    _, head, _ = run_timeline(tmp_path, minutes=7, down_until=10)
    firing = head.select(
        [Matcher("=", "__name__", "ALERTS"), Matcher("=", "alertstate", "firing")], 0, 7 * MIN
    )
    assert list(firing[0].t) == [m * MIN for m in range(5, 8)]
    pending = head.select(
        [Matcher("=", "__name__", "ALERTS"), Matcher("=", "alertstate", "pending")], 0, 7 * MIN
    )
    assert is_stale_nan(pending[0].v[-1]) and pending[0].t[-1] == 5 * MIN
    for_state = head.select([Matcher("=", "__name__", "ALERTS_FOR_STATE")], 0, 7 * MIN)
    assert set(for_state[0].v) == {0.0}  # ActiveAt in Unix seconds


def test_keep_firing_for_holds_the_alert_then_resolves(tmp_path):
    rules = RULES.replace("for: 5m", "for: 5m\n        keep_firing_for: 3m")
    log, _, _ = run_timeline(tmp_path, minutes=14, down_until=10, rules=rules)
    assert [log[m][0] for m in (10, 11, 12)] == ["firing"] * 3
    assert log[13][0] == "inactive"
    assert log[13][1]["endsAt"] == "1970-01-01T00:13:00.000Z"


def test_recording_rules_write_their_output_visible_to_later_rules_of_the_group(tmp_path):
    head, sent = Head(), []
    load_up(head, [0.0, 0.0])
    rules = """
groups:
  - name: g
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {source: rule}
      - alert: NobodyUp
        expr: job:up:sum == 0
"""
    group = make_group(tmp_path, rules, head, sent)
    group.evaluate(MIN)
    out = head.select([Matcher("=", "__name__", "job:up:sum")], 0, MIN)
    assert [(s.labels.to_dict(), list(s.v)) for s in out] == [
        ({"__name__": "job:up:sum", "job": "node", "source": "rule"}, [0.0])
    ]
    # for: 0 fires in the same evaluation, and reads the recording rule's value written just before
    assert sent and sent[0][0]["labels"] == {"alertname": "NobodyUp", "job": "node", "source": "rule"}


def test_duplicate_output_labels_fail_the_rule_and_write_nothing(tmp_path):
    head, sent = Head(), []
    app = head.appender()
    app.append(Labels({"__name__": "a", "x": "1"}), 0, 1)
    app.append(Labels({"__name__": "b", "x": "1"}), 0, 2)
    app.commit()
    rules = "groups:\n  - name: g\n    rules:\n      - record: merged\n        expr: '{x=\"1\"}'\n"
    group = make_group(tmp_path, rules, head, sent)
    group.evaluate(0)
    assert group.status[0].health == "err"
    assert "same labelset" in group.status[0].last_error
    assert head.select([Matcher("=", "__name__", "merged")], 0, MIN) == []


@pytest.mark.parametrize("interval_min", [1, 5])
def test_group_evaluates_on_its_slots_in_virtual_time(tmp_path, interval_min):
    head, sent = Head(), []
    group = make_group(tmp_path, RULES.replace("interval: 1m", f"interval: {interval_min}m"), head, sent)
    clock = group.clock
    seen = []
    real_evaluate = group.evaluate
    group.evaluate = lambda ts: (seen.append(ts), real_evaluate(ts))

    async def run():
        group.start()
        await clock.sleep(30 * MIN / 1000)
        await group.stop()

    clock.run(run())
    offset = group.slot_offset_ms()
    assert seen and all((ts - offset) % group.interval_ms == 0 for ts in seen)
    assert [b - a for a, b in zip(seen, seen[1:], strict=False)] == [group.interval_ms] * (len(seen) - 1)
    assert 0 < seen[0] <= group.interval_ms
