"""Name compatibility with the real node exporter (Debian's 1.5 binary) on this very machine.

For the collectors we implement, every family we expose must exist there with the same type and
label names, and the values must agree within what the time between the two scrapes explains.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest

from stack.exposition import MetricFamily, parse_text
from stack.node_exporter import NodeExporter, build_collectors
from tests.support import free_port, require_binary, wait_http

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="compares Linux /proc readings"),
]

COLLECTORS = [
    "cpu",
    "diskstats",
    "filesystem",
    "loadavg",
    "meminfo",
    "netdev",
    "stat",
    "textfile",
    "time",
    "uname",
]
OWN = ("go_", "process_", "promhttp_", "python_", "node_exporter_build_info")


@pytest.fixture(scope="module")
def scrapes(tmp_path_factory):
    """(real families, our families, seconds between the two readings)."""
    binary = require_binary("prometheus-node-exporter")
    textfiles = tmp_path_factory.mktemp("textfile")
    (textfiles / "job.prom").write_text(
        '# HELP job_ok Last run ok.\n# TYPE job_ok gauge\njob_ok{job="b"} 1\n'
        "# TYPE job_runs counter\njob_runs 12\nplain 3\n"
    )
    (textfiles / "broken.prom").write_text("this is not a metric\n")
    port = free_port()
    # Debian's build excludes "lo" from netdev by default (upstream does not): pass the same filter to both.
    proc = subprocess.Popen(
        [
            binary,
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            *[f"--collector.{c}" for c in COLLECTORS],
            f"--collector.textfile.directory={textfiles}",
            "--collector.netdev.device-exclude=^lo$",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics")
        ours_exporter = NodeExporter(
            collector=build_collectors(
                COLLECTORS,
                options={"textfile": {"directory": str(textfiles)}, "netdev": {"device_exclude": "^lo$"}},
            )
        )
        start = time.monotonic()
        real_text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        ours = ours_exporter.families()
        elapsed = time.monotonic() - start
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    real = {f.name: f for f in parse_text(real_text) if not f.name.startswith(OWN)}
    return real, {f.name: f for f in ours if not f.name.startswith(OWN)}, elapsed


def by_labels(fam: MetricFamily) -> dict[tuple, float]:
    return {tuple(sorted(m.labels.items())): m.value for m in fam.metrics}


def test_every_family_we_expose_exists_upstream_with_same_type_and_labels(scrapes):
    real, ours, _ = scrapes
    assert set(ours) - set(real) == set()
    for name, fam in ours.items():
        assert fam.type == real[name].type, name
        assert {tuple(sorted(m.labels)) for m in fam.metrics} == {
            tuple(sorted(m.labels)) for m in real[name].metrics
        }, name
        assert fam.help == real[name].help, name


def test_we_cover_the_real_exporters_families_for_these_collectors(scrapes):
    real, ours, _ = scrapes
    covered = len(set(real) & set(ours)) / len(real)
    print(
        f"\nnode exporter family coverage: {len(set(real) & set(ours))}/{len(real)} = {covered:.1%}; "
        f"missing: {sorted(set(real) - set(ours))}"
    )
    assert covered >= 0.9


def test_series_sets_are_the_same(scrapes):
    real, ours, _ = scrapes
    for name in set(real) & set(ours):
        if name.startswith("node_scrape_collector"):
            continue
        assert set(by_labels(ours[name])) == set(by_labels(real[name])), name


def test_values_agree_within_the_time_between_scrapes(scrapes):
    real, ours, elapsed = scrapes
    slack = elapsed + 0.05
    assert by_labels(ours["node_memory_MemTotal_bytes"]) == by_labels(real["node_memory_MemTotal_bytes"])
    assert (
        abs(ours["node_boot_time_seconds"].metrics[0].value - real["node_boot_time_seconds"].metrics[0].value)
        <= 1
    )
    for name in ("node_cpu_seconds_total", "node_cpu_guest_seconds_total"):
        r = by_labels(real[name])
        for labels, value in by_labels(ours[name]).items():
            # abs(): the kernel's iowait (and on some kernels idle) counter may step back a tick
            assert abs(value - r[labels]) <= slack, (name, labels, value, r[labels])
    for name in (
        "node_filesystem_size_bytes",
        "node_filesystem_files",
        "node_filesystem_readonly",
        "node_filesystem_device_error",
        "node_uname_info",
        "node_textfile_scrape_error",
        "node_textfile_mtime_seconds",
        "job_ok",
        "job_runs",
        "plain",
        "node_disk_info",
        "node_time_clocksource_current_info",
        "node_time_zone_offset_seconds",
    ):
        assert by_labels(ours[name]) == by_labels(real[name]), name
    assert ours["node_textfile_scrape_error"].metrics[0].value == 1  # broken.prom was refused by both
    for name, fam in ours.items():
        if fam.type == "counter" and not name.startswith(("node_cpu", "job_")):
            r = by_labels(real[name])
            for labels, value in by_labels(fam).items():
                assert value >= r[labels], (name, labels)  # read after the real exporter: never behind
    assert (
        abs(ours["node_time_seconds"].metrics[0].value - real["node_time_seconds"].metrics[0].value)
        <= slack + 1
    )
