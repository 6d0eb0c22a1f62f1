"""The netdev collector: bytes, packets, errors and drops per network interface.

Read from /proc/net/dev, whose column names become the metric names
(``node_network_receive_bytes_total``, ``node_network_transmit_drop_total``, ...). Upstream 1.5
reads the same counters over netlink, which adds ``receive_nohandler``; the kernel also exposes
that one in sysfs, which is where we take it from.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, Metric

from stack.node_exporter.collector import Collector, compile_regex

RECEIVE = ("bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast")
TRANSMIT = ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed")


class NetdevCollector(Collector):
    name = "netdev"

    def __init__(self, *args, device_include: str = "", device_exclude: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if device_include and device_exclude:
            raise ValueError("--collector.netdev.device-include and device-exclude are mutually exclusive")
        self.include = (
            compile_regex("collector.netdev.device-include", device_include) if device_include else None
        )
        self.exclude = (
            compile_regex("collector.netdev.device-exclude", device_exclude) if device_exclude else None
        )

    def stats(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for line in self.read(self.paths.proc("net", "dev")).splitlines()[2:]:
            device, _, rest = line.partition(":")
            device = device.strip()
            if (self.include and not self.include.search(device)) or (
                self.exclude and self.exclude.search(device)
            ):
                continue
            values = [float(v) for v in rest.split()]
            stats = {f"receive_{k}": v for k, v in zip(RECEIVE, values[:8], strict=True)}
            stats |= {f"transmit_{k}": v for k, v in zip(TRANSMIT, values[8:16], strict=True)}
            try:
                with open(self.paths.sys("class", "net", device, "statistics", "rx_nohandler")) as f:
                    stats["receive_nohandler"] = float(f.read())
            except (OSError, ValueError):
                pass
            out[device] = stats
        return out

    def update(self) -> Iterable[Metric]:
        families: dict[str, CounterMetricFamily] = {}
        for device, stats in self.stats().items():
            for key, value in stats.items():
                if key not in families:
                    families[key] = CounterMetricFamily(
                        f"node_network_{key}_total", f"Network device statistic {key}.", labels=["device"]
                    )
                families[key].add_metric([device], value)
        return list(families.values())
