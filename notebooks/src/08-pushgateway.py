"""Chapter 8: batch jobs and the Pushgateway. Source of notebooks/08-pushgateway.ipynb."""

# %% [markdown]
# # 8. Batch jobs and the Pushgateway
#
# **Estimated time: 15 minutes.** (Not part of the 90-minute core path.)
#
# Prometheus pulls — but a batch job may start, work and exit between two scrapes. For such
# *service-level batch jobs*, the job **pushes** its outcome to a **Pushgateway**, which keeps it and
# lets Prometheus scrape it (with `honor_labels: true`, so the pushed `job` and `instance` labels stay).
#
# **When not to use it.** Not to turn a long-running service into a pushing one: you would lose `up`
# (a dead service's last push looks healthy forever), the Pushgateway becomes a single point of failure,
# and pushed series never go stale — they stay until deleted. One batch job, one grouping key, push its
# *outcome* at the end: that is the use case.

# %%
import urllib.request

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client import disable_created_metrics

from stack.clock import LoopThread
from stack.pushgateway import Pushgateway
from workshop.checks import ch08 as ex
from workshop.checks import shared_simulation

disable_created_metrics()  # no wall-clock *_created series in the outputs below

# %% [markdown]
# ## Push, over real HTTP
#
# Start the kit's Pushgateway on a free port (in a background thread: the kernel runs its own event
# loop), then push like any batch job would, with the official client:

# %%
loop = LoopThread(name="pushgateway")
gateway = Pushgateway(port=0)  # port 0: any free port; the kit's default is upstream's 9091
loop.submit(gateway.start())

registry = CollectorRegistry()
last_success = Gauge("backup_last_success_timestamp_seconds", "When the backup last succeeded.",
                     registry=registry)
duration = Gauge("backup_duration_seconds", "How long the last backup took.", registry=registry)
last_success.set(1767225600)  # a real job would call last_success.set_to_current_time()
duration.set(42.5)
push_to_gateway(gateway.url.removeprefix("http://"), job="backup", registry=registry)


def pushed_lines(url):
    """What Prometheus would scrape from the Pushgateway: the pushed series only."""
    body = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    return [line for line in body.splitlines() if line.startswith("backup_")]


print("\n".join(pushed_lines(gateway.url)))

# %% [markdown]
# The grouping key (`job="backup"`, plus `instance` if you give one) became labels. `PUT` (what
# `push_to_gateway` sends) replaces the whole group, `POST` (`pushadd_to_gateway`) only the metric
# families it contains; `DELETE` removes the group.
#
# A push that contradicts what is there — here, the same name with another type, from another job —
# is refused with a clear error, and the old metrics stay:

# %%
from prometheus_client import Summary

bad = CollectorRegistry()
Summary("backup_duration_seconds", "Same name, other type.", registry=bad).observe(3.0)
try:
    push_to_gateway(gateway.url.removeprefix("http://"), job="other", registry=bad)
except OSError as e:  # urllib's HTTPError: the Pushgateway's answer is in its body
    reason = e.read().decode().strip() if hasattr(e, "read") else str(e)
    print("refused:", reason[:160])
print("\n".join(pushed_lines(gateway.url)))

# %%
loop.submit(gateway.stop())
loop.stop()

# %% [markdown]
# ## The toy services' batch job
#
# In the simulation, each toy service's batch job pushes its outcome to the Pushgateway after every run,
# under `job="toyservice_batch", instance="toyservice-N"`:

# %%
sim = shared_simulation()
sim.query('batch_job_last_success_timestamp_seconds{job="toyservice_batch"}')

# %% [markdown]
# ## Alert on the age of the last success
#
# A single failed run is not worth waking anyone: the next run may succeed. What matters is that the job
# has not *succeeded* for too long. Pushing the last-success time makes that one subtraction.
#
# **q1.** For each toy service, how many seconds ago did its batch job last succeed? Use the pushed
# series (`job="toyservice_batch"`).

# %%
q1 = 'time() - batch_job_last_success_timestamp_seconds{job="toyservice_batch"}'  # SOLUTION
ex.q1.check()

# %% [markdown]
# **q2.** Write the alert `BatchJobNotSucceeding`: it fires when a batch job's last success is more than
# 10 minutes old (give it a short `for` and a `severity` label). The check runs it, with promtool, on a
# job that keeps succeeding and on one that got stuck.

# %%
batch_alert = ...
# BEGIN SOLUTION
batch_alert = """
groups:
  - name: batch
    rules:
      - alert: BatchJobNotSucceeding
        expr: time() - batch_job_last_success_timestamp_seconds{job="toyservice_batch"} > 600
        for: 1m
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.instance }}'s batch job last succeeded {{ $value | humanizeDuration }} ago"
"""
# END SOLUTION
ex.q2.check()

# %%
ex.q2.hint()

# %% [markdown]
# Next: **09-real-stack**, or back to the core path.
