"""The node exporter over HTTP and as the `workshop node-exporter` command."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import aiohttp
import pytest

from stack.exposition import parse_text
from stack.node_exporter import NodeExporter
from tests.support import free_port, wait_http

LINUX = sys.platform.startswith("linux")


@pytest.mark.skipif(not LINUX, reason="reads /proc and /sys")
async def test_metrics_endpoint_serves_host_metrics_with_the_text_content_type():
    exporter = NodeExporter(port=0)
    await exporter.start()
    try:
        async with aiohttp.ClientSession() as s, s.get(exporter.url + "/metrics") as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            fams = {f.name: f for f in parse_text(await r.text())}
    finally:
        await exporter.stop()
    success = {m.labels["collector"]: m.value for m in fams["node_scrape_collector_success"].metrics}
    assert success == dict.fromkeys(
        [
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
        ],
        1.0,
    )
    assert fams["node_cpu_seconds_total"].type == "counter"
    assert fams["node_memory_MemTotal_bytes"].metrics[0].value > 0
    assert fams["node_exporter_build_info"].metrics[0].value == 1


@pytest.mark.skipif(not LINUX, reason="reads /proc and /sys")
def test_cli_enables_only_the_collectors_asked_for():
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workshop.cli",
            "node-exporter",
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            "--collector.loadavg",
            "--collector.uname",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics")
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    fams = {f.name: f for f in parse_text(text)}
    assert {m.labels["collector"] for m in fams["node_scrape_collector_success"].metrics} == {
        "loadavg",
        "uname",
    }
    assert "node_load1" in fams and "node_cpu_seconds_total" not in fams
    assert proc.returncode == 0  # SIGTERM is a clean stop


def test_cli_reports_a_bad_regex_flag_without_a_traceback(capsys):
    from stack.node_exporter.main import main

    assert main(["--collector.diskstats.device-exclude=(unclosed"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workshop node-exporter: --collector.diskstats.device-exclude: invalid regular")
    assert "Traceback" not in err
