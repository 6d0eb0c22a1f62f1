"""Reloading rules: a bad file keeps the running set; unchanged groups keep their state (§1.3)."""

from __future__ import annotations

import pytest

from stack.clock import VirtualClock
from stack.config import ConfigError
from stack.model import Labels, Matcher, is_stale_nan
from stack.promql.engine import Engine
from stack.rules.manager import RuleManager, expand_rule_files
from stack.tsdb import Head

GOOD = """
groups:
  - name: g
    interval: 1m
    rules:
      - alert: Down
        expr: up == 0
        for: 5m
"""


def setup(tmp_path):
    head = Head()
    app = head.appender()
    for m in range(60):
        app.append(Labels({"__name__": "up", "job": "a"}), m * 60_000, 0.0)
    app.commit()
    clock = VirtualClock(start=0)
    manager = RuleManager(Engine(head), head, clock)
    (tmp_path / "a.rules.yml").write_text(GOOD)
    return head, clock, manager


def test_rule_files_globs_resolve_relative_to_the_config_folder(tmp_path):
    (tmp_path / "rules").mkdir()
    for name in ("b.yml", "a.yml", "c.txt"):
        (tmp_path / "rules" / name).write_text("")
    files = expand_rule_files(["rules/*.yml"], str(tmp_path))
    assert [f.rsplit("/", 1)[1] for f in files] == ["a.yml", "b.yml"]


def test_a_bad_file_on_reload_keeps_the_running_rules(tmp_path):
    head, clock, manager = setup(tmp_path)
    files = expand_rule_files(["*.rules.yml"], str(tmp_path))
    manager.update(files)
    before = manager.groups
    (tmp_path / "b.rules.yml").write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: up ==\n"
    )
    with pytest.raises(ConfigError, match=r"b\.rules\.yml:5:"):
        manager.update(expand_rule_files(["*.rules.yml"], str(tmp_path)))
    assert manager.groups is before


def test_an_unchanged_group_keeps_its_pending_alerts_across_a_reload(tmp_path):
    head, clock, manager = setup(tmp_path)
    files = expand_rule_files(["*.rules.yml"], str(tmp_path))
    manager.update(files)
    (group,) = manager.groups.values()
    group.evaluate(0)
    group.evaluate(60_000)
    manager.update(files)
    (same,) = manager.groups.values()
    assert same is group
    (alert,) = same.rules[0].active.values()
    assert alert.active_at == 0


def test_a_changed_group_carries_alert_state_of_rules_with_the_same_name(tmp_path):
    head, clock, manager = setup(tmp_path)
    files = expand_rule_files(["*.rules.yml"], str(tmp_path))
    manager.update(files)
    (group,) = manager.groups.values()
    group.evaluate(0)
    (tmp_path / "a.rules.yml").write_text(GOOD.replace("for: 5m", "for: 2m"))
    manager.update(files)
    (changed,) = manager.groups.values()
    assert changed is not group
    changed.evaluate(120_000)
    (alert,) = changed.rules[0].active.values()
    assert alert.active_at == 0 and alert.state.value == "firing"


def test_a_removed_group_marks_its_series_stale_after_two_intervals(tmp_path):
    head, clock, manager = setup(tmp_path)
    manager.update(expand_rule_files(["*.rules.yml"], str(tmp_path)))
    (group,) = manager.groups.values()
    group.evaluate(0)

    async def remove_and_wait():
        manager.start()
        manager.update([])
        await clock.sleep(121)
        await manager.stop()

    clock.run(remove_and_wait())
    (series,) = head.select([Matcher("=", "__name__", "ALERTS")], 0, 10**9)
    assert is_stale_nan(series.v[-1]) and series.t[-1] == 120_000


def test_rule_metrics_use_upstream_names_and_count_failures(tmp_path):
    from prometheus_client import CollectorRegistry, generate_latest

    head, clock, manager = setup(tmp_path)
    # Two series on the left, one on the right, matched on nothing: a many-to-one error at run time.
    bad_expr = '(up or label_replace(up, "job", "b", "", "")) + on() up'
    (tmp_path / "b.rules.yml").write_text(
        f"groups:\n  - name: bad\n    rules:\n      - record: x\n        expr: '{bad_expr}'\n"
    )
    manager.update(expand_rule_files(["*.rules.yml"], str(tmp_path)))
    for group in manager.groups.values():
        group.evaluate(0)
    registry = CollectorRegistry()
    registry.register(manager.collector)
    text = generate_latest(registry).decode()
    good, bad = f"{tmp_path}/a.rules.yml;g", f"{tmp_path}/b.rules.yml;bad"
    assert f'prometheus_rule_evaluations_total{{rule_group="{good}"}} 1.0' in text
    assert f'prometheus_rule_evaluation_failures_total{{rule_group="{good}"}} 0.0' in text
    assert f'prometheus_rule_evaluation_failures_total{{rule_group="{bad}"}} 1.0' in text
    assert f'prometheus_rule_group_interval_seconds{{rule_group="{good}"}} 60.0' in text
    assert 'prometheus_rule_evaluation_duration_seconds{quantile="0.99"}' in text
    assert "prometheus_rule_evaluation_duration_seconds_count 2.0" in text
