"""The modelled host: deterministic for a seed, driven by the clock, named like the real exporter."""

from __future__ import annotations

import numpy as np
import pytest

from stack.clock import VirtualClock
from stack.exposition import collect_families, parse_text
from stack.node_exporter import NodeExporter, SimulatedHost, build_collectors

# A small epoch: VirtualClock timers do not fire at ~1.7e9 s (see tests/pushgateway/test_store.py).
T0 = 1_000_000.0
GIB = 1024.0**3


@pytest.fixture
def clock():
    c = VirtualClock(start=T0)
    yield c
    c.close()


def sample(host: SimulatedHost) -> dict[str, float]:
    out = {}
    for fam in collect_families(host):
        for m in fam.metrics:
            out[fam.name + str(sorted(m.labels.items()))] = m.value
    return out


def avail(host: SimulatedHost, mountpoint: str = "/") -> float:
    fam = next(f for f in collect_families(host) if f.name == "node_filesystem_avail_bytes")
    return next(m.value for m in fam.metrics if m.labels["mountpoint"] == mountpoint)


def test_same_seed_same_host_different_seed_different_host(clock):
    a, b, c = SimulatedHost(clock, seed=1), SimulatedHost(clock, seed=1), SimulatedHost(clock, seed=2)
    clock.advance(3600)
    assert sample(a) == sample(b)
    assert sample(a) != sample(c)


def test_counters_never_decrease_and_cpu_time_adds_up_to_wall_time(clock):
    host = SimulatedHost(clock, seed=3, cpus=2)
    previous = sample(host)
    for _ in range(48):  # a day in 30-minute steps
        clock.advance(1800)
        now = sample(host)
        for key, value in now.items():
            if "_total" in key:
                assert value >= previous[key], key
        previous = now
    fams = {f.name: f for f in collect_families(host)}
    for cpu in ("0", "1"):
        total = sum(m.value for m in fams["node_cpu_seconds_total"].metrics if m.labels["cpu"] == cpu)
        assert total == pytest.approx(clock.now() - host.boot_time)


def test_disk_fills_linearly_so_predict_linear_sees_it_coming(clock):
    host = SimulatedHost(
        clock, seed=0, disk_size_bytes=100 * GIB, disk_used_fraction=0.5, disk_fill_bytes_per_hour=5 * GIB
    )
    full_at = host.disk_full_at()
    assert full_at - T0 == pytest.approx(0.5 * 100 * 0.95 / 5 * 3600)
    times, values = [], []
    for _ in range(60):  # one hour of 1-minute scrapes
        clock.advance(60)
        times.append(clock.now())
        values.append(avail(host))
    # predict_linear(node_filesystem_avail_bytes[1h], 4*3600): least-squares line, 4 h ahead
    slope, intercept = np.polyfit(np.array(times) - times[-1], values, 1)
    assert slope == pytest.approx(-5 * GIB / 3600)
    predicted_in_4h = intercept + slope * 4 * 3600
    assert predicted_in_4h > 0  # still ~8.5 h to go
    clock.advance(full_at - 3 * 3600 - clock.now())
    assert avail(host) + slope * 4 * 3600 < 0  # with 3 h left the 4 h prediction is below zero
    clock.advance(4 * 3600)
    assert avail(host) == 0  # full, and it stays at zero
    assert avail(host, "/boot") == 0.6 * GIB  # the other filesystem does not move


def test_simulated_families_match_the_real_collectors_names_types_and_labels(clock):
    host_fams = {f.name: f for f in collect_families(SimulatedHost(clock, seed=1))}
    real_fams = {f.name: f for f in collect_families(build_collectors())}
    for name, fam in host_fams.items():
        assert name in real_fams, name
        assert fam.type == real_fams[name].type, name
        sim_labels = {tuple(sorted(m.labels)) for m in fam.metrics}
        real_labels = {tuple(sorted(m.labels)) for m in real_fams[name].metrics}
        assert sim_labels <= real_labels or not real_labels, name


def test_the_exporter_serves_a_simulated_host_in_virtual_time(clock):
    host = SimulatedHost(clock, seed=1)
    exporter = NodeExporter(port=0, collector=host, clock=clock)
    clock.advance(7200)
    fams = {f.name: f for f in parse_text(exporter.metrics_text())}
    assert fams["node_time_seconds"].metrics[0].value == T0 + 7200
    root = [m for m in fams["node_filesystem_avail_bytes"].metrics if m.labels["mountpoint"] == "/"]
    assert root[0].value == pytest.approx(host.start_avail - 2 * 5 * GIB)
