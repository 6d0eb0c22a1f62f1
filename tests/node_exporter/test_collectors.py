"""Each collector against a fixture /proc and /sys tree with known contents, so values are exact."""

from __future__ import annotations

import os
import textwrap

import pytest

from stack.exposition import collect_families
from stack.node_exporter import Paths, build_collectors
from stack.node_exporter.cpu import CPUCollector, StatCollector
from stack.node_exporter.diskstats import DiskstatsCollector
from stack.node_exporter.filesystem import FilesystemCollector
from stack.node_exporter.meminfo import LoadavgCollector, MeminfoCollector
from stack.node_exporter.netdev import NetdevCollector
from stack.node_exporter.system import TimeCollector, UnameCollector

STAT = """\
cpu  300 10 200 5000 40 0 6 1 0 0
cpu0 100 10 50 2500 20 0 3 1 7 2
cpu1 200 0 150 2500 20 0 3 0 0 0
intr 12345 0 1 2
ctxt 999
btime 1700000000
processes 4242
procs_running 3
procs_blocked 1
softirq 5 1 2
"""
MEMINFO = """\
MemTotal:        8000000 kB
MemAvailable:    6000000 kB
Active(anon):     100000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
"""
DISKSTATS = """\
   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254 0 vda 48421 8719 3053498 14923 29031 71012 6546456 45488 2 16752 68398 34730 79 1177072 5351 4022 2634
 254       1 vda1 10 0 20 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 259       0 nvme0n1 5 0 8 0 0 0 0 0 0 0 0
"""
NETDEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier
 lo: 35535 54 0 0 0 0 0 0 35535 54 0 0 0 0 0 0
 eth0: 336082949 9316 1 2 3 4 5 6 421634 4299 7 8 9 10 11 12
"""


@pytest.fixture
def paths(tmp_path) -> Paths:
    proc, sys_ = tmp_path / "proc", tmp_path / "sys"
    (proc / "net").mkdir(parents=True)
    (proc / "stat").write_text(STAT)
    (proc / "meminfo").write_text(MEMINFO)
    (proc / "loadavg").write_text("0.52 0.41 0.30 2/345 6789\n")
    (proc / "diskstats").write_text(DISKSTATS)
    (proc / "net" / "dev").write_text(NETDEV)
    stats = sys_ / "class" / "net" / "eth0" / "statistics"
    stats.mkdir(parents=True)
    (stats / "rx_nohandler").write_text("13\n")
    cs = sys_ / "devices" / "system" / "clocksource" / "clocksource0"
    cs.mkdir(parents=True)
    (cs / "available_clocksource").write_text("kvm-clock tsc \n")
    (cs / "current_clocksource").write_text("tsc\n")
    return Paths(str(proc), str(sys_))


def values(collector) -> dict[str, dict[tuple, float]]:
    """name -> {sorted label pairs: value} of what a collector yields."""
    out: dict[str, dict[tuple, float]] = {}
    for m in collector.update():
        for s in m.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_cpu_seconds_are_ticks_divided_by_user_hz(paths):
    v = values(CPUCollector(paths))
    cpu = v["node_cpu_seconds_total"]
    assert cpu[(("cpu", "0"), ("mode", "user"))] == 1.0
    assert cpu[(("cpu", "1"), ("mode", "system"))] == 1.5
    assert cpu[(("cpu", "0"), ("mode", "steal"))] == 0.01
    assert len(cpu) == 16  # 2 CPUs x 8 modes; the aggregate "cpu" line is not reported
    assert v["node_cpu_guest_seconds_total"][(("cpu", "0"), ("mode", "nice"))] == 0.02


def test_stat_reports_boot_time_and_kernel_counters(paths):
    v = values(StatCollector(paths))
    assert v["node_boot_time_seconds"][()] == 1700000000
    assert v["node_intr_total"][()] == 12345
    assert v["node_context_switches_total"][()] == 999
    assert v["node_forks_total"][()] == 4242
    assert (v["node_procs_running"][()], v["node_procs_blocked"][()]) == (3, 1)


def test_meminfo_fields_become_bytes_gauges_named_like_upstream(paths):
    fams = {f.name: f for f in MeminfoCollector(paths).update()}
    assert fams["node_memory_MemTotal_bytes"].samples[0].value == 8000000 * 1024
    assert fams["node_memory_Active_anon_bytes"].type == "gauge"
    assert fams["node_memory_HugePages_Total"].samples[0].value == 0  # no unit, no _bytes
    assert fams["node_memory_Hugepagesize_bytes"].samples[0].value == 2048 * 1024


def test_loadavg(paths):
    v = values(LoadavgCollector(paths))
    assert (v["node_load1"][()], v["node_load5"][()], v["node_load15"][()]) == (0.52, 0.41, 0.30)


def test_diskstats_converts_units_and_skips_partitions_and_loop_devices(paths):
    v = values(DiskstatsCollector(paths, udev_data=str(paths.procfs)))
    read = v["node_disk_read_bytes_total"]
    assert set(read) == {(("device", "vda"),), (("device", "nvme0n1"),)}
    assert read[(("device", "vda"),)] == 3053498 * 512
    assert v["node_disk_read_time_seconds_total"][(("device", "vda"),)] == pytest.approx(14.923)
    assert v["node_disk_io_now"][(("device", "vda"),)] == 2
    assert v["node_disk_flush_requests_time_seconds_total"][(("device", "vda"),)] == pytest.approx(2.634)
    # an older kernel line without discard/flush columns only has the classic counters
    assert (("device", "nvme0n1"),) not in v["node_disk_discards_completed_total"]
    info = v["node_disk_info"]
    assert (
        info[
            (
                ("device", "vda"),
                ("major", "254"),
                ("minor", "0"),
                ("model", ""),
                ("path", ""),
                ("revision", ""),
                ("serial", ""),
                ("wwn", ""),
            )
        ]
        == 1
    )


def test_netdev_names_metrics_after_proc_columns(paths):
    v = values(NetdevCollector(paths))
    assert v["node_network_receive_bytes_total"] == {
        (("device", "eth0"),): 336082949,
        (("device", "lo"),): 35535,
    }
    assert v["node_network_transmit_carrier_total"][(("device", "eth0"),)] == 11
    assert v["node_network_receive_nohandler_total"] == {(("device", "eth0"),): 13}
    excluded = values(NetdevCollector(paths, device_exclude="^lo$"))
    assert set(excluded["node_network_receive_bytes_total"]) == {(("device", "eth0"),)}


def test_netdev_include_and_exclude_are_mutually_exclusive(paths):
    with pytest.raises(ValueError, match="mutually exclusive"):
        NetdevCollector(paths, device_include="eth", device_exclude="lo")


def test_filesystem_applies_upstream_exclusions_and_reports_errors(paths, tmp_path):
    proc = tmp_path / "proc"
    (proc / "1").mkdir()
    (proc / "1" / "mounts").write_text(
        textwrap.dedent(f"""\
        /dev/vda / ext4 rw,relatime 0 0
        proc /proc proc rw 0 0
        tmpfs /run tmpfs rw 0 0
        cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
        overlay /var/tmp overlay rw 0 0
        /dev/vdb /does/not/exist ext4 ro 0 0
        /dev/vdc {tmp_path}/with\\040space xfs ro 0 0
        /dev/vda / ext4 rw,relatime 0 0
        """)
    )
    (tmp_path / "with space").mkdir()
    v = values(FilesystemCollector(paths))
    root = (("device", "/dev/vda"), ("fstype", "ext4"), ("mountpoint", "/"))
    missing = (("device", "/dev/vdb"), ("fstype", "ext4"), ("mountpoint", "/does/not/exist"))
    spaced = (("device", "/dev/vdc"), ("fstype", "xfs"), ("mountpoint", f"{tmp_path}/with space"))
    assert set(v["node_filesystem_device_error"]) == {root, missing, spaced}
    assert v["node_filesystem_device_error"][missing] == 1
    assert missing not in v["node_filesystem_size_bytes"]  # no made-up zeros for a failed statfs
    assert v["node_filesystem_readonly"][missing] == 1 and v["node_filesystem_readonly"][root] == 0
    st = os.statvfs("/")
    assert v["node_filesystem_size_bytes"][root] == st.f_blocks * st.f_bsize
    assert v["node_filesystem_files"][root] == st.f_files


def test_uname_and_time_collectors(paths):
    from stack.clock import VirtualClock

    clock = VirtualClock(start=1_234_567_890.5)
    try:
        v = values(TimeCollector(paths, clock))
    finally:
        clock.close()
    assert v["node_time_seconds"][()] == 1_234_567_890.5
    assert v["node_time_clocksource_current_info"] == {(("clocksource", "tsc"), ("device", "0")): 1}
    assert len(v["node_time_clocksource_available_info"]) == 2
    (labels,) = values(UnameCollector(paths))["node_uname_info"]
    assert dict(labels)["nodename"] == os.uname().nodename
    assert dict(labels)["domainname"] == "(none)"  # no /proc/sys/kernel/domainname in the fixture


def test_a_collector_that_cannot_read_its_files_reports_failure_and_others_still_work(tmp_path):
    node = build_collectors(["cpu", "meminfo", "uname"], Paths(str(tmp_path / "empty"), str(tmp_path)))
    fams = {f.name: f for f in collect_families(node)}
    success = {m.labels["collector"]: m.value for m in fams["node_scrape_collector_success"].metrics}
    assert success == {"cpu": 0.0, "meminfo": 0.0, "uname": 1.0}
    assert "node_cpu_seconds_total" not in fams
    assert "node_uname_info" in fams
    assert {m.labels["collector"] for m in fams["node_scrape_collector_duration_seconds"].metrics} == set(
        success
    )


def test_unknown_collector_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown collector.*nope.*available: cpu"):
        build_collectors(["cpu", "nope"])
