"""Chapter 3: PromQL. Source of notebooks/03-promql.ipynb (see workshop/notebooks.py)."""

# %% [markdown]
# # 3. PromQL: asking questions
#
# **Estimated time: 20 minutes.**
#
# Selectors, `rate` (and why you rate *then* sum), aggregation with `by`/`without`, error ratios with
# vector matching, latency quantiles from histograms, `offset`, subqueries, and which queries deserve a
# recording rule. Every check runs your query on the seeded simulation and compares its result with the
# reference answer's.

# %%
import matplotlib.pyplot as plt

from workshop.checks import ch03 as ex
from workshop.checks import shared_simulation

sim = shared_simulation()
sim

# %% [markdown]
# ## Selectors
#
# `name{label="value"}` picks series; matchers are `=`, `!=`, `=~` (regex, fully anchored), `!~`.

# %%
sim.query('http_requests_total{instance="127.0.0.1:8080", status=~"5.."}')

# %% [markdown]
# ## `rate`: counters become per-second speeds
#
# A counter's raw value only tells you how long the process has been up. `rate(x[5m])` is the per-second
# increase over the last 5 minutes, corrected for counter resets (a restart sets a counter back to 0) and
# extrapolated to the window's edges.

# %%
sim.query('rate(http_requests_total{instance="127.0.0.1:8080", method="GET", path="/api/foo"}[5m])')

# %% [markdown]
# **Rate, then sum.** `sum(...)` first and `rate()` after would see a sum that drops whenever any one
# series resets, and count that as a huge increase. Always `rate` each series, then aggregate. PromQL
# even forbids `rate(sum(x))` without a subquery, to protect you.
#
# ## Aggregation: `sum by (...)` and `sum without (...)`
#
# `by (a, b)` keeps only those labels; `without (a)` drops those and keeps the rest.

# %%
sim.query("sum by (path) (rate(http_requests_total[5m]))")

# %%
sim.query("sum without (instance, method, status) (rate(http_requests_total[5m]))")

# %% tags=["nbval-ignore-output"]
# A plot: not compared by nbval.
sim.query_range("sum by (instance) (rate(http_requests_total[1m]))", "20m", step="15s").wide().plot(
    title="requests/s per instance (note the oscillating load)")
plt.show()

# %% [markdown]
# **q1.** The request rate (per second, over 5 minutes) of each instance: one series per `instance`.

# %%
q1 = "sum by (instance) (rate(http_requests_total[5m]))"  # SOLUTION
ex.q1.check()

# %% [markdown]
# ## Error ratios and vector matching
#
# A binary operator between two vectors pairs up series with *identical* label sets. Aggregate both
# sides to the same labels first — or say how to match with `on (...)` / `ignoring (...)`.

# %%
sim.query('sum by (instance) (rate(http_requests_total{status=~"5.."}[5m])) '
          '/ on (instance) sum by (instance) (rate(http_requests_total[5m]))')

# %% tags=["nbval-ignore-output"]
# A plot: not compared by nbval.
sim.query_range('sum by (instance) (rate(http_requests_total{status=~"5.."}[1m])) '
                '/ sum by (instance) (rate(http_requests_total[1m]))', "20m", step="15s").wide().plot(
    title="error ratio per instance: the periodic outages stand out")
plt.show()

# %% [markdown]
# **q2.** The error ratio (share of requests answered with a 5xx status, over 5 minutes) per `path`.

# %%
q2 = 'sum by (path) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (path) (rate(http_requests_total[5m]))'  # SOLUTION
ex.q2.check()

# %% [markdown]
# ## Latency quantiles from histograms
#
# `histogram_quantile(φ, b)` estimates the φ-quantile from bucket counters `b`, which must be *rates*
# and must keep the `le` label. Because buckets are counters, you can sum them across instances first —
# something a summary's precomputed quantiles cannot do.

# %%
sim.query("histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))")

# %% [markdown]
# **q3.** The 99th percentile latency per `path`, over 5 minutes.

# %%
q3 = "histogram_quantile(0.99, sum by (le, path) (rate(http_request_duration_seconds_bucket[5m])))"  # SOLUTION
ex.q3.check()

# %% [markdown]
# ## `offset`: compare with the past
#
# `x offset 10m` reads `x` as it was 10 minutes ago — week-over-week comparisons are `offset 1w`.

# %%
sim.query("sum(rate(http_requests_total[5m] offset 10m))")

# %% [markdown]
# **q4.** By how much (requests per second) has the total request rate (over 5m) changed compared with
# 10 minutes ago? Now minus then, one series.

# %%
q4 = "sum(rate(http_requests_total[5m])) - sum(rate(http_requests_total[5m] offset 10m))"  # SOLUTION
ex.q4.check()

# %% [markdown]
# ## Subqueries
#
# `(expr)[10m:30s]` evaluates `expr` every 30 s over the last 10 minutes and gives a range vector you can
# pass to `max_over_time`, `avg_over_time`... Handy for "the worst minute of the last hour".
#
# **q5.** The highest 1-minute error ratio of the whole service (all instances and paths together)
# during the last 10 minutes, at a 30s resolution.

# %%
q5 = ...
# BEGIN SOLUTION
q5 = ('max_over_time((sum(rate(http_requests_total{status=~"5.."}[1m]))'
      " / sum(rate(http_requests_total[1m])))[10m:30s])")
# END SOLUTION
ex.q5.check()

# %% [markdown]
# ## Recording-rule candidates
#
# A query that a dashboard runs every few seconds over many series, or that alerts build on, is worth
# precomputing as a **recording rule** (chapter 6): Prometheus evaluates it once per interval and
# stores the result as a new series, named `level:metric:operations` — for instance
# `job:http_requests:rate1m` or `job_path:http_request_errors:ratio_rate1m`. Your q1–q3 are exactly
# such candidates. The kit ships them in `stack/rules/workshop.rules.yml`, and the simulation evaluates
# them already:

# %%
sim.query("job_path:http_request_errors:ratio_rate1m")

# %% [markdown]
# Mistakes get concrete answers — try some:

# %%
ex.q1.check("sum(rate(http_requests_total[5m]))")

# %%
ex.q3.check("histogram_quantile(0.99, sum by (path) (rate(http_request_duration_seconds_bucket[5m])))")  # no le

# %%
ex.q1.check("sum by (instance) (rate(http_requests_total[5m])")  # a parse error shows where

# %% [markdown]
# Next: **04-dashboards** (optional in the 90-minute session) or **06-rules**.
