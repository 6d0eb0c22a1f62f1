"""The cpu and stat collectors: CPU time per mode, and the kernel-wide counters of /proc/stat.

``rate(node_cpu_seconds_total{mode!="idle"}[5m])`` is the usual "how busy is this host" query; it
works because the kernel counts time per CPU and mode in ``/proc/stat`` and we only convert units.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from stack.node_exporter.collector import Collector

# /proc/stat counts in USER_HZ ticks, 100 per second on every Linux ABI (upstream procfs assumes the same).
USER_HZ = 100.0
# Column order of the cpuN lines in /proc/stat (proc(5)).
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
GUEST_MODES = ("user", "nice")  # columns 9 and 10: guest and guest_nice


class CPUCollector(Collector):
    name = "cpu"

    def update(self) -> Iterable[Metric]:
        seconds = CounterMetricFamily(
            "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", labels=["cpu", "mode"]
        )
        guest = CounterMetricFamily(
            "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.",
            labels=["cpu", "mode"],
        )
        for line in self.read(self.paths.proc("stat")).splitlines():
            fields = line.split()
            if not fields or not fields[0].startswith("cpu") or fields[0] == "cpu":
                continue
            cpu = fields[0][3:]
            ticks = [float(x) for x in fields[1:]]
            for mode, value in zip(CPU_MODES, ticks, strict=False):
                seconds.add_metric([cpu, mode], value / USER_HZ)
            for mode, value in zip(GUEST_MODES, ticks[8:10], strict=False):
                guest.add_metric([cpu, mode], value / USER_HZ)
        return [seconds, guest]


class StatCollector(Collector):
    name = "stat"

    def update(self) -> Iterable[Metric]:
        values: dict[str, list[str]] = {}
        for line in self.read(self.paths.proc("stat")).splitlines():
            key, _, rest = line.partition(" ")
            values[key] = rest.split()
        return [
            CounterMetricFamily(
                "node_intr_total", "Total number of interrupts serviced.", value=float(values["intr"][0])
            ),
            CounterMetricFamily(
                "node_context_switches_total",
                "Total number of context switches.",
                value=float(values["ctxt"][0]),
            ),
            CounterMetricFamily(
                "node_forks_total", "Total number of forks.", value=float(values["processes"][0])
            ),
            GaugeMetricFamily(
                "node_boot_time_seconds", "Node boot time, in unixtime.", value=float(values["btime"][0])
            ),
            GaugeMetricFamily(
                "node_procs_running",
                "Number of processes in runnable state.",
                value=float(values["procs_running"][0]),
            ),
            GaugeMetricFamily(
                "node_procs_blocked",
                "Number of processes blocked waiting for I/O to complete.",
                value=float(values["procs_blocked"][0]),
            ),
        ]
