"""``workshop real up`` on Debian's binaries: the real Prometheus scrapes the live toy services, agrees
with the in-package one, and the real Alertmanager delivers an injected fault's alert to the inbox.

One stack for the whole module (starting it is the slow part), on free ports in a temporary
WORKSHOP_HOME, always torn down. The tests run in file order: the fault first, then the comparison of
the two servers over the other instances while a minute of data accumulates (which keeps the module
well under two minutes).

To keep the module fast, the real Prometheus loads a test-only copy of stack/rules/workshop.rules.yml
with ``for: 5s`` and a 2 s evaluation interval instead of ``for: 1m`` and 15 s (the ``--rule-file``
option of ``workshop real up``); the Alertmanager runs stack/alertmanager.yml as shipped (5 s
group_wait for critical alerts).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest
import yaml

from tests.support import free_port, require_binary, wait_http
from workshop import real, supervisor
from workshop.supervisor import REPO_ROOT

pytestmark = pytest.mark.interop

DEFAULT_PORTS = {c.name: c.port for c in supervisor.COMPONENTS if c.port is not None}
QUICK_FOR, QUICK_INTERVAL = "5s", "2s"
DATA_TIMEOUT = 100.0  # seconds until both servers hold a minute of samples
ALERT_TIMEOUT = 90.0
FULL_WINDOW = 12  # samples in a 1m window at the 5s scrape interval
FAULTED = "toyservice-1"
SCRAPE_INTERVAL = 5  # seconds, stack/prometheus.yml's global scrape_interval
RATE_SLACK = 0.02  # relative; see test_in_package_prometheus_agrees_with_the_real_one


class RealStack:
    def __init__(self, home: Path):
        self.home = home
        self.ports = {name: free_port() for name in DEFAULT_PORTS}
        self.env = {**os.environ, "WORKSHOP_HOME": str(home)}

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "workshop.cli", *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout,
                              cwd=REPO_ROOT)  # fmt: skip

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def records(self) -> dict[str, dict]:
        run = self.home / "real" / "run"
        return {p.stem: json.loads(p.read_text()) for p in run.glob("*.json")} if run.exists() else {}

    def family(self) -> set[int]:
        pids = set()
        for record in self.records().values():
            pids.add(record["pid"])
            with contextlib.suppress(psutil.Error):
                pids.update(p.pid for p in psutil.Process(record["pid"]).children(recursive=True))
        return pids


def quick_rules(path: Path) -> Path:
    """stack/rules/workshop.rules.yml with short ``for:`` and evaluation intervals (same alerts)."""
    doc = yaml.safe_load((REPO_ROOT / "stack" / "rules" / "workshop.rules.yml").read_text())
    for group in doc["groups"]:
        group["interval"] = QUICK_INTERVAL
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = QUICK_FOR
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    for binary in real.BINARIES:
        require_binary(binary.programs[0])
    s = RealStack(tmp_path_factory.mktemp("workshop-home"))
    ports = [a for name, port in s.ports.items() for a in ("--port", f"{name}={port}")]
    rules = quick_rules(s.home / "quick.rules.yml")
    # The in-package Prometheus for the comparison: the very config `workshop real up` renders,
    # started first so that both servers collect samples over the same span of time.
    config = real.render_configs(supervisor.Layout(s.home / "real", s.ports), [str(rules)])["prometheus"]
    s.ours = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "workshop.cli", "prometheus", f"--config.file={config}",
               f"--web.listen-address={s.ours.removeprefix('http://')}",
               f"--storage.tsdb.path={s.home / 'in-package-data'}"]  # fmt: skip
    s.ours_log = s.home / "in-package-prometheus.log"
    with open(s.ours_log, "wb") as log:
        ours = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    try:
        wait_http(f"{s.ours}/-/ready", timeout=30)
        s.up = s.run("real", "up", *ports, "--rule-file", str(rules), "--flat-load")
        s.ours_process = ours
        yield s
    finally:
        ours.terminate()
        pids = s.family()
        s.run("real", "down")
        for pid in pids:  # only if `down` failed: never leave processes behind
            if supervisor.alive(pid):
                os.kill(pid, signal.SIGKILL)
        try:
            ours.wait(timeout=15)
        except subprocess.TimeoutExpired:
            ours.kill()
            ours.wait()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def query(base: str, expr: str, at: float | None = None) -> list[dict]:
    params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
    body = get_json(f"{base}/api/v1/query?{urllib.parse.urlencode(params)}")
    assert body["status"] == "success", body
    return body["data"]["result"]


def scalar(base: str, expr: str, at: float | None = None) -> float | None:
    result = query(base, expr, at)
    return float(result[0]["value"][1]) if result else None


def test_real_up_starts_everything_and_the_real_prometheus_scrapes_every_target(stack):
    assert stack.up.returncode == 0, stack.up.stdout + stack.up.stderr
    assert "the real stack is up" in stack.up.stdout
    targets = get_json(f"{stack.url('prometheus')}/api/v1/targets")["data"]["activeTargets"]
    scraped = {t["labels"]["instance"]: (t["labels"]["job"], t["health"]) for t in targets}
    expected = {
        stack.address("prometheus"): "prometheus",
        stack.address("pushgateway"): "pushgateway",
        stack.address("node-exporter"): "node",
        **{stack.address(f"toyservice-{i}"): "toyservice" for i in (1, 2, 3)},
    }
    assert scraped == {address: (job, "up") for address, job in expected.items()}
    # The real Prometheus talks to the real Alertmanager, and loaded the rules.
    alertmanagers = get_json(f"{stack.url('prometheus')}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
    assert [a["url"] for a in alertmanagers] == [f"{stack.url('alertmanager')}/api/v2/alerts"]
    groups = get_json(f"{stack.url('prometheus')}/api/v1/rules")["data"]["groups"]
    assert "InstanceDown" in {r["name"] for g in groups for r in g["rules"]}


def test_status_reports_each_component_running_and_healthy(stack):
    result = stack.run("real", "status")
    assert result.returncode == 0
    for name in real.start_order():
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"{name} "))
        assert " running " in line, line
        assert (" - " in line) if name == "loadgen" else (" healthy " in line), line


def test_injected_fault_is_delivered_to_the_inbox_by_the_real_alertmanager(stack):
    target = stack.address(FAULTED)
    fault = stack.run("fault", "down", "--target", target, "--for", "2m")
    assert fault.returncode == 0, fault.stderr
    deadline = time.monotonic() + ALERT_TIMEOUT
    while True:
        notifications = get_json(f"{stack.url('inbox')}/api/notifications")
        wanted = ("InstanceDown", target)
        delivered = [(n["path"], n["payload"]["receiver"], a["status"]) for n in notifications
                     for a in n["payload"]["alerts"]
                     if (a["labels"].get("alertname"), a["labels"].get("instance")) == wanted]  # fmt: skip
        if delivered:
            break
        assert time.monotonic() < deadline, f"no InstanceDown for {target} in the inbox: {notifications}"
        time.sleep(0.5)
    # stack/alertmanager.yml routes critical alerts to the inbox's /critical path.
    assert delivered[0] == ("/critical", "inbox-critical", "firing")


def test_in_package_prometheus_agrees_with_the_real_one(stack):
    """Same config, same live toy services, the same queries at the same instant.

    ``sum(up)`` must be equal. ``rate()`` may differ by what scrape timing explains: the two servers
    scrape at different phases of the 5 s interval, so the in-package server's one-minute window holds
    the samples the real one would hold had it been asked up to one interval earlier or later. So
    the in-package value must lie within the real server's values over that span of evaluation
    times, give or take RATE_SLACK for the extrapolation at the window's ends.

    The instance the previous test took down is left out. Both servers must hold a full minute of
    traffic samples (12 at the 5 s interval), or ``rate()`` would extrapolate over a partly empty window.
    """
    ours, theirs = stack.ours, stack.url("prometheus")
    others = f'instance!="{stack.address(FAULTED)}"'
    full = f'min(count_over_time(http_requests_total{{status="200", {others}}}[1m])) >= {FULL_WINDOW}'
    deadline = time.monotonic() + DATA_TIMEOUT
    while not all(query(base, full) for base in (ours, theirs)):
        assert time.monotonic() < deadline, "the servers did not collect a minute of samples"
        assert stack.ours_process.poll() is None, stack.ours_log.read_text()
        time.sleep(1)
    at = time.time() - SCRAPE_INTERVAL - 2  # so that both have ingested every sample up to at + 5 s
    up = f"sum(up{{{others}}})"
    assert scalar(ours, up, at) == scalar(theirs, up, at) == 5
    rate = f"sum(rate(http_requests_total{{{others}}}[1m]))"
    mine = scalar(ours, rate, at)
    real_rates = [scalar(theirs, rate, at + shift) for shift in range(-SCRAPE_INTERVAL, SCRAPE_INTERVAL + 1)]
    low, high = min(real_rates), max(real_rates)
    print(f"sum(rate(http_requests_total[1m])): in-package {mine:.3f}/s, real {low:.3f}..{high:.3f}/s")
    assert low > 0
    assert low * (1 - RATE_SLACK) <= mine <= high * (1 + RATE_SLACK), (mine, real_rates)


def test_down_leaves_nothing_running(stack):
    pids = stack.family()
    assert len(pids) >= len(real.start_order())
    result = stack.run("real", "down")
    assert result.returncode == 0, result.stderr
    assert {pid for pid in pids if supervisor.alive(pid)} == set()
    assert stack.records() == {}
    # Nothing listens on the stack's ports any more (a bind test would trip over TIME_WAIT sockets).
    listening = {c.laddr.port for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
    assert listening.isdisjoint(stack.ports.values())
