"""The diskstats collector: I/O counters per block device from /proc/diskstats.

``rate(node_disk_io_time_seconds_total[5m])`` is the share of time a disk was busy — the
"disk saturation" panel of every host dashboard. The kernel counts sectors and milliseconds; we
convert to bytes and seconds exactly as upstream does, so the numbers match the real exporter.
Partitions and loop/ram devices are left out by upstream's default device filter.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from stack.node_exporter.collector import Collector, compile_regex

# Upstream default of --collector.diskstats.device-exclude (node_exporter 1.5): partitions, loop, ram, fd.
DEFAULT_DEVICE_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"
SECTOR_BYTES = 512.0  # /proc/diskstats counts 512-byte sectors whatever the device's real sector size
MS = 0.001

# (column after the device name (1-based), metric name, type, help, scale) — one table, one loop.
FIELDS = [
    (1, "reads_completed_total", "counter", "The total number of reads completed successfully.", 1.0),
    (2, "reads_merged_total", "counter", "The total number of reads merged.", 1.0),
    (3, "read_bytes_total", "counter", "The total number of bytes read successfully.", SECTOR_BYTES),
    (4, "read_time_seconds_total", "counter", "The total number of seconds spent by all reads.", MS),
    (5, "writes_completed_total", "counter", "The total number of writes completed successfully.", 1.0),
    (6, "writes_merged_total", "counter", "The number of writes merged.", 1.0),
    (7, "written_bytes_total", "counter", "The total number of bytes written successfully.", SECTOR_BYTES),
    (
        8,
        "write_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all writes.",
        MS,
    ),
    (9, "io_now", "gauge", "The number of I/Os currently in progress.", 1.0),
    (10, "io_time_seconds_total", "counter", "Total seconds spent doing I/Os.", MS),
    (11, "io_time_weighted_seconds_total", "counter", "The weighted # of seconds spent doing I/Os.", MS),
    (12, "discards_completed_total", "counter", "The total number of discards completed successfully.", 1.0),
    (13, "discards_merged_total", "counter", "The total number of discards merged.", 1.0),
    (14, "discarded_sectors_total", "counter", "The total number of sectors discarded successfully.", 1.0),
    (
        15,
        "discard_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all discards.",
        MS,
    ),
    (16, "flush_requests_total", "counter", "The total number of flush requests completed successfully", 1.0),
    (
        17,
        "flush_requests_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all flush requests.",
        MS,
    ),
]
# udev properties shown as node_disk_info labels (upstream reads /run/udev/data/b<major>:<minor>).
UDEV_INFO = {
    "path": "ID_PATH",
    "wwn": "ID_WWN",
    "model": "ID_MODEL",
    "serial": "ID_SERIAL_SHORT",
    "revision": "ID_REVISION",
}


class DiskstatsCollector(Collector):
    name = "diskstats"

    def __init__(
        self, *args, device_exclude: str = DEFAULT_DEVICE_EXCLUDE, udev_data: str = "/run/udev/data", **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.device_exclude = compile_regex("collector.diskstats.device-exclude", device_exclude)
        self.udev_data = udev_data

    def update(self) -> Iterable[Metric]:
        families = []
        for _, name, typ, help_, _ in FIELDS:
            cls = CounterMetricFamily if typ == "counter" else GaugeMetricFamily
            families.append(cls(f"node_disk_{name}", help_, labels=["device"]))
        info = GaugeMetricFamily(
            "node_disk_info",
            "Info of /sys/block/<block_device>.",
            labels=["device", "major", "minor", *UDEV_INFO],
        )
        for line in self.read(self.paths.proc("diskstats")).splitlines():
            parts = line.split()
            if len(parts) < 14:
                continue
            major, minor, device = parts[:3]
            if self.device_exclude.search(device):
                continue
            values = parts[3:]
            for fam, (col, *_, scale) in zip(families, FIELDS, strict=True):
                if col <= len(values):  # older kernels have no discard/flush columns
                    fam.add_metric([device], float(values[col - 1]) * scale)
            udev = self._udev(major, minor)
            info.add_metric([device, major, minor, *(udev.get(k, "") for k in UDEV_INFO.values())], 1.0)
        return [*families, info]

    def _udev(self, major: str, minor: str) -> dict[str, str]:
        path = os.path.join(self.udev_data, f"b{major}:{minor}")
        props: dict[str, str] = {}
        try:
            for line in self.read(path).splitlines():
                if line.startswith("E:"):
                    key, _, value = line[2:].partition("=")
                    props[key] = value
        except OSError:
            pass  # no udev database (containers, minimal VMs): the info labels stay empty, as upstream
        return props
