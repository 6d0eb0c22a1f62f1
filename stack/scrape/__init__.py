"""Scraping: targets, relabeling, service discovery, scrape loops and staleness.

The public surface the server, the Simulation and the web API use:

    ScrapeManager(storage, clock=..., transport=..., metrics=...)   # .apply_config(cfg), .stop()
        .active_targets() -> [Target], .dropped_targets() -> [DroppedTarget]
    HttpTransport(), InProcessTransport({"host:port": handler}), ScrapeResponse
    ServerMetrics                                                   # the server's own /metrics
"""

from stack.scrape.discovery import Discovery, TargetGroup
from stack.scrape.loop import ScrapeLoop
from stack.scrape.manager import ScrapeManager, ScrapePool
from stack.scrape.metrics import ServerMetrics
from stack.scrape.relabel import RelabelConfig, process
from stack.scrape.target import Target
from stack.scrape.transport import HttpTransport, InProcessTransport, ScrapeResponse, Transport

__all__ = [
    "Discovery",
    "HttpTransport",
    "InProcessTransport",
    "RelabelConfig",
    "ScrapeLoop",
    "ScrapeManager",
    "ScrapePool",
    "ScrapeResponse",
    "ServerMetrics",
    "Target",
    "TargetGroup",
    "Transport",
    "process",
]
