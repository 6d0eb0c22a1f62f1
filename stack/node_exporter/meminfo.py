"""The meminfo and loadavg collectors: /proc/meminfo fields and the load averages.

Every /proc/meminfo line becomes one gauge, named after the field as upstream does
(``Active(anon)`` -> ``node_memory_Active_anon_bytes``, kB values converted to bytes), so the
well-known ``node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes`` works as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from stack.node_exporter.collector import Collector

_PARENS_RE = re.compile(r"\((.*)\)")


class MeminfoCollector(Collector):
    name = "meminfo"

    def update(self) -> Iterable[Metric]:
        families = []
        for line in self.read(self.paths.proc("meminfo")).splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if not parts:
                continue
            key = _PARENS_RE.sub(r"_\1", key.strip())
            value = float(parts[0])
            if len(parts) > 1 and parts[1] == "kB":
                value *= 1024
                key += "_bytes"
            families.append(
                GaugeMetricFamily(f"node_memory_{key}", f"Memory information field {key}.", value=value)
            )
        if not families:
            raise ValueError("no memory information in /proc/meminfo")
        return families


class LoadavgCollector(Collector):
    name = "loadavg"

    def update(self) -> Iterable[Metric]:
        load = [float(x) for x in self.read(self.paths.proc("loadavg")).split()[:3]]
        return [
            GaugeMetricFamily(f"node_load{minutes}", f"{minutes}m load average.", value=v)
            for minutes, v in zip((1, 5, 15), load, strict=True)
        ]
