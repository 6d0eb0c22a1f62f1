"""alertmanager.yml loading: upstream's format and strictness, errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.alertmanager import load_config, parse_config
from stack.config.yamlutil import ConfigError

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "stack" / "alertmanager.yml"

FULL = """\
global:
  resolve_timeout: 2m
route:
  receiver: default
  group_by: ['alertname', 'job']
  routes:
    - matchers: ['severity="page"', 'team=~"db|infra"']
      receiver: pager
      continue: true
    - match: {team: web}
      match_re: {service: 'api|ui'}
      receiver: web-hook
      group_wait: 10s
      mute_time_intervals: [nights]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: ['alertname', 'cluster']
  - source_match: {severity: critical}
    target_match_re: {severity: 'info|warning'}
receivers:
  - name: default
  - name: pager
    webhook_configs:
      - url: http://127.0.0.1:5001/hook
        max_alerts: 3
        http_config:
          authorization: {credentials: s3cret}
  - name: web-hook
    webhook_configs:
      - url: http://127.0.0.1:5002/hook
        send_resolved: false
time_intervals:
  - name: nights
    time_intervals:
      - times: [{start_time: '22:00', end_time: '24:00'}, {start_time: '00:00', end_time: '06:00'}]
        weekdays: ['monday:friday']
        location: 'Europe/Berlin'
"""


def load(text: str):
    return parse_config(text, "am.yml")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as e:
        load(text)
    return str(e.value)


def test_default_workshop_config_loads_and_routes_to_the_inbox():
    cfg = load_config(DEFAULT_CONFIG)
    hooks = [i.webhook.url for r in cfg.receivers.values() for i in r.integrations]
    assert all(u.startswith("http://127.0.0.1:5001/") for u in hooks)
    assert cfg.route.group_by == {"alertname", "job"}
    assert cfg.inhibit_rules[0].equal == ("alertname", "instance")
    assert cfg.warnings == []


def test_full_upstream_example_loads_with_inheritance_and_defaults():
    cfg = load(FULL)
    assert cfg.resolve_timeout == 120
    pager, web = cfg.route.routes
    assert (pager.group_wait, pager.group_interval, pager.repeat_interval) == (30, 300, 4 * 3600)
    assert pager.group_by == {"alertname", "job"} and pager.continue_
    assert web.group_wait == 10 and web.mute_time_intervals == ("nights",)
    assert sorted(str(m) for m in web.matchers) == ['service=~"api|ui"', 'team="web"']
    hook = cfg.receivers["pager"].integrations[0].webhook
    assert hook.send_resolved is True and hook.max_alerts == 3
    assert hook.http_config.headers() == {"Authorization": "Bearer s3cret"}
    assert cfg.receivers["web-hook"].integrations[0].webhook.send_resolved is False
    assert cfg.receivers["default"].integrations == []
    assert [str(m) for m in cfg.inhibit_rules[1].target_matchers] == ['severity=~"info|warning"']


def test_original_is_the_parsed_config_with_defaults_and_reloads():
    cfg = load(FULL)
    assert "group_interval: 5m" in cfg.original and "s3cret" not in cfg.original
    again = load(cfg.original)
    assert [r.receiver for r in again.route.walk()] == [r.receiver for r in cfg.route.walk()]


@pytest.mark.parametrize("text, expected", [
    ("route: {receiver: a}\nreceivers: [{name: a}]\nroute_typo: 1\n", "am.yml:3: field route_typo not found"),
    ("route:\n  receiver: a\n  group_wiat: 1m\nreceivers: [{name: a}]\n",
     "am.yml:3: field group_wiat not found in type config.Route"),
    ("route:\n  receiver: b\nreceivers: [{name: a}]\n", 'am.yml:2: undefined receiver "b" used in route'),
    ("route:\n  receiver: a\n  routes:\n    - receiver: zz\nreceivers: [{name: a}]\n",
     'am.yml:4: undefined receiver "zz"'),
    ("route:\n  receiver: a\n  matchers: ['x=\"y\"']\nreceivers: [{name: a}]\n",
     "am.yml:3: root route must not have any matchers"),
    ("route:\n  receiver: a\n  group_by: ['...', job]\nreceivers: [{name: a}]\n",
     "am.yml:3: cannot have wildcard"),
    ("route:\n  receiver: a\n  group_interval: 0s\nreceivers: [{name: a}]\n",
     "am.yml:3: group_interval cannot be zero"),
    ("route:\n  receiver: a\nreceivers:\n  - name: a\n  - name: a\n",
     'am.yml:5: notification config name "a"'),
    ("route:\n  receiver: a\n  group_wait: soon\nreceivers: [{name: a}]\n",
     'am.yml:3: not a valid duration string: "soon"'),
    ("route:\n  receiver: a\n  routes:\n    - matchers: ['severity=~\"(\"']\nreceivers: [{name: a}]\n",
     "am.yml:4: invalid matchers"),
    ("route:\n  receiver: a\n  routes:\n    - mute_time_intervals: [nope]\nreceivers: [{name: a}]\n",
     'am.yml:4: undefined time interval "nope"'),
    ("route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs:\n      - send_resolved: true\n",
     "am.yml:5: one of url or url_file must be configured"),
    ("route: {receiver: a}\nreceivers:\n  - name: a\n    email_configs:\n      - to: x@example.org\n",
     "am.yml:5: no global SMTP smarthost set"),
    ("receivers: [{name: a}]\n", "am.yml:1: no routes provided"),
    ("route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs:\n      - url: https://x/\n"
     "        http_config:\n          tls_config:\n            ca_file: /nonexistent/ca.pem\n",
     "am.yml:8: unable to read ca_file /nonexistent/ca.pem"),
    ("route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals:\n  - name: t\n    time_intervals:\n"
     "      - times: [{start_time: '10:00', end_time: '09:00'}]\n", "am.yml:6: start time cannot be equal"),
])
def test_mistakes_are_reported_with_file_and_line(text, expected):
    assert expected in error_of(text)


def test_unsupported_integrations_load_with_a_clear_warning():
    cfg = load("global: {slack_api_url: 'https://hooks.slack.com/x', smtp_smarthost: 'mail:25',"
               " smtp_from: a@b}\n"
               "route: {receiver: team}\nreceivers:\n  - name: team\n"
               "    slack_configs: [{channel: '#alerts'}]\n    email_configs: [{to: ops@example.org}]\n")
    kinds = [(i.kind, bool(i.unsupported)) for i in cfg.receivers["team"].integrations]
    assert kinds == [("email", True), ("slack", True)]
    assert cfg.warnings == [
        'receiver "team": receiver kind email is not supported here (only webhook_configs is delivered)',
        'receiver "team": receiver kind slack is not supported here (only webhook_configs is delivered)']
    assert "hooks.slack.com" not in cfg.original


def test_template_globs_resolve_next_to_the_config_and_missing_files_warn(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.tmpl").write_text('{{ define "x" }}x{{ end }}')
    f = tmp_path / "am.yml"
    f.write_text("route: {receiver: a}\nreceivers: [{name: a}]\ntemplates: ['t/*.tmpl', 'none/*.tmpl']\n")
    cfg = load_config(f)
    assert cfg.templates == [str(tmp_path / "t/*.tmpl"), str(tmp_path / "none/*.tmpl")]
    assert cfg.warnings == ["template glob 'none/*.tmpl' matches no files"]


def test_missing_file_is_a_config_error_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yml: cannot read file"):
        load_config(tmp_path / "nope.yml")
