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
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder

from toyservice.model import BatchOutcome
from toyservice.uninstrumented import Reply, ToyService

METRICS_PATH = "/metrics"

# prometheus_client adds a ``*_created`` series (wall-clock creation time) to every counter and
# histogram. Prometheus itself does not need them, and their wall-clock values would make simulated
# scrapes differ from run to run, so they are switched off (this is process-wide in the client).
disable_created_metrics()


class InstrumentedToyService(ToyService):
    """The toy service with request, in-flight and batch job metrics on its own registry."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "http_requests_total", "HTTP requests handled, by method, path and status.",
            ["method", "path", "status"], registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "http_request_duration_seconds", "Time spent answering HTTP requests.",
            ["method", "path", "status"], registry=r,
        )  # fmt: skip
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being answered right now.", registry=r
        )
        self.batch_last_success = Gauge(
            "batch_job_last_success_timestamp_seconds", "When the batch job last succeeded (Unix time).",
            registry=r,
        )  # fmt: skip
        self.batch_duration = Gauge(
            "batch_job_duration_seconds", "How long the batch job's last run took.", registry=r
        )
        self.batch_records = Counter(
            "batch_job_records_processed_total", "Records processed by successful batch job runs.", registry=r
        )
        self.batch_failures = Counter("batch_job_failures_total", "Batch job runs that failed.", registry=r)
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
        return outcome

    def exposition(self, accept: str = "") -> tuple[str, bytes]:
        """(Content-Type, body) of ``/metrics`` for a given Accept header, without HTTP."""
        encoder, content_type = choose_encoder(accept)
        return content_type, encoder(self.registry)
