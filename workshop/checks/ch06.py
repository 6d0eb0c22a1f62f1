"""Chapter 6, rules: the alert is replayed over the shared simulation; its unit test must catch bugs.

q1 judges an alerting rule by what it does over the 20 simulated minutes: it must fire during every
outage of every instance, stay quiet when there is none, and go through ``pending`` first (a
``for``) so a single bad scrape pages nobody. q2 judges a ``promtool test rules`` file by running it
against the participant's rule (it must pass) and against two broken variants of that rule (it must
fail): a test that cannot fail tests nothing.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from stack.config import ConfigError
from stack.promtool.test_rules import run_test_file
from stack.rules.rulefile import load_rule_file
from workshop.checks._common import outside_event_loop, shared_simulation
from workshop.checks.replay import RULE_FILE_NAME, outage_windows, replay_rules
from workshop.exercises import Exercise, Incorrect, _lookup

DETECT_WITHIN = pd.Timedelta(minutes=3)  # after an outage ends, a 1m rate + for 1m still sees it
QUIET_AFTER = pd.Timedelta(minutes=4)  # longer after an outage than this, firing is a false alarm
LAST_OUTAGE_MARGIN = pd.Timedelta(minutes=3)  # outages this close to the end may not have fired yet
FIRST_OUTAGE_MARGIN = pd.Timedelta(minutes=2)  # the first minutes have no rate yet
STEP = pd.Timedelta(seconds=16)  # consecutive evaluations of the 15s group are at most this apart

REFERENCE_RULE = """\
groups:
  - name: toyservice-alerts
    rules:
      - alert: HighErrorRatio
        expr: |
          sum by (job, instance) (rate(http_requests_total{status=~"5.."}[1m]))
            /
          sum by (job, instance) (rate(http_requests_total[1m]))
            > 0.05
        for: 1m
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.instance }} answers {{ $value | humanizePercentage }} of requests with errors"
"""

REFERENCE_TEST = """\
rule_files: [alerts.yml]
evaluation_interval: 15s
tests:
  - name: ten percent errors fire after one minute, not before
    interval: 15s
    input_series:
      - series: 'http_requests_total{job="toyservice", instance="a", status="200"}'
        values: '0+90x20'
      - series: 'http_requests_total{job="toyservice", instance="a", status="500"}'
        values: '0+10x20'
    alert_rule_test:
      - eval_time: 45s
        alertname: HighErrorRatio
        exp_alerts: []
      - eval_time: 3m
        alertname: HighErrorRatio
        exp_alerts:
          - exp_labels: {severity: warning, job: toyservice, instance: a}
            exp_annotations:
              summary: "a answers 10% of requests with errors"
  - name: one percent errors stay quiet
    interval: 15s
    input_series:
      - series: 'http_requests_total{job="toyservice", instance="a", status="200"}'
        values: '0+99x20'
      - series: 'http_requests_total{job="toyservice", instance="a", status="500"}'
        values: '0+1x20'
    alert_rule_test:
      - eval_time: 3m
        alertname: HighErrorRatio
        exp_alerts: []
"""


def _load_rule(text) -> dict:
    """The participant's rule file as data, with its one alerting rule; Incorrect if that is not so."""
    if not isinstance(text, str):
        raise Incorrect(f"the rule file should be YAML text in a string, not a {type(text).__name__}.")
    try:
        load_rule_file(RULE_FILE_NAME, text)  # the stack's own validation, with alerts.yml:line errors
    except ConfigError as e:
        raise Incorrect(f"the rule file is not valid: {e}") from None
    doc = yaml.safe_load(text)
    alerts = [r for g in doc.get("groups") or [] for r in g.get("rules") or [] if "alert" in r]
    if len(alerts) != 1:
        raise Incorrect(f"write exactly one alerting rule (found {len(alerts)}).")
    return doc


def check_alert(text) -> str:
    doc = _load_rule(text)
    rule = next(r for g in doc["groups"] for r in g.get("rules") or [] if "alert" in r)
    if "severity" not in (rule.get("labels") or {}):
        raise Incorrect("give the alert a `severity` label (e.g. warning): Alertmanager routes on it.")
    sim = shared_simulation()
    replay = replay_rules(text, sim)
    tl = replay.timeline
    errors = [s.last_error for g in replay.groups for s in g.status if s.last_error]
    if errors:
        raise Incorrect(f"the rule's query fails: {errors[0]}")
    firing = tl[tl["state"] == "firing"]
    end = sim.time
    for (_name, inst), g in tl.groupby(["alertname", "instance"]):
        states = g.sort_values("timestamp")
        previous = None
        for row in states.itertuples():
            new_episode = previous is None or row.timestamp - previous > STEP
            if row.state == "firing" and new_episode:
                raise Incorrect(f"the alert went straight to firing at {row.timestamp:%H:%M:%S} for {inst}, "
                                "without being pending first: add a `for: 1m` so one bad scrape "
                                "does not page anyone.")  # fmt: skip
            previous = row.timestamp
    outages = outage_windows(sim)
    sim_start = outages["start"].min()
    for o in outages.itertuples():
        if o.start < sim_start + FIRST_OUTAGE_MARGIN or o.end > end - LAST_OUTAGE_MARGIN:
            continue
        caught = firing[(firing["instance"] == o.instance) & (firing["timestamp"] >= o.start)
                        & (firing["timestamp"] <= o.end + DETECT_WITHIN)]  # fmt: skip
        if caught.empty:
            raise Incorrect(f"the alert never fired for instance {o.instance} during its outage "
                            f"{o.start:%H:%M:%S}-{o.end:%H:%M:%S} (errors x10 then); is the threshold "
                            "too high, or does it lose the instance label?")  # fmt: skip
    for row in firing.itertuples():
        recent = outages[(outages["instance"] == row.instance) & (outages["start"] <= row.timestamp)
                         & (outages["end"] + QUIET_AFTER >= row.timestamp)]  # fmt: skip
        if recent.empty:
            where = f"instance {row.instance}" if row.instance else "a series without an instance label"
            raise Incorrect(f"the alert fired at {row.timestamp:%H:%M:%S} for {where}, where there was no "
                            "outage: a false alarm. Is the threshold too low?")  # fmt: skip
    n = firing.groupby("instance")["timestamp"].count()
    return f"fires during every outage and only then ({len(n)} instances, pending first)."


def _mutants(doc: dict) -> dict[str, dict]:
    """Broken variants of the rule that a good test must reject."""
    never = copy.deepcopy(doc)
    impatient = copy.deepcopy(doc)
    for d, fix in ((never, "never"), (impatient, "impatient")):
        for g in d["groups"]:
            for r in g.get("rules") or []:
                if "alert" not in r:
                    continue
                if fix == "never":
                    r["expr"] = f"({r['expr'].strip()}) > Inf"
                else:
                    r.pop("for", None)
    return {"a rule that never fires": never, "the same rule without its `for`": impatient}


def check_test(test_text) -> str:
    if not isinstance(test_text, str):
        raise Incorrect(f"the test file should be YAML text in a string, not a {type(test_text).__name__}.")
    rule_text = _lookup("alert_rule")
    if rule_text is ... or rule_text is None:
        raise Incorrect("answer q1 first: the test runs against your `alert_rule`.")
    doc = _load_rule(rule_text)
    with tempfile.TemporaryDirectory(prefix="workshop-ch06-") as tmp:
        tmp_path = Path(tmp)
        test_file = tmp_path / "alerts.test.yml"
        test_file.write_text(test_text, encoding="utf-8")
        rule_file = tmp_path / RULE_FILE_NAME
        rule_file.write_text(rule_text, encoding="utf-8")
        try:
            results = outside_event_loop(run_test_file, str(test_file))
            failures = [f"{r.name}: {e}" for r in results for e in r.errors]
        except ConfigError as e:
            raise Incorrect(f"the test file is not valid: {e}") from None
        if failures:
            raise Incorrect(f"your test fails on your own rule: {failures[0]}")
        for what, mutant in _mutants(doc).items():
            rule_file.write_text(yaml.safe_dump(mutant, sort_keys=False), encoding="utf-8")
            if not any(r.errors for r in outside_event_loop(run_test_file, str(test_file))):
                raise Incorrect(f"your test also passes for {what}: it would not catch that bug. "
                                "Test both an alert that fires and one that must not fire yet.")  # fmt: skip
    return "passes on your rule and catches a rule that never fires and one without `for`."


q1 = Exercise(
    "q1", check_alert, variable="alert_rule",
    hint="An error *ratio* per instance: rate of 5xx over rate of all, both `sum by (job, instance)` "
         "over [1m], `> 0.05`, with `for: 1m` and a `severity` label.",
    solution=f'alert_rule = """\\\n{REFERENCE_RULE}"""',
)  # fmt: skip
q2 = Exercise(
    "q2", check_test, variable="alert_test",
    hint="Two test groups in promtool's format: 10% errors must fire at 3m but not at 45s (the `for`), "
         "1% errors must not fire. `rule_files: [alerts.yml]` -- the check writes your rule there.",
    solution=f'alert_test = """\\\n{REFERENCE_TEST}"""',
)  # fmt: skip
