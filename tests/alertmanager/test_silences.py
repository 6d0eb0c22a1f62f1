"""Silences: create/update/expire rules, matching, persistence, and their effect on notifications."""

from __future__ import annotations

import json

import pytest

from stack.alertmanager import Alertmanager, parse_config
from stack.alertmanager.matchers import parse_matchers
from stack.alertmanager.silence import SilenceError, SilenceNotFound, Silences, StateError
from stack.clock import VirtualClock
from stack.model import Labels
from tests.alertmanager.helpers import Recorder, hms, iso, t, virtual_clock

START = 1_000_000.0


@pytest.fixture
def clock():
    c = VirtualClock(start=START)
    yield c
    c.close()


def test_active_silence_matches_alerts_with_all_its_matchers(clock):
    s = Silences(clock)
    sid = s.set(parse_matchers('alertname="Disk", instance=~"db.*"'), START, START + 3600, "me", "maint")
    assert s.silenced_by(Labels({"alertname": "Disk", "instance": "db1"})) == [sid]
    assert s.silenced_by(Labels({"alertname": "Disk", "instance": "web1"})) == []
    assert s.get(sid).state(START) == "active"


def test_start_in_the_past_moves_to_now_and_pending_becomes_active_later(clock):
    s = Silences(clock)
    past = s.set(parse_matchers("a=b"), START - 500, START + 60)
    assert s.get(past).starts_at == START
    later = s.set(parse_matchers("a=c"), START + 100, START + 200)
    assert s.get(later).state(START) == "pending"
    assert s.silenced_by(Labels({"a": "c"}), START + 150) == [later]


def test_update_keeps_the_id_only_when_matchers_are_unchanged(clock):
    s = Silences(clock)
    sid = s.set(parse_matchers("a=b"), START, START + 60, "me", "first")
    assert s.set(parse_matchers("a=b"), START, START + 120, "me", "longer", silence_id=sid) == sid
    assert s.get(sid).ends_at == START + 120 and s.get(sid).comment == "longer"
    new = s.set(parse_matchers("a=c"), START, START + 120, silence_id=sid)
    assert new != sid
    assert s.get(sid).state(START) == "expired" and s.get(new).state(START) == "active"
    with pytest.raises(SilenceNotFound):
        s.set(parse_matchers("a=b"), START, START + 60, silence_id="7c9e6679-7425-40de-944b-e07fc1f90ae7")


@pytest.mark.parametrize("text, start, end, message", [
    ('a=""', 0, 60, "at least one matcher must not match the empty string"),
    ('a=~".*"', 0, 60, "at least one matcher must not match the empty string"),
    ("a=b", 60, 30, "start time must be before end time"),
    ("a=b", -100, -50, "end time can't be in the past"),
])
def test_invalid_silences_are_rejected_with_the_reason(clock, text, start, end, message):
    with pytest.raises(SilenceError, match=message):
        Silences(clock).set(parse_matchers(text), START + start, START + end)


def test_not_equal_matcher_alone_is_a_valid_silence(clock):
    s = Silences(clock)
    sid = s.set(parse_matchers('team!="db"'), START, START + 60)
    assert s.silenced_by(Labels({"alertname": "x"})) == [sid]


def test_expire_ends_active_and_pending_silences_now(clock):
    s = Silences(clock)
    active = s.set(parse_matchers("a=b"), START, START + 60)
    pending = s.set(parse_matchers("a=c"), START + 30, START + 60)
    s.expire(active)
    s.expire(pending)
    assert (s.get(active).ends_at, s.get(pending).starts_at, s.get(pending).ends_at) == (START, START, START)
    assert [x.id for x in s.query()] == [active, pending] or [x.id for x in s.query()] == [pending, active]
    assert {x.state(START) for x in s.query()} == {"expired"}


def test_query_filter_compares_matchers_literally_and_orders_by_state(clock):
    s = Silences(clock)
    a1 = s.set(parse_matchers('alertname="X"'), START, START + 100)
    a2 = s.set(parse_matchers('alertname="X", job="j"'), START, START + 50)
    p = s.set(parse_matchers('alertname="X"'), START + 10, START + 100)
    e = s.set(parse_matchers('alertname="Y"'), START, START + 10)
    s.expire(e)
    assert [x.id for x in s.query()] == [a2, a1, p, e]
    assert [x.id for x in s.query(parse_matchers('job="j"'))] == [a2]
    assert s.query(parse_matchers('alertname=~"X"')) == []


def test_silences_survive_a_restart_and_the_file_is_replaced_atomically(clock, tmp_path):
    s = Silences(clock, tmp_path)
    sid = s.set(parse_matchers('alertname="X"'), START, START + 60, "me", "persist me")
    assert not list(tmp_path.glob("*.tmp"))
    again = Silences(clock, tmp_path)
    assert again.get(sid).comment == "persist me"
    assert again.silenced_by(Labels({"alertname": "X"})) == [sid]
    assert json.loads((tmp_path / "silences.json").read_text())[0]["id"] == sid


def test_expired_silences_are_forgotten_after_the_retention(clock):
    s = Silences(clock, retention=3600)
    sid = s.set(parse_matchers("a=b"), START, START + 60)
    clock.advance(60 + 3599)
    assert s.gc() == 0
    clock.advance(1)
    assert s.gc() == 1
    with pytest.raises(SilenceNotFound):
        s.get(sid)


def test_silenced_alert_is_not_sent_and_is_notified_as_new_when_the_silence_ends():
    clock = virtual_clock(t("10:00:00"))
    rec = Recorder(clock)
    am = Alertmanager(parse_config("""
route: {receiver: hook, group_by: [alertname], group_wait: 30s, group_interval: 5m}
receivers: [{name: hook, webhook_configs: [{url: 'http://x.invalid/'}]}]
"""), clock=clock, sender=rec)

    async def scenario():
        am.silences.set(parse_matchers('n="B"'), t("10:00:00"), t("10:12:00"))
        am.receive_alerts([{"labels": {"alertname": "X", "n": "A"}, "endsAt": iso("12:00:00")},
                           {"labels": {"alertname": "X", "n": "B"}, "endsAt": iso("12:00:00")}])
        await clock.sleep_until(t("10:20:00"))
        await am.stop()

    clock.run(scenario())
    clock.close()
    assert [(hms(w), [a["labels"]["n"] for a in p["alerts"]]) for w, _, p in rec.received] == [
        ("10:00:30", ["A"]), ("10:15:30", ["A", "B"])]


def test_a_damaged_silences_file_is_reported_by_name(clock, tmp_path):
    (tmp_path / "silences.json").write_text("[{not json")
    with pytest.raises(StateError, match="silences.json: cannot read the saved silences"):
        Silences(clock, tmp_path)
