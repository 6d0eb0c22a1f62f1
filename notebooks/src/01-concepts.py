"""Chapter 1: concepts. Source of notebooks/01-concepts.ipynb (see workshop/notebooks.py)."""

# %% [markdown]
# # 1. Concepts: what Prometheus stores and how it gets it
#
# **Estimated time: 10 minutes.**
#
# You will meet the data model (metric names, labels, samples), the four metric types, the pull model
# with its `up` series, and the exposition formats — all on the seeded simulation, so your numbers are
# the same as everyone else's.

# %%
from workshop.checks import ch01 as ex
from workshop.checks import shared_simulation

sim = shared_simulation()
service = sim.services["127.0.0.1:8080"]  # one of the three toy services, as the scraper sees it

# %% [markdown]
# ## The exposition format: what a target says
#
# Prometheus *pulls*: every scrape interval it sends `GET /metrics` to each target, and the target
# answers with the current value of everything it counts, one line per series. This is the toy service's
# answer right now (only its request counter, for brevity):

# %%
content_type, body = service.exposition()
print(content_type)
print("\n".join(line for line in body.decode().splitlines() if "http_requests_total" in line))

# %% [markdown]
# Each line is one **series**: a metric name, then **labels** in braces, then the value. A series is
# identified by its name *and* all its labels: `{method="GET", path="/api/foo", status="200"}` and
# the same with `status="500"` are two series. `# HELP` and `# TYPE` describe the metric family.
#
# Prometheus asks for **OpenMetrics** (the standardised successor of this text format) in its `Accept`
# header. Same content, with a few differences: counters are declared without their `_total` suffix,
# and the answer ends with `# EOF` so a cut-off scrape is detected.

# %%
_, om = service.exposition("application/openmetrics-text; version=1.0.0")
om_lines = om.decode().splitlines()
print("\n".join([ln for ln in om_lines if "http_requests_total" in ln or "TYPE http_requests" in ln][:4]))
print("...")
print(om_lines[-1])

# %% [markdown]
# ## Samples: a value at a time
#
# At each scrape the value of each series is stored with the scrape's timestamp: a **sample**.
# An *instant vector* selector returns the latest sample of every matching series:

# %%
sim.query('http_requests_total{instance="127.0.0.1:8080", path="/api/foo", method="GET"}')

# %% [markdown]
# A *range vector* selector (`[1m]`) returns every sample of the last minute — here, one every 10 s:

# %%
sim.query('http_requests_total{instance="127.0.0.1:8080", path="/api/foo", method="GET", status="200"}[1m]')

# %% [markdown]
# ## The four metric types
#
# | type | what it is | example here | you query it with |
# |---|---|---|---|
# | **counter** | only goes up (resets to 0 on restart) | `http_requests_total` | `rate()`, `increase()` |
# | **gauge** | goes up and down | `http_requests_in_flight`, `batch_job_last_success_timestamp_seconds` | as is, `avg_over_time()`, `predict_linear()` |
# | **histogram** | observations counted in buckets (`_bucket{le=...}`), plus `_sum` and `_count` | `http_request_duration_seconds` | `histogram_quantile()` over `rate()` of the buckets |
# | **summary** | quantiles computed in the client, plus `_sum` and `_count` | (not used by the toy service) | as is; cannot be aggregated |
#
# A histogram is many series: one per bucket boundary `le`, per label combination.

# %%
buckets = sim.query('http_request_duration_seconds_bucket{instance="127.0.0.1:8080", path="/api/foo", '
                    'method="GET", status="200"}')
buckets.assign(le=buckets["le"].astype(float)).sort_values("le")[["le", "value"]]

# %% [markdown]
# ## Targets, jobs and `up`
#
# Prometheus adds two labels to everything it scrapes: `job` (the scrape config's name) and `instance`
# (the target's address). It also writes a few series of its own per scrape; `up` is 1 when the scrape
# worked and 0 when it did not — the first thing to alert on.

# %%
sim.query("up")  # the toy services, and the stack's own components

# %%
sim.query('{__name__=~"scrape_.*", instance="127.0.0.1:8080"}')

# %% [markdown]
# ### On the live stack (optional)
# With `workshop up` running, the same query works against the live Prometheus over HTTP.

# %% tags=["nbval-ignore-output"]
# Live values depend on the wall clock and on whether a live stack runs: not compared by nbval.
from workshop.checks._common import live_stack

prom = live_stack()
if prom is None:
    print("skipped: no live stack (start one with `workshop up`)")
else:
    display(prom.query("up"))  # noqa: F821 - display is an IPython built-in

# %% [markdown]
# ## Exercises
#
# **q1.** Select the request counters of failed writes to `/api/bar`: method `POST`, status `500`, on
# every instance.

# %%
q1 = 'http_requests_total{method="POST", path="/api/bar", status="500"}'  # SOLUTION
ex.q1.check()

# %% [markdown]
# **q2.** Cardinality: how many `_bucket` series does `http_request_duration_seconds` have on instance
# `127.0.0.1:8080`? Answer with a query that counts them (`count(...)`). Multiply by the number of
# instances and you see why labels with many values (user IDs, URLs with IDs) are dangerous.

# %%
q2 = 'count(http_request_duration_seconds_bucket{instance="127.0.0.1:8080"})'  # SOLUTION
ex.q2.check()

# %%
ex.q2.hint()

# %% [markdown]
# Next: **02-instrumenting** — make the toy service expose these metrics yourself.
