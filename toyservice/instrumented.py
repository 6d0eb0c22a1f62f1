"""The reference solution: the toy service instrumented the way the Prometheus docs recommend.

It is :class:`toyservice.uninstrumented.ToyService` plus metrics, added around the existing code
at the places marked ``# Instrument here`` there, so the difference between the two files is
exactly the exercise. The naming follows the Prometheus best practices: base units (seconds),
``_total`` for counters, ``_seconds`` for durations, labels for the dimensions you will aggregate
over (method, path, status), never for unbounded values.

Each instance has its own ``CollectorRegistry`` rather than the global default one, so that a
notebook cell that builds a service again does not fail with "Duplicated timeseries", and several
instances can live in one process (the simulation runs three).

``/metrics`` is served in the classic text format, or in OpenMetrics when the scraper asks for it
in its Accept header (Prometheus does); :meth:`exposition` gives the same answer without HTTP.

The batch job's metrics live on a registry of their own (:attr:`batch_registry`, also served on
``/metrics``), because that is what the job pushes to a Pushgateway after every run when the
service is given a ``pusher`` (see :mod:`toyservice.push`).
"""

from __future__ import annotations

import logging

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

from toyservice.exposition import ExpositionCache
from toyservice.model import BatchOutcome
from toyservice.push import Pusher, grouping_key
from toyservice.uninstrumented import Reply, ToyService

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
# Latency buckets around what this service does: 30-150 ms normally, x3 in an outage, x10 under an
# injected fault, with a boundary at HighLatency's 0.5 s. Ten instead of prometheus_client's fifteen
# defaults: every bucket is a series per label combination, to scrape, store and query.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)  # +Inf is added by the client

# prometheus_client adds a ``*_created`` series (wall-clock creation time) to every counter and
# histogram. Prometheus itself does not need them, and their wall-clock values would make simulated
# scrapes differ from run to run, so they are switched off (this is process-wide in the client).
disable_created_metrics()


class InstrumentedToyService(ToyService):
    """The toy service with request, in-flight and batch job metrics on its own registry."""

    def __init__(self, *, pusher: Pusher | None = None, **kwargs):
        super().__init__(**kwargs)
        self.pusher = pusher
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "http_requests_total", "HTTP requests handled, by method, path and status.",
            ["method", "path", "status"], registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "http_request_duration_seconds", "Time spent answering HTTP requests.",
            ["method", "path", "status"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being answered right now.", registry=r
        )
        self.batch_registry = b = CollectorRegistry()
        self.batch_last_success = Gauge(
            "batch_job_last_success_timestamp_seconds", "When the batch job last succeeded (Unix time).",
            registry=b,
        )  # fmt: skip
        self.batch_duration = Gauge(
            "batch_job_duration_seconds", "How long the batch job's last run took.", registry=b
        )
        self.batch_records = Counter(
            "batch_job_records_processed_total", "Records processed by successful batch job runs.", registry=b
        )
        self.batch_failures = Counter("batch_job_failures_total", "Batch job runs that failed.", registry=b)
        r.register(self.batch_registry)  # a registry is a collector: /metrics shows the batch job too
        self._exposition = ExpositionCache(r)
        if not self.clock.is_virtual:
            # Real process figures only make sense for a real process; a simulation stays deterministic.
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)

    async def route(self, method: str, path: str, accept: str = "") -> Reply:
        if path == METRICS_PATH:
            content_type, body = self.exposition(accept)
            return Reply(200, body, {"Content-Type": content_type})
        return await super().route(method, path, accept)

    async def api(self, method: str, path: str) -> Reply:
        self.in_flight.inc()
        start = self.clock.now()
        try:
            reply = await super().api(method, path)
        finally:
            self.in_flight.dec()
        labels = (method, path, str(reply.status))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(self.clock.now() - start)
        return reply

    async def run_batch_job(self) -> BatchOutcome:
        outcome = await super().run_batch_job()
        self.batch_duration.set(outcome.duration)
        if outcome.success:
            self.batch_last_success.set(self.clock.now())
            self.batch_records.inc(outcome.records)
        else:
            self.batch_failures.inc()
        if self.pusher is not None:
            await self.push_batch_results()
        return outcome

    async def push_batch_results(self) -> bool:
        """Push the batch job's metrics; a failed push is logged and the service carries on."""
        try:
            await self.pusher(grouping_key(self.name), self.batch_registry)
        except Exception as e:  # noqa: BLE001 - any failure (refused, timeout, 400) is only logged
            log.warning("%s: pushing batch job results to the Pushgateway failed: %s", self.name, e)
            return False
        return True

    def exposition(self, accept: str = "") -> tuple[str, bytes]:
        """(Content-Type, body) of ``/metrics`` for a given Accept header, without HTTP."""
        return self._exposition.render(accept)
