"""What every node exporter collector is, and the wrapper that reports how each one did.

Upstream's node exporter is a set of small, independent collectors (cpu, meminfo, filesystem, ...)
that each read one corner of the kernel's view of the host. A collector that cannot work — a file
missing on this system, an unreadable mount — must not take the others down, and must not be faked
either: the scrape reports it with ``node_scrape_collector_success{collector="x"} 0``. That is what
:class:`NodeCollector` adds around the individual collectors, with the same metric names as upstream,
so dashboards and alerts written for the real exporter work unchanged.

Collectors are prometheus_client custom collectors (``collect()`` yields metric families), read
paths through :class:`Paths` (upstream's ``--path.procfs/--path.sysfs/--path.rootfs``), which lets
tests point them at a fixture tree, and take time from the stack clock.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import re2
from prometheus_client.core import GaugeMetricFamily, Metric

from stack.clock import Clock, WallClock

log = logging.getLogger(__name__)

NAMESPACE = "node"


@dataclass(frozen=True)
class Paths:
    """Where the kernel's files are; upstream defaults."""

    procfs: str = "/proc"
    sysfs: str = "/sys"
    rootfs: str = "/"

    def proc(self, *parts: str) -> str:
        return os.path.join(self.procfs, *parts)

    def sys(self, *parts: str) -> str:
        return os.path.join(self.sysfs, *parts)

    def root(self, path: str) -> str:
        return os.path.join(self.rootfs, path.lstrip("/")) if self.rootfs != "/" else path


def compile_regex(flag: str, pattern: str):
    """A device/mount filter flag's regex, compiled by RE2 (a user regex must not be able to hang the
    scrape); unanchored like upstream's Go regexps, which is why the defaults carry their own ^...$."""
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        msg = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(f"--{flag}: invalid regular expression {pattern!r}: {msg}") from None


class Collector:
    """One upstream collector: ``update()`` returns its metric families or raises when it cannot work."""

    name = ""

    def __init__(self, paths: Paths | None = None, clock: Clock | None = None):
        self.paths = paths or Paths()
        self.clock = clock or WallClock()

    def update(self) -> Iterable[Metric]:
        raise NotImplementedError

    def read(self, path: str) -> str:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()


class NodeCollector:
    """Runs the enabled collectors for each scrape and reports their success and duration."""

    def __init__(self, collectors: Sequence[Collector]):
        self.collectors = list(collectors)

    def collect(self) -> Iterable[Metric]:
        duration = GaugeMetricFamily(
            f"{NAMESPACE}_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            labels=["collector"],
        )
        success = GaugeMetricFamily(
            f"{NAMESPACE}_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            labels=["collector"],
        )
        for c in self.collectors:
            start = time.perf_counter()
            try:
                families = list(c.update())
                ok = 1.0
            except Exception as e:  # noqa: BLE001 - any failure is reported, never fatal to the scrape
                log.error("collector %s failed: %s", c.name, e)
                families, ok = [], 0.0
            yield from families
            duration.add_metric([c.name], time.perf_counter() - start)
            success.add_metric([c.name], ok)
        yield duration
        yield success
