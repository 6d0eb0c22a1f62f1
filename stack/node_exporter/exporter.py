"""The node exporter's HTTP server and the table of collectors it can run.

Serving is separate from collecting so that the same server exposes either the real host (the
collectors of this package, reading /proc and /sys) or a modelled one (:mod:`.simulated`) — the
only thing that changes between a live demo and a notebook simulation is what is collected and
which clock is asked for the time.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector

from stack.clock import Clock, WallClock
from stack.exposition import CONTENT_TYPE_TEXT, Metric, MetricFamily, collect_families, render_text
from stack.node_exporter.collector import Collector, NodeCollector, Paths
from stack.node_exporter.cpu import CPUCollector, StatCollector
from stack.node_exporter.diskstats import DiskstatsCollector
from stack.node_exporter.filesystem import FilesystemCollector
from stack.node_exporter.meminfo import LoadavgCollector, MeminfoCollector
from stack.node_exporter.netdev import NetdevCollector
from stack.node_exporter.system import TimeCollector, UnameCollector
from stack.node_exporter.textfile import TextfileCollector

log = logging.getLogger(__name__)

VERSION = "0.1.0"
DEFAULT_PORT = 9100  # upstream's default listen port

# name -> collector class; all of these are enabled by default upstream too.
COLLECTORS: dict[str, type[Collector]] = {
    c.name: c
    for c in (
        CPUCollector,
        DiskstatsCollector,
        FilesystemCollector,
        LoadavgCollector,
        MeminfoCollector,
        NetdevCollector,
        StatCollector,
        TextfileCollector,
        TimeCollector,
        UnameCollector,
    )
}


def build_collectors(
    enabled: list[str] | None = None,
    paths: Paths | None = None,
    clock: Clock | None = None,
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> NodeCollector:
    """A :class:`NodeCollector` for the named collectors (default: all) with per-collector options,
    e.g. ``{"textfile": {"directory": "/var/lib/node_exporter"}}``."""
    names = list(COLLECTORS) if enabled is None else enabled
    unknown = [n for n in names if n not in COLLECTORS]
    if unknown:
        raise ValueError(f"unknown collector(s) {', '.join(unknown)}; available: {', '.join(COLLECTORS)}")
    options = options or {}
    return NodeCollector([COLLECTORS[n](paths, clock, **options.get(n, {})) for n in sorted(names)])


class NodeExporter:
    """Serves ``collector`` (a prometheus_client collector: the real host by default) on /metrics.

    ``await start()`` / ``await stop()``; ``port=0`` picks a free port (see :attr:`url`).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, collector=None, clock: Clock | None = None
    ):
        self.host, self.port = host, port
        self.clock = clock or WallClock()
        self.collector = collector if collector is not None else build_collectors(clock=self.clock)
        self._own = CollectorRegistry()
        ProcessCollector(registry=self._own)
        self._runner: web.AppRunner | None = None

    def families(self) -> list[MetricFamily]:
        """Everything one scrape returns: the host's metrics and the exporter's own."""
        merged: dict[str, MetricFamily] = {}
        own = collect_families(self._own)
        own.append(
            MetricFamily(
                "node_exporter_build_info",
                "gauge",
                "A metric with a constant '1' value labeled by version and the Python version it runs on.",
                [Metric({"version": VERSION, "pythonversion": platform.python_version()}, 1.0)],
            )
        )
        for fam in collect_families(self.collector) + own:
            if fam.name in merged:
                merged[fam.name].metrics.extend(fam.metrics)
            else:
                merged[fam.name] = fam
        return list(merged.values())

    def metrics_text(self) -> str:
        return render_text(self.families())

    @property
    def url(self) -> str:
        return f"http://{self.host or '127.0.0.1'}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._handle_metrics)
        app.router.add_get("/", self._handle_landing)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host or None, self.port).start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        log.info("node exporter listening on %s", self.url)

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def _handle_metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics_text().encode(), headers={"Content-Type": CONTENT_TYPE_TEXT})

    async def _handle_landing(self, request: web.Request) -> web.Response:
        return web.Response(
            content_type="text/html",
            text=(
                "<!DOCTYPE html><html><head><title>Node Exporter</title></head><body><h1>Node Exporter</h1>"
                '<p><a href="metrics">Metrics</a></p></body></html>\n'
            ),
        )
