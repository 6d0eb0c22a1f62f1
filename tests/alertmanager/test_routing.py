"""The routing tree: depth-first matching, continue, inheritance, group keys."""

from __future__ import annotations

import pytest

from stack.alertmanager import parse_config, routes_test
from stack.alertmanager.routing import group_key
from stack.model import Labels

TREE = """
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['severity="page"']
      receiver: pager
      continue: true
      routes:
        - matchers: ['team="db"']
          receiver: dba
          group_by: ['...']
    - matchers: ['team=~"db|infra"']
      receiver: infra
    - match: {team: db}
      receiver: never-reached
    - match_re: {service: 'api|ui'}
      receiver: web
      group_by: []
receivers: [{name: default}, {name: pager}, {name: dba}, {name: infra}, {name: never-reached}, {name: web}]
"""


@pytest.fixture
def cfg():
    return parse_config(TREE, "tree.yml")


@pytest.mark.parametrize("labels, receivers", [
    ({"alertname": "A"}, ["default"]),
    ({"alertname": "A", "severity": "page"}, ["pager"]),  # continued, but no later sibling matched
    ({"alertname": "A", "severity": "page", "team": "db"}, ["dba", "infra"]),
    ({"alertname": "A", "team": "db"}, ["infra"]),
    ({"alertname": "A", "service": "ui"}, ["web"]),
    ({"alertname": "A", "service": "uix"}, ["default"]),
])
def test_first_matching_child_wins_unless_it_continues(cfg, labels, receivers):
    assert routes_test(cfg, labels) == receivers


def test_routes_test_accepts_amtool_style_label_text(cfg):
    assert routes_test(cfg, 'alertname=A severity="page" team=db') == ["dba", "infra"]


def test_children_inherit_grouping_and_timers_but_can_override(cfg):
    pager, infra, _, web = cfg.route.routes
    dba = pager.routes[0]
    assert pager.group_by == {"alertname"} and infra.group_by == {"alertname"}
    assert dba.group_by_all and web.group_by == frozenset()
    labels = Labels({"alertname": "A", "severity": "page", "team": "db", "instance": "h"})
    assert dba.group_labels(labels) == labels
    assert pager.group_labels(labels) == Labels({"alertname": "A"})
    assert web.group_labels(labels) == Labels()


def test_group_keys_name_the_route_path_and_the_group_labels(cfg):
    pager = cfg.route.routes[0]
    dba = pager.routes[0]
    assert pager.key == '{}/{severity="page"}'
    assert dba.key == '{}/{severity="page"}/{team="db"}'
    assert group_key(pager, Labels({"alertname": "Instance Down", "job": 'n"x'})) == \
        '{}/{severity="page"}:{alertname="Instance Down", job="n\\"x"}'
    assert group_key(cfg.route, Labels()) == "{}:{}"
