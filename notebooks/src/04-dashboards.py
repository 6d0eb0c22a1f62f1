"""Chapter 4: dashboards. Source of notebooks/04-dashboards.ipynb (see workshop/notebooks.py)."""

# %% [markdown]
# # 4. Dashboards: RED for the service, USE for the host
#
# **Estimated time: 15 minutes.** (Optional in the 90-minute session.)
#
# A dashboard is a set of panels, each a PromQL query with a unit. The kit's dashboards use Grafana's
# model (24-column grid, `$__rate_interval`, variables, units, thresholds): they are drawn here with
# matplotlib, and the same definitions export to Grafana JSON.

# %%
import json

from workshop.checks import ch04 as ex
from workshop.checks import shared_simulation
from workshop.dashboards import Dashboard, export_json, fetch, render, shipped

sim = shared_simulation()

# %% [markdown]
# ## The shipped RED dashboard
#
# **R**ate, **E**rrors, **D**uration for the toy service (`workshop/dashboards/shipped/red.yml`), drawn
# for the last 15 simulated minutes:

# %% tags=["nbval-ignore-output"]
# A plot: not compared by nbval.
render(shipped("red"), sim, "now-15m")

# %% [markdown]
# Notice `$__rate_interval` in its queries: Grafana replaces it with a rate window that is always at
# least four scrape intervals, so `rate()` never sees fewer than two samples, whatever the zoom level.
# And `$instance`: a variable, a drop-down in Grafana (`show(dashboard, sim)` gives the interactive
# version with ipywidgets).
#
# ## The shipped USE dashboard
#
# **U**tilisation, **S**aturation, **E**rrors for the host, from the node exporter's metrics (chapter 5):

# %% tags=["nbval-ignore-output"]
# A plot: not compared by nbval.
render(shipped("use"), sim, "now-15m")

# %% [markdown]
# ## Exercise q1: your own RED dashboard
#
# Write a dashboard (YAML, the same format as the shipped ones) with three panels, one per instance
# series: requests per second (unit `reqps`), the error ratio (unit `percentunit`), and the 99th
# percentile latency (unit `s`). Use `$__rate_interval` as the rate window. The check fetches its data
# from the simulation and looks at what each panel shows.

# %%
red_dashboard = ...
# BEGIN SOLUTION
red_dashboard = """
title: My toy service (RED)
rows:
  - title: Rate, Errors, Duration
    panels:
      - title: Requests per second
        unit: reqps
        width: 8
        targets: sum by (instance) (rate(http_requests_total[$__rate_interval]))
      - title: Error ratio
        unit: percentunit
        width: 8
        thresholds: [{color: green}, {color: red, value: 0.05}]
        targets: >-
          sum by (instance) (rate(http_requests_total{status=~"5.."}[$__rate_interval]))
          / sum by (instance) (rate(http_requests_total[$__rate_interval]))
      - title: 99th percentile latency
        unit: s
        width: 8
        targets: >-
          histogram_quantile(0.99,
            sum by (le, instance) (rate(http_request_duration_seconds_bucket[$__rate_interval])))
"""
# END SOLUTION
ex.q1.check()

# %% tags=["nbval-ignore-output"]
# A plot: not compared by nbval.
if isinstance(red_dashboard, str):
    mine = Dashboard.from_yaml("dashboard.yml", red_dashboard)
    display(render(mine, sim, "now-15m"))  # noqa: F821 - IPython built-in
else:
    print("skipped: answer q1 first")

# %% [markdown]
# The queries each panel ran, with the variables filled in:

# %%
if isinstance(red_dashboard, str):
    for query in fetch(mine, sim, "now-15m").queries:
        print(query)

# %% [markdown]
# ## Export to Grafana
#
# `export_json` gives the dashboard as Grafana JSON: import it in Grafana (*Dashboards → New → Import*)
# on the real stack (chapter 9), where it runs unchanged against the real Prometheus.

# %%
if isinstance(red_dashboard, str):
    grafana = json.loads(export_json(mine))
    print(grafana["title"], "-", [(p["title"], p["type"], p["fieldConfig"]["defaults"]["unit"])
                                   for p in grafana["panels"] if p["type"] != "row"])

# %% [markdown]
# Next: **05-host-monitoring**, or **06-rules** on the core path.
