"""Chapter 2: instrumenting the toy service. Source of notebooks/02-instrumenting.ipynb."""

# %% [markdown]
# # 2. Instrumenting the toy service
#
# **Estimated time: 25 minutes.**
#
# The toy service (`toyservice/uninstrumented.py`) answers `GET`/`POST` on `/api/foo` and `/api/bar`,
# is sometimes slow, sometimes fails, and runs a batch job — but nobody can see any of it. You will
# instrument it with the official Python client, `prometheus_client`, and watch the kit's Prometheus
# scrape *your* instance.

# %%
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest
from prometheus_client import disable_created_metrics

from workshop.checks import ch02 as ex

# The client adds a `*_created` series (wall-clock time) to counters and histograms; Prometheus does not
# need it, and it would make the outputs below differ on every run.
disable_created_metrics()

# %% [markdown]
# ## The four types in the client
#
# Every metric is registered in a **registry**; `/metrics` is the registry rendered as text. We use a
# fresh `CollectorRegistry()` rather than the global default one, so that re-running a cell does not
# fail with *Duplicated timeseries*.

# %%
registry = CollectorRegistry()
requests = Counter("demo_requests_total", "Requests handled.", ["path"], registry=registry)
in_flight = Gauge("demo_requests_in_flight", "Requests being handled now.", registry=registry)
latency = Histogram("demo_request_duration_seconds", "Time to answer.", buckets=[0.05, 0.1, 0.5],
                    registry=registry)
payload = Summary("demo_payload_bytes", "Request body sizes.", registry=registry)

requests.labels(path="/api/foo").inc()
requests.labels(path="/api/foo").inc()
requests.labels(path="/api/bar").inc()
in_flight.inc()
for seconds in (0.03, 0.07, 0.2):
    latency.observe(seconds)
payload.observe(512)
print(generate_latest(registry).decode())

# %% [markdown]
# Things to notice:
#
# * **Counter**: `inc()` only. The name ends in `_total`. Query its `rate()`, never its raw value.
# * **Gauge**: `inc()`, `dec()`, `set()`. Also `set_to_current_time()` — handy for "last success".
# * **Histogram**: `observe()` increments every bucket with `le` ≥ the value (buckets are *cumulative*),
#   plus `_sum` and `_count`. Quantiles are computed later, in PromQL, and can be aggregated across
#   instances. The default buckets (5 ms … 10 s) suit typical web latencies.
# * **Summary**: here only `_sum` and `_count` (the Python client does not compute quantiles);
#   summaries cannot be aggregated across instances — prefer histograms.
#
# ## Naming, units and labels
#
# * `<namespace>_<what>_<unit>`: `http_request_duration_seconds`, `batch_job_records_processed_total`.
# * **Base units**: seconds, bytes, ratios 0–1 — never milliseconds or percent.
# * **Labels** are for dimensions you will aggregate over: method, path, status. Every combination of
#   label values is one more series in Prometheus' memory (*cardinality*). Never put unbounded values in
#   labels: user IDs, e-mail addresses, full URLs with IDs, timestamps.
#
# ## What to instrument
#
# * For **services**, **RED**: **R**ate of requests, **E**rrors, **D**uration. A counter with a
#   `status` label and a histogram give all three.
# * For **resources** (CPU, disks, queues), **USE**: **U**tilisation, **S**aturation, **E**rrors
#   (chapter 5 shows the node exporter's).
# * For **batch jobs**: when did it last *succeed*, how long did it take, how much did it do.
#   Alert on the age of the last success (chapter 8), not on single failures.
#
# ## Exercise q1: instrument the toy service
#
# Complete `MyToyService` below: it is the uninstrumented service plus your metrics.
#
# * in `__init__`, on `self.registry`: a counter `http_requests_total` and a histogram
#   `http_request_duration_seconds`, both with labels `method`, `path`, `status`; a gauge
#   `http_requests_in_flight`; a gauge `batch_job_last_success_timestamp_seconds`;
# * in `api()`: count in-flight requests (and un-count them even if the request fails), time the call
#   to `super().api(...)` with `self.clock.now()`, then count and observe it with the reply's status;
# * in `run_batch_job()`: when `outcome.success`, set the last-success gauge to `self.clock.now()`.
#
# `route()` already serves your registry on `/metrics`. When you are done, set
# `instrumented_service = MyToyService` and run the check: it starts your class on a free port, sends
# it requests, runs its batch job and scrapes `/metrics` over HTTP.

# %%
from prometheus_client.exposition import choose_encoder

from toyservice.uninstrumented import Reply, ToyService


class MyToyService(ToyService):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.registry = CollectorRegistry()  # one per instance: re-running the cell is safe
        # BEGIN SOLUTION
        labels = ["method", "path", "status"]
        self.requests = Counter("http_requests_total", "HTTP requests handled.", labels,
                                registry=self.registry)
        self.duration = Histogram("http_request_duration_seconds", "Time spent answering HTTP requests.",
                                  labels, registry=self.registry)
        self.in_flight = Gauge("http_requests_in_flight", "HTTP requests being answered right now.",
                               registry=self.registry)
        self.last_success = Gauge("batch_job_last_success_timestamp_seconds",
                                  "When the batch job last succeeded (Unix time).", registry=self.registry)
        # END SOLUTION

    async def route(self, method, path, accept=""):
        if path == "/metrics":
            encoder, content_type = choose_encoder(accept)
            return Reply(200, encoder(self.registry), {"Content-Type": content_type})
        return await super().route(method, path, accept)

    async def api(self, method, path):
        # BEGIN SOLUTION
        self.in_flight.inc()
        start = self.clock.now()
        try:
            reply = await super().api(method, path)
        finally:
            self.in_flight.dec()
        self.requests.labels(method, path, str(reply.status)).inc()
        self.duration.labels(method, path, str(reply.status)).observe(self.clock.now() - start)
        return reply
        # END SOLUTION
        return await super().api(method, path)

    async def run_batch_job(self):
        outcome = await super().run_batch_job()
        # BEGIN SOLUTION
        if outcome.success:
            self.last_success.set(self.clock.now())
        # END SOLUTION
        return outcome


instrumented_service = MyToyService  # SOLUTION
ex.q1.check()

# %%
ex.q1.hint()

# %% [markdown]
# ## The stack scrapes your instance
#
# Once the check passes, see your metrics the way Prometheus does: this starts your service on a free
# port, lets the kit's Prometheus scrape it over HTTP every second, sends a few requests, and queries
# the result. It runs on the wall clock and takes a few seconds.

# %% tags=["nbval-ignore-output"]
# Wall-clock timestamps, and it needs your finished class: not compared by nbval.
if instrumented_service is ...:
    print("skipped: finish exercise q1 first")
else:
    display(ex.scrape_with_prometheus(instrumented_service))  # noqa: F821 - IPython built-in

# %% [markdown]
# ## Custom collectors
#
# Some values already exist somewhere — a queue length, a cache size, a fault flag — and keeping a gauge
# in sync would duplicate them. A **custom collector** computes its metrics at scrape time instead:

# %% tags=["nbval-ignore-output"]
# The outage state follows the wall clock: not compared by nbval.
from prometheus_client.core import GaugeMetricFamily


class FaultCollector:
    """Exposes the service's state at scrape time: is it in its periodic outage, which faults are on."""

    def __init__(self, service):
        self.service = service

    def collect(self):
        outage = GaugeMetricFamily("toyservice_outage_active", "1 while the periodic outage is on.")
        outage.add_metric([], float(self.service.model.in_outage()))
        yield outage
        faults = GaugeMetricFamily("toyservice_fault_active", "1 per injected fault that is on.", labels=["kind"])
        for kind in ("latency", "errors", "down"):
            faults.add_metric([kind], float(self.service.model.fault_active(kind)))
        yield faults


demo = ToyService(seed=1)  # not started: the collector only reads its model
demo.model.inject("latency", 60)  # what `workshop fault latency` does to a running service
reg = CollectorRegistry()
reg.register(FaultCollector(demo))
print(generate_latest(reg).decode())

# %% [markdown]
# Next: **03-promql** — query what the services expose.
