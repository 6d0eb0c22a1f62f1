"""The push semantics of spec §3-§5, exercised in-process (the same code the HTTP handler calls)."""

from __future__ import annotations

import pytest

from stack.clock import VirtualClock
from stack.exposition import parse_text
from stack.pushgateway import PushError, Pushgateway

# A small epoch: VirtualClock timers do not fire at ~1.7e9 s (asyncio clock resolution lost in float
# rounding, reported to the lead); nothing here depends on the absolute time.
T0 = 1_000_000.0


@pytest.fixture
def clock():
    c = VirtualClock(start=T0)
    yield c
    c.close()


@pytest.fixture
def pg(clock):
    return Pushgateway(port=0, clock=clock)


def series(pg: Pushgateway, *, own: bool = False) -> dict[str, float]:
    """Exposed series (name{labels} -> value) of pushed metrics, without the Pushgateway's own."""
    out = {}
    for fam in parse_text(pg.metrics_text()):
        if not own and fam.name.startswith(("process_", "pushgateway_")):
            continue
        for m in fam.metrics:
            labels = ",".join(f"{k}={v}" for k, v in sorted(m.labels.items()))
            out[f"{fam.name}{{{labels}}}"] = m.value
    return out


def test_push_adds_grouping_labels_and_empty_instance(pg):
    pg.push({"job": "backup"}, "# TYPE backup_duration_seconds gauge\nbackup_duration_seconds 42.7\n")
    s = series(pg)
    assert s["backup_duration_seconds{instance=,job=backup}"] == 42.7
    assert s["push_time_seconds{instance=,job=backup}"] == T0
    assert s["push_failure_time_seconds{instance=,job=backup}"] == 0


def test_grouping_label_overwrites_the_same_label_in_the_body(pg):
    pg.push({"job": "j", "instance": "i1"}, 'x{instance="from-body",job="other",a="b"} 1\n')
    assert series(pg)["x{a=b,instance=i1,job=j}"] == 1


def test_put_replaces_the_whole_group(pg):
    pg.push({"job": "j"}, "a 1\nb 2\n")
    pg.push({"job": "j"}, "a 3\n", method="PUT")
    s = series(pg)
    assert s["a{instance=,job=j}"] == 3
    assert "b{instance=,job=j}" not in s


def test_post_replaces_only_same_named_families(pg):
    pg.push({"job": "j"}, 'a{x="1"} 1\na{x="2"} 1\nb 2\n')
    pg.push({"job": "j"}, 'a{x="3"} 3\n', method="POST")
    s = series(pg)
    assert s["a{instance=,job=j,x=3}"] == 3
    assert "a{instance=,job=j,x=1}" not in s
    assert s["b{instance=,job=j}"] == 2


def test_put_with_empty_body_keeps_the_group_with_a_new_push_time(pg, clock):
    pg.push({"job": "j"}, "a 1\n")
    clock.advance(10)
    pg.push({"job": "j"}, "")
    s = series(pg)
    assert "a{instance=,job=j}" not in s
    assert s["push_time_seconds{instance=,job=j}"] == T0 + 10


def test_delete_removes_exactly_that_group(pg):
    pg.push({"job": "x"}, "a 1\n")
    pg.push({"job": "x", "instance": "a"}, "a 2\n")
    pg.delete({"job": "x"})
    s = series(pg)
    assert s == {
        "a{instance=a,job=x}": 2,
        "push_time_seconds{instance=a,job=x}": T0,
        "push_failure_time_seconds{instance=a,job=x}": 0,
    }


def test_type_conflict_with_another_group_is_refused_and_keeps_old_metrics(pg, clock):
    pg.push({"job": "a"}, "# TYPE m counter\nm 1\n")
    pg.push({"job": "b"}, "# TYPE other gauge\nother 5\n")
    before = series(pg)
    clock.advance(5)
    with pytest.raises(PushError) as e:
        pg.push({"job": "b"}, "# TYPE m gauge\nm 2\n")
    assert e.value.status == 400
    assert e.value.message.startswith("pushed metrics are invalid or inconsistent with existing metrics: ")
    assert '"m"' in e.value.message and "counter" in e.value.message
    after = series(pg)
    assert after.pop("push_failure_time_seconds{instance=,job=b}") == T0 + 5
    before.pop("push_failure_time_seconds{instance=,job=b}")
    assert after == before


def test_type_conflict_with_the_pushgateways_own_metrics_is_refused(pg):
    with pytest.raises(PushError, match="process_cpu_seconds_total"):
        pg.push({"job": "a"}, "# TYPE process_cpu_seconds_total gauge\nprocess_cpu_seconds_total 1\n")


def test_duplicate_series_across_groups_is_refused(pg):
    pg.push({"job": "a"}, 'x{instance="i1"} 1\n')
    with pytest.raises(PushError, match=r'duplicate series x\{instance="i1",job="a"\}'):
        pg.push({"job": "a", "instance": "i1"}, "x 2\n")
    assert series(pg)["x{instance=i1,job=a}"] == 1


def test_duplicate_series_within_one_push_is_refused(pg):
    with pytest.raises(PushError, match="duplicate series"):
        pg.push({"job": "a"}, 'x{a="1"} 1\nx{a="1"} 2\n')


def test_histogram_suffix_clash_with_another_family_is_refused(pg):
    pg.push({"job": "a"}, "# TYPE req histogram\nreq_bucket{le=\"+Inf\"} 1\nreq_sum 1\nreq_count 1\n")
    with pytest.raises(PushError, match="req_count"):
        pg.push({"job": "b"}, "# TYPE req_count gauge\nreq_count 3\n")


def test_pushed_timestamps_are_refused(pg):
    with pytest.raises(PushError, match="must not have timestamps"):
        pg.push({"job": "a"}, "x 1 1700000000000\n")


def test_refused_push_creates_the_group_with_only_timestamps(pg):
    with pytest.raises(PushError):
        pg.push({"job": "new"}, "x 1 123\n")
    assert series(pg) == {
        "push_time_seconds{instance=,job=new}": 0,
        "push_failure_time_seconds{instance=,job=new}": T0,
    }
    assert pg.store.get({"job": "new"}).last_push_successful is False


def test_parse_error_does_not_touch_the_store(pg):
    with pytest.raises(PushError, match="text format parsing error in line 2"):
        pg.push({"job": "a"}, "ok 1\n# TYPE x nonsense\nx 1\n")
    assert series(pg) == {}


def test_failure_time_survives_a_later_successful_push(pg, clock):
    with pytest.raises(PushError):
        pg.push({"job": "a"}, "# TYPE process_open_fds counter\nprocess_open_fds 1\n")
    clock.advance(60)
    pg.push({"job": "a"}, "x 1\n")
    s = series(pg)
    assert s["push_failure_time_seconds{instance=,job=a}"] == T0
    assert s["push_time_seconds{instance=,job=a}"] == T0 + 60
    assert pg.store.get({"job": "a"}).last_push_successful is True


def test_pushed_push_time_is_replaced_by_the_automatic_one(pg):
    pg.push({"job": "a"}, "# TYPE push_time_seconds gauge\npush_time_seconds 5\n")
    assert series(pg)["push_time_seconds{instance=,job=a}"] == T0


def test_pushed_failure_time_overwrites_only_an_existing_groups_value(pg):
    pg.push({"job": "a"}, "# TYPE push_failure_time_seconds gauge\npush_failure_time_seconds 7\n")
    assert series(pg)["push_failure_time_seconds{instance=,job=a}"] == 0  # new group: automatic 0
    pg.push({"job": "a"}, "# TYPE push_failure_time_seconds gauge\npush_failure_time_seconds 7\n")
    assert series(pg)["push_failure_time_seconds{instance=,job=a}"] == 7


def test_different_help_across_groups_is_not_an_error(pg):
    pg.push({"job": "a"}, "# HELP x first\nx 1\n")
    pg.push({"job": "b"}, "# HELP x second\nx 2\n")
    text = pg.metrics_text()
    assert text.count("# HELP x ") == 1 and text.count("# TYPE x ") == 1
    assert 'x{instance="",job="a"} 1\nx{instance="",job="b"} 2\n' in text


def test_wipe_drops_every_group(pg):
    pg.push({"job": "a"}, "x 1\n")
    pg.push({"job": "b"}, "y 1\n")
    pg.store.wipe()
    assert series(pg) == {}


def test_push_time_comes_from_the_stack_clock(pg, clock):
    clock.advance(3600)
    pg.push({"job": "a"}, "x 1\n")
    assert series(pg)["push_time_seconds{instance=,job=a}"] == T0 + 3600


def test_help_of_an_own_metric_is_rewritten_to_the_internal_help(pg):
    pg.push({"job": "a"}, "# HELP process_open_fds mine\n# TYPE process_open_fds gauge\nprocess_open_fds 3\n")
    fam = next(f for f in parse_text(pg.metrics_text()) if f.name == "process_open_fds")
    assert fam.help == "Number of open file descriptors."
    assert {"instance": "", "job": "a"} in [m.labels for m in fam.metrics]
