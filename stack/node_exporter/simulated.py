"""A modelled host for simulations: the node exporter's metric names, driven by the stack clock.

A notebook that teaches "alert before the disk is full" cannot wait for a real disk to fill, and
must show the same picture to every participant. This host is a small deterministic model: CPU
load that swings over the day, memory use that follows it, network and disk traffic, and a root
filesystem that fills *linearly* at a fixed rate, so ``predict_linear(node_filesystem_avail_bytes
[1h], 4*3600) < 0`` starts firing at a time one can compute in advance. Every value is a closed-form
function of the clock's time (counters are integrals of their rates), so any scrape interval and any
order of scrapes see one consistent history, and the same ``seed`` gives the same host.

It is a prometheus_client collector like the real ones, so :class:`~.exporter.NodeExporter` serves
it unchanged, and the metric names, types and labels are those of the real collectors.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from stack.clock import Clock
from stack.node_exporter.cpu import CPU_MODES

GIB = 1024.0**3
DAY = 86400.0
# Share of busy CPU time per mode; the rest of each second is idle.
BUSY_SPLIT = {"user": 0.7, "system": 0.2, "iowait": 0.06, "softirq": 0.04}
LABELS_FS = ["device", "fstype", "mountpoint"]


class SimulatedHost:
    """A deterministic host model; ``collect()`` yields node exporter metric families at ``clock.now()``.

    ``disk_fill_bytes_per_hour`` is how fast ``/`` fills; :meth:`disk_full_at` says when it is full.
    """

    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        nodename: str = "sim-host",
        cpus: int = 2,
        memory_bytes: float = 8 * GIB,
        disk_size_bytes: float = 100 * GIB,
        disk_used_fraction: float = 0.5,
        disk_fill_bytes_per_hour: float = 5 * GIB,
    ):
        rng = random.Random(seed)
        self.clock = clock
        self.nodename = nodename
        self.cpus = cpus
        self.memory_bytes = memory_bytes
        self.disk_size_bytes = disk_size_bytes
        self.disk_fill_rate = disk_fill_bytes_per_hour / 3600.0
        self.start = clock.now()
        self.boot_time = math.floor(self.start - rng.uniform(1, 30) * DAY)
        self.start_avail = disk_size_bytes * (1 - disk_used_fraction) * 0.95  # 5 % reserved for root
        self.base_load = [rng.uniform(0.15, 0.35) for _ in range(cpus)]
        self.swing = [rng.uniform(0.05, 0.25) for _ in range(cpus)]
        self.phase = rng.uniform(0, 2 * math.pi)
        self.period = DAY
        self.net_rate = rng.uniform(50e3, 500e3)  # bytes/s received; transmit is a third of it

    # --- the model (closed forms of time) -------------------------------------------------------
    def utilisation(self, cpu: int, t: float) -> float:
        """Busy fraction of one CPU at time ``t`` (between 0 and 1)."""
        return self.base_load[cpu] + self.swing[cpu] * math.sin(2 * math.pi * t / self.period + self.phase)

    def busy_seconds(self, cpu: int, t: float) -> float:
        """Integral of :meth:`utilisation` from boot to ``t``: a counter that never decreases."""
        w = 2 * math.pi / self.period

        def integral(x: float) -> float:
            return self.base_load[cpu] * x - self.swing[cpu] / w * math.cos(w * x + self.phase)

        return integral(t) - integral(self.boot_time)

    def avail_bytes(self, t: float) -> float:
        return max(0.0, self.start_avail - self.disk_fill_rate * (t - self.start))

    def disk_full_at(self) -> float:
        """The clock time at which ``/`` has no space left for non-root users."""
        return self.start + self.start_avail / self.disk_fill_rate if self.disk_fill_rate > 0 else math.inf

    # --- the collector ----------------------------------------------------------------------
    def collect(self) -> Iterable[Metric]:
        t = self.clock.now()
        yield from self._cpu(t)
        yield from self._memory_and_load(t)
        yield from self._filesystem(t)
        yield from self._traffic(t)
        yield GaugeMetricFamily(
            "node_boot_time_seconds", "Node boot time, in unixtime.", value=self.boot_time
        )
        yield GaugeMetricFamily("node_time_seconds", "System time in seconds since epoch (1970).", value=t)
        uname = GaugeMetricFamily(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            labels=["sysname", "release", "version", "machine", "nodename", "domainname"],
        )
        uname.add_metric(["Linux", "6.1.0-sim", "#1 SMP simulated", "x86_64", self.nodename, "(none)"], 1.0)
        yield uname
        success = GaugeMetricFamily(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            labels=["collector"],
        )
        for name in (
            "cpu",
            "diskstats",
            "filesystem",
            "loadavg",
            "meminfo",
            "netdev",
            "stat",
            "time",
            "uname",
        ):
            success.add_metric([name], 1.0)
        yield success

    def _cpu(self, t: float) -> Iterable[Metric]:
        seconds = CounterMetricFamily(
            "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", labels=["cpu", "mode"]
        )
        for cpu in range(self.cpus):
            busy = self.busy_seconds(cpu, t)
            for mode in CPU_MODES:
                if mode == "idle":
                    value = (t - self.boot_time) - busy
                else:
                    value = busy * BUSY_SPLIT.get(mode, 0.0)
                seconds.add_metric([str(cpu), mode], value)
        yield seconds

    def _memory_and_load(self, t: float) -> Iterable[Metric]:
        load = sum(self.utilisation(c, t) for c in range(self.cpus))
        used = self.memory_bytes * (0.3 + 0.4 * load / self.cpus)
        cached = self.memory_bytes * 0.15
        for field, value in (
            ("MemTotal", self.memory_bytes),
            ("MemFree", self.memory_bytes - used - cached),
            ("MemAvailable", self.memory_bytes - used),
            ("Cached", cached),
            ("Buffers", self.memory_bytes * 0.02),
            ("SwapTotal", 0.0),
            ("SwapFree", 0.0),
        ):
            yield GaugeMetricFamily(
                f"node_memory_{field}_bytes", f"Memory information field {field}_bytes.", value=value
            )
        for minutes in (1, 5, 15):
            # load averages lag the utilisation: evaluate it a little in the past
            lagged = sum(self.utilisation(c, t - minutes * 30) for c in range(self.cpus))
            yield GaugeMetricFamily(f"node_load{minutes}", f"{minutes}m load average.", value=lagged)

    def _filesystem(self, t: float) -> Iterable[Metric]:
        root = ["/dev/sda1", "ext4", "/"]
        boot = ["/dev/sda2", "ext4", "/boot"]
        boot_size, boot_avail = 1 * GIB, 0.6 * GIB
        avail = self.avail_bytes(t)
        reserved = self.disk_size_bytes * 0.05
        families = {
            "size_bytes": ("Filesystem size in bytes.", self.disk_size_bytes, boot_size),
            "free_bytes": (
                "Filesystem free space in bytes.",
                avail + reserved,
                boot_avail + boot_size * 0.05,
            ),
            "avail_bytes": ("Filesystem space available to non-root users in bytes.", avail, boot_avail),
            "files": ("Filesystem total file nodes.", 6553600.0, 65536.0),
            "files_free": ("Filesystem total free file nodes.", 6000000.0, 65000.0),
            "readonly": ("Filesystem read-only status.", 0.0, 0.0),
            "device_error": (
                "Whether an error occurred while getting statistics for the given device.",
                0.0,
                0.0,
            ),
        }
        for name, (help_, root_value, boot_value) in families.items():
            g = GaugeMetricFamily(f"node_filesystem_{name}", help_, labels=LABELS_FS)
            g.add_metric(root, root_value)
            g.add_metric(boot, boot_value)
            yield g

    def _traffic(self, t: float) -> Iterable[Metric]:
        up = t - self.boot_time
        for direction, rate in (("receive", self.net_rate), ("transmit", self.net_rate / 3)):
            c = CounterMetricFamily(
                f"node_network_{direction}_bytes_total",
                f"Network device statistic {direction}_bytes.",
                labels=["device"],
            )
            c.add_metric(["eth0"], math.floor(rate * up))
            yield c
        written = CounterMetricFamily(
            "node_disk_written_bytes_total",
            "The total number of bytes written successfully.",
            labels=["device"],
        )
        written.add_metric(["sda"], math.floor(self.disk_fill_rate * (t - self.start) + 2e6 * up))
        yield written
        io = CounterMetricFamily(
            "node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", labels=["device"]
        )
        io.add_metric(["sda"], 0.05 * up)
        yield io
