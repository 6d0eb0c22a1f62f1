"""The Prometheus server's own metrics, under upstream's names, in one registry per server.

Prometheus scrapes itself (job "prometheus" in the default config), and the workshop's chapter on
"monitoring the monitor" queries these series: how long scrapes take, how many targets each pool
has, how many samples were rejected and why, whether the last config reload worked. Keeping them
in one object (rather than module globals) lets several servers live in one process — tests and
notebooks do that — and lets the web layer serve ``server.metrics.registry`` on ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector


class ServerMetrics:
    """Counters and gauges of the scrape layer and the server process."""

    def __init__(self, registry: CollectorRegistry | None = None, process: bool = True):
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        if process:  # a simulation leaves them out: this Python process's figures would not repeat
            ProcessCollector(registry=r)
        self.build_info = Gauge(
            "prometheus_build_info",
            "A metric with a constant '1' value labeled by version.",
            ["version", "branch", "goversion"],
            registry=r,
        )
        self.config_last_reload_successful = Gauge(
            "prometheus_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
            registry=r,
        )
        self.config_last_reload_success_timestamp = Gauge(
            "prometheus_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
            registry=r,
        )
        self.ready = Gauge(
            "prometheus_ready",
            "Whether Prometheus startup was fully completed and the server is ready for normal operation.",
            registry=r,
        )
        self.target_interval_length = Summary(
            "prometheus_target_interval_length_seconds",
            "Actual intervals between scrapes.",
            ["interval"],
            registry=r,
        )
        self.target_scrape_pools = Counter(
            "prometheus_target_scrape_pools", "Total number of scrape pool creation attempts.", registry=r
        )
        self.target_sync_length = Summary(
            "prometheus_target_sync_length_seconds",
            "Actual interval to sync the scrape pool.",
            ["scrape_job"],
            registry=r,
        )
        self.target_pool_targets = Gauge(
            "prometheus_target_scrape_pool_targets",
            "Current number of targets in this scrape pool.",
            ["scrape_job"],
            registry=r,
        )
        self.scrapes_sample_limit = Counter(
            "prometheus_target_scrapes_exceeded_sample_limit",
            "Total number of scrapes that hit the sample limit and were rejected.",
            registry=r,
        )
        self.scrapes_body_size_limit = Counter(
            "prometheus_target_scrapes_exceeded_body_size_limit",
            "Total number of scrapes that hit the body size limit",
            registry=r,
        )
        self.scrapes_out_of_order = Counter(
            "prometheus_target_scrapes_sample_out_of_order",
            "Total number of samples rejected due to not being out of the expected order.",
            registry=r,
        )
        self.scrapes_duplicate = Counter(
            "prometheus_target_scrapes_sample_duplicate_timestamp",
            "Total number of samples rejected due to duplicate timestamps but different values.",
            registry=r,
        )
        self.scrapes_exceeded_target_limit = Counter(
            "prometheus_target_scrape_pool_exceeded_target_limit",
            "Total number of times scrape pools hit the target limit.",
            registry=r,
        )
        self.scrape_duration = Histogram(
            "prometheus_target_scrape_duration_seconds", "Scrape duration of targets.", registry=r
        )
        self.sd_discovered_targets = Gauge(
            "prometheus_sd_discovered_targets",
            "Current number of discovered targets.",
            ["config", "name"],
            registry=r,
        )
        self.sd_file_read_errors = Counter(
            "prometheus_sd_file_read_errors", "The number of File-SD read errors.", registry=r
        )
        self.build_info.labels(version="3.14.0-workshop", branch="workshop", goversion="python").set(1)

    def add_head_gauges(self, num_series: Callable[[], int]) -> None:
        """Expose ``prometheus_tsdb_head_series`` from whatever storage the server opened."""
        self.registry.register(
            _FuncCollector(
                "prometheus_tsdb_head_series", "Total number of series in the head block.", num_series
            )
        )


class _FuncCollector:
    """A gauge read at collection time (prometheus_client's Gauge.set_function needs a global)."""

    def __init__(self, name: str, help_: str, func: Callable[[], float]):
        self.name, self.help, self.func = name, help_, func

    def describe(self):
        return [GaugeMetricFamily(self.name, self.help)]

    def collect(self):
        yield GaugeMetricFamily(self.name, self.help, value=float(self.func()))
