"""Chapter 6: recording and alerting rules. Source of notebooks/06-rules.ipynb (see workshop/notebooks.py)."""

# %% [markdown]
# # 6. Recording and alerting rules
#
# **Estimated time: 15 minutes.**
#
# Rules are PromQL that Prometheus evaluates on its own, every evaluation interval. **Recording rules**
# store a query's result as a new series; **alerting rules** turn a query's result into alerts. You will
# write an alert for the toy service's outages, replay it over the simulation to see it go
# *pending → firing → resolved*, and unit-test it the way `promtool test rules` does.

# %%
import contextlib
from pathlib import Path

import matplotlib.pyplot as plt

import stack.rules
from workshop.checks import ch06 as ex
from workshop.checks import shared_simulation
from workshop.checks._common import run_promtool
from workshop.checks.replay import outage_windows, replay_rules

sim = shared_simulation()
RULES_DIR = Path(stack.rules.__file__).parent  # the kit's shipped rules and their unit tests

# %% [markdown]
# ## Recording rules
#
# The shipped rules (`stack/rules/workshop.rules.yml`, loaded by the live stack and by the real
# Prometheus in docker-compose) start with a group of recording rules. Names follow
# `level:metric:operations`: *aggregated to `job`*, *from `http_requests`*, *as a 1m rate*.

# %%
print((RULES_DIR / "workshop.rules.yml").read_text().split("  - name: toyservice-alerts")[0])

# %% [markdown]
# ## Alerting rules
#
# ```yaml
# - alert: HighErrorRatio            # the alert's name
#   expr: <PromQL>                   # every series it returns is one alert (its labels identify it)
#   for: 1m                          # pending until the condition has held this long, then firing
#   labels: {severity: warning}      # added to the alert: Alertmanager routes on them
#   annotations:                     # templated text for humans: {{ $labels.x }}, {{ $value }}
#     summary: "{{ $labels.instance }} answers {{ $value | humanizePercentage }} errors"
# ```
#
# **Alert on symptoms, not causes.** Users feel errors and slowness, not CPU usage. A few alerts on
# error ratio and latency per service catch every cause, including ones nobody thought of; ratios
# rather than counts mean the same at any traffic level. `for` keeps a single bad scrape from paging.
#
# **q1.** Write a rule file with one alert, `HighErrorRatio`, that fires for an *instance* whose 1-minute
# error ratio (5xx over all requests) stays above 5% for a minute, with a `severity: warning` label and
# a `summary` annotation. The check replays it over the simulation: it must fire during every outage of
# every instance, and never when there is none.

# %%
alert_rule = ...
# BEGIN SOLUTION
alert_rule = """
groups:
  - name: my-alerts
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
# END SOLUTION
ex.q1.check()

# %% [markdown]
# ## Replaying the outage
#
# `replay_rules` evaluates your rule file every 15 s over the simulated 20 minutes with the stack's own
# rule engine — the same code the live Prometheus runs — and records each alert's state. Compare with
# when the toy services really were in their outage:

# %%
outage_windows(sim)

# %%
replay = replay_rules(alert_rule, sim) if isinstance(alert_rule, str) else None
replay.episodes() if replay else "skipped: answer q1 first"

# %% tags=["nbval-ignore-output"]
# A plot: not compared by nbval.
if replay:
    ax = replay.plot(title="HighErrorRatio over the simulation")
    for o in outage_windows(sim).itertuples():
        lane = sorted(replay.timeline["instance"].unique()).index(o.instance)
        ax.hlines(lane, o.start, o.end, colors="black", linewidth=3)
    plt.show()

# %% [markdown]
# Black bars: outages; amber: pending; red: firing; the gap after red: resolved. The alert fires one
# `for` after the error ratio crossed 5%, and resolves as soon as the 1-minute rate no longer sees the
# outage. The annotation was rendered from its template for each alert sent to Alertmanager:

# %%
if replay:
    first_time, first_alerts = replay.sent[0]
    print(first_alerts[0]["labels"])
    print(first_alerts[0]["annotations"]["summary"])

# %% [markdown]
# ## Unit tests for rules
#
# `promtool test rules` feeds hand-written series (`'0+10x20'`: start at 0, add 10 per step, 20 steps)
# to the rules and compares the alerts at given times with what you expect. The kit's shipped rules come
# with tests; the kit's promtool and the real one both pass them:

# %%
with contextlib.chdir(RULES_DIR):  # relative paths, as you would type them
    exit_code, output = run_promtool("test", "rules", "workshop.rules.test.yml")
print(output)
print("exit code", exit_code)

# %% [markdown]
# **q2.** Write a test file for your alert (the check saves your q1 rule as `alerts.yml` next to it).
# It must pass on your rule, and *fail* on a rule that never fires and on your rule without its `for`:
# test a case that must fire, and a moment before `for` has elapsed when it must not yet.

# %%
alert_test = ...
# BEGIN SOLUTION
alert_test = """
rule_files: [alerts.yml]
evaluation_interval: 15s
tests:
  - name: ten percent errors fire after a minute, not before
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
"""
# END SOLUTION
ex.q2.check()

# %%
ex.q2.hint()

# %% [markdown]
# Next: **07-alertmanager** — where these alerts go.
