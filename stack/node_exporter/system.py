"""The uname and time collectors: which kernel the host runs, and what time it thinks it is.

``node_uname_info`` is the label carrier dashboards join on (``* on(instance) group_left(nodename)``);
``node_time_seconds - time()`` shows clock skew between host and Prometheus. In simulations the
time comes from the stack clock, so the simulated host agrees with the virtual Prometheus.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from stack.node_exporter.collector import Collector


class UnameCollector(Collector):
    name = "uname"

    def update(self) -> Iterable[Metric]:
        u = os.uname()
        try:
            domainname = self.read(self.paths.proc("sys", "kernel", "domainname")).strip()
        except OSError:
            domainname = "(none)"  # what the uname(2) syscall reports when no NIS domain is set
        info = GaugeMetricFamily(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            labels=["sysname", "release", "version", "machine", "nodename", "domainname"],
        )
        info.add_metric([u.sysname, u.release, u.version, u.machine, u.nodename, domainname], 1.0)
        return [info]


class TimeCollector(Collector):
    name = "time"

    def update(self) -> Iterable[Metric]:
        now = self.clock.now()
        offset = GaugeMetricFamily(
            "node_time_zone_offset_seconds", "System time zone offset in seconds.", labels=["time_zone"]
        )
        local = time.localtime(now)
        offset.add_metric([local.tm_zone], float(local.tm_gmtoff))
        families = [
            GaugeMetricFamily("node_time_seconds", "System time in seconds since epoch (1970).", value=now),
            offset,
        ]
        available = GaugeMetricFamily(
            "node_time_clocksource_available_info",
            "Available clocksources read from '/sys/devices/system/clocksource'.",
            labels=["device", "clocksource"],
        )
        current = GaugeMetricFamily(
            "node_time_clocksource_current_info",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
            labels=["device", "clocksource"],
        )
        for path in sorted(
            glob.glob(self.paths.sys("devices", "system", "clocksource", "clocksource[0-9]*"))
        ):
            device = os.path.basename(path).removeprefix("clocksource")
            try:
                for source in self.read(os.path.join(path, "available_clocksource")).split():
                    available.add_metric([device, source], 1.0)
                current.add_metric(
                    [device, self.read(os.path.join(path, "current_clocksource")).strip()], 1.0
                )
            except OSError:
                continue
        if current.samples:
            families += [available, current]
        return families
