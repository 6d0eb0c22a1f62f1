"""Chapter 7: Alertmanager. Source of notebooks/07-alertmanager.ipynb (see workshop/notebooks.py)."""

# %% [markdown]
# # 7. Alertmanager: from alerts to notifications
#
# **Estimated time: 15 minutes.**
#
# Prometheus decides *that* something is wrong; Alertmanager decides *who hears about it, how often, and
# in how many messages*. It **routes** alerts through a tree of matchers to receivers, **groups**
# related alerts into one notification, **inhibits** alerts made pointless by another one, and honours
# **silences**. Here it runs on the virtual clock and its webhooks land in the notification inbox.

# %%
from pathlib import Path

import stack
from stack.alertmanager import parse_config, routes_test
from workshop.checks import ch07 as ex
from workshop.checks import shared_simulation
from workshop.checks.replay import deliver, replay_rules

sim = shared_simulation()
STACK_DIR = Path(stack.__file__).parent

# %% [markdown]
# ## The workshop's configuration
#
# `stack/alertmanager.yml` is used as it is by the live stack and by the real Alertmanager:

# %%
am_config = (STACK_DIR / "alertmanager.yml").read_text()
print(am_config)

# %% [markdown]
# * **route**: every alert enters at the root and goes down the first matching child (`continue: true`
#   lets it go on). `routes_test` answers what `amtool config routes test` answers:

# %%
config = parse_config(am_config)
routes_test(config, "alertname=InstanceDown severity=critical"), routes_test(config, "alertname=HighLatency severity=warning")

# %% [markdown]
# * **group_by**: alerts with the same values of these labels form one group — one notification.
# * **group_wait** (upstream default 30s): wait this long after a group's first alert, so that its
#   siblings make it into the first notification.
# * **group_interval** (default 5m): after that, send changes to the group at most this often.
# * **repeat_interval** (default 4h): re-send an unchanged, still-firing group this often.
#
# ## The simulation's alerts, delivered
#
# Replay the kit's alert rules over the simulation (as in chapter 6) and post what Prometheus would have
# sent to an Alertmanager with this configuration. The inbox shows what arrived, and when:

# %%
shipped_alerts = (STACK_DIR / "rules" / "workshop.rules.yml").read_text()
replay = replay_rules(shipped_alerts, sim)
inbox = deliver(am_config, replay.sent, until=sim.now)
COLUMNS = ["received_at", "receiver", "status", "alertname", "instance"]
inbox.frame()[COLUMNS].sort_values(COLUMNS, ignore_index=True)  # sorted: same-time rows in a fixed order

# %% [markdown]
# Notice the 10-second `group_wait` before the first notification of a group, and how the firing and
# resolved alerts of one `alertname` arrive together.
#
# ## Exercises
#
# The checks run a small incident through your configuration: at 00:00 instance `127.0.0.1:8080` goes
# down (`InstanceDown`, `severity="critical"`); from 00:01 all three instances show a high error ratio
# (`HighErrorRatio`, `severity="warning"`); all resolve at 00:10.
#
# **q1. Routing and grouping.** Critical alerts go to a receiver `pager`, everything else to `team`. The
# team gets all `HighErrorRatio` alerts of an incident in one notification: group by `alertname`. Use
# webhook receivers (the inbox at `http://127.0.0.1:5001/pager` and `.../team`).

# %%
routing_config = ...
# BEGIN SOLUTION
routing_config = """
route:
  receiver: team
  group_by: [alertname]
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
receivers:
  - name: team
    webhook_configs:
      - url: http://127.0.0.1:5001/team
  - name: pager
    webhook_configs:
      - url: http://127.0.0.1:5001/pager
"""
# END SOLUTION
ex.q1.check()

# %% [markdown]
# **q2. Inhibition.** While an instance is down, its error-ratio warnings are noise: the page already
# says what is wrong. Add an `inhibit_rules` entry so that `InstanceDown` mutes `severity="warning"`
# alerts *of the same instance* (and only those).

# %%
inhibit_config = ...
# BEGIN SOLUTION
inhibit_config = routing_config + """
inhibit_rules:
  - source_matchers: ['alertname="InstanceDown"']
    target_matchers: ['severity="warning"']
    equal: [instance]
"""
# END SOLUTION
ex.q2.check()

# %% [markdown]
# What the team and the pager received during the incident with your configuration:

# %%
if isinstance(inhibit_config, str):
    incident_inbox = ex.run_incident(inhibit_config)
    display(incident_inbox.frame()[COLUMNS].sort_values(COLUMNS, ignore_index=True))  # noqa: F821
else:
    print("skipped: answer q2 first")

# %% [markdown]
# **q3. Silences.** Instance `127.0.0.1:8081` is being migrated and its error ratio is expected to be
# high. Write the matchers of a silence (as `amtool silence add` takes them) that mute its
# `HighErrorRatio` alerts — and nothing else.

# %%
silence_matchers = 'alertname="HighErrorRatio", instance="127.0.0.1:8081"'  # SOLUTION
ex.q3.check()

# %%
ex.q3.hint()

# %% [markdown]
# On the live stack the same silence is `amtool silence add --alertmanager.url=http://127.0.0.1:9093
# alertname=HighErrorRatio instance=127.0.0.1:8081 --comment=migration --duration=2h`, or the
# *New silence* button of the Alertmanager UI.
#
# Next: **08-pushgateway** (batch jobs), or **09-real-stack**.
