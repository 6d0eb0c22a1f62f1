"""Chapter 0: welcome and set-up check. Source of notebooks/00-welcome.ipynb (see workshop/notebooks.py)."""

# %% [markdown]
# # 0. Welcome — set-up check
#
# **Estimated time: 5 minutes.** Core path: chapters 0–3, 6 and 7 (90 minutes in all).
#
# This workshop follows the classic tutorial *Service instrumentation, monitoring and alerting with
# Prometheus*: you instrument a small web service, query what it exposes with PromQL, draw dashboards,
# write alerts and route their notifications. Everything runs on your laptop, inside this kernel.
#
# ## What is running
#
# ```
#   toy services (3)          Prometheus (the kit's own, Prometheus 3 semantics)          Alertmanager
#  ┌───────────────┐  scrape  ┌────────┐   ┌──────┐   ┌────────┐   ┌───────┐  alerts   ┌────────────┐
#  │ /api/foo      │ ◀─────── │scraper │──▶│ TSDB │──▶│ PromQL │──▶│ rules │ ────────▶ │ routing,   │
#  │ /api/bar      │ /metrics └────────┘   └──────┘   └────────┘   └───────┘           │ grouping,  │
#  │ batch job     │                                       │                           │ silences   │
#  └───────────────┘                                       ▼                           └─────┬──────┘
#     ▲ load generator                        notebooks, dashboards                          ▼ webhook
#                                                                                      notification inbox
# ```
#
# Two ways to run it, same code:
#
# * **Simulation** (what the notebooks use): the whole stack on a *virtual clock*. Half an hour of
#   traffic, scrapes and alerts takes seconds, and the same seed gives the same numbers on every
#   laptop — which is how your answers can be checked.
# * **Live** (what the instructor shows): `workshop demo` runs the same components on the wall clock,
#   with real HTTP on 127.0.0.1 (Prometheus on :9090, Alertmanager on :9093, inbox on :5001).

# %% [markdown]
# ## Set-up check
# If this cell prints `set-up OK`, your environment is ready.

# %%
import sys

import stack
import workshop
from workshop.checks import shared_simulation

assert sys.version_info >= (3, 11), "the kit needs Python 3.11 or newer"
print("set-up OK:", stack.__name__, workshop.__name__, "importable")

# %% [markdown]
# Is a live stack running (`workshop up` or `workshop demo`)? The notebooks do not need one; cells that
# use it say so and are skipped without it.

# %% tags=["nbval-ignore-output"]
# Output depends on whether a live stack runs on this machine: not compared by nbval.
from workshop.checks._common import live_stack

prom = live_stack()
print("live stack: up at http://127.0.0.1:9090" if prom else "skipped: no live stack (that is fine)")

# %% [markdown]
# ## The simulation
# Every notebook works on the same seeded simulation: three toy services under load, scraped every
# 10 seconds, for 20 virtual minutes. It is built once per kernel (a few seconds) and then shared.

# %%
sim = shared_simulation()
sim

# %%
sim.query("count by (__name__) ({job='toyservice'})").head(5)

# %% [markdown]
# ## How the exercises work
#
# Each exercise has a variable for your answer, set to `...` until you write one. Then run its check:
#
# * `ex.q1.check()` says **Correct**, **Incorrect** (and what is wrong, concretely) or **Not attempted**;
# * `ex.q1.hint()` gives a hint, `ex.q1.solution()` the answer.
#
# Checks test what your answer *does* (a query is run, a service is scraped, an alert is replayed),
# not how it is written. Re-running any cell is safe.
#
# **Exercise q1.** Every scrape writes a series saying whether the target answered. Write the query that
# returns it for every target.

# %%
from workshop.checks import ch00 as ex

q1 = "up"  # SOLUTION
ex.q1.check()

# %%
ex.q1.hint()

# %% [markdown]
# A wrong answer says what is wrong:

# %%
ex.q1.check("up{instance='127.0.0.1:8080'}")

# %% [markdown]
# Next: **01-concepts** — the data model, metric types and how Prometheus collects them.
