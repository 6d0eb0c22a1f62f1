"""``workshop up | status | down | demo`` on free ports, with the state in a temporary directory."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.support import free_port
from workshop import supervisor

TOYS = ["toyservice-1", "toyservice-2", "toyservice-3"]
# Prometheus joins the test stack once its module exists (another issue delivers it).
PROMETHEUS = ["prometheus"] if importlib.util.find_spec("stack.prometheus") else []
DEMO = [*TOYS, "loadgen", *PROMETHEUS]


class Stack:
    """A private demo stack: its own state directory and free ports, torn down whatever happens."""

    def __init__(self, home: Path):
        self.home = home
        self.ports = {c.name: free_port() for c in supervisor.COMPONENTS if c.port is not None}
        self.env = {**os.environ, "WORKSHOP_HOME": str(home)}
        for name, port in self.ports.items():
            self.env[f"WORKSHOP_PORT_{name.upper().replace('-', '_')}"] = str(port)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "workshop.cli", *args]

    def run(self, *args: str, timeout: float = 150) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), env=self.env, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip

    def records(self) -> dict[str, dict]:
        run = self.home / "run"
        return {p.stem: json.loads(p.read_text()) for p in run.glob("*.json")} if run.exists() else {}

    def family(self) -> set[int]:
        """Every recorded pid and all of its descendants."""
        pids = set()
        for record in self.records().values():
            pids.add(record["pid"])
            with contextlib.suppress(psutil.Error):
                pids.update(p.pid for p in psutil.Process(record["pid"]).children(recursive=True))
        return pids


def survivors(pids: set[int]) -> set[int]:
    return {pid for pid in pids if supervisor.alive(pid)}


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path / "state")
    yield s
    pids = s.family()
    supervisor.stop_all(s.home, io.StringIO())
    for pid in survivors(pids):  # only if `down` failed: never leave processes behind
        os.kill(pid, signal.SIGKILL)


def only(*names: str) -> list[str]:
    return ["--only", ",".join(names)]


def metric_value(url: str, prefix: str) -> float:
    with urllib.request.urlopen(url, timeout=5) as r:
        return sum(float(line.rsplit(" ", 1)[1]) for line in r.read().decode().splitlines()
                   if line.startswith(prefix))  # fmt: skip


def write_record(stack: Stack, name: str, pid: int, cmdline: list[str]) -> None:
    (stack.home / "run").mkdir(parents=True, exist_ok=True)
    record = {"pid": pid, "cmdline": cmdline, "url": ""}
    (stack.home / "run" / f"{name}.json").write_text(json.dumps(record))


def test_up_starts_components_status_lists_them_and_down_leaves_no_process(stack):
    # Left-overs of an earlier run: toyservice-1's process is gone, toyservice-2's pid now belongs
    # to another program (this test). Both records are stale: reported, replaced, never signalled.
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    ours = [sys.executable, "-m", "workshop.cli", "toyservice"]
    write_record(stack, "toyservice-1", finished.pid, ours)
    write_record(stack, "toyservice-2", os.getpid(), ours)
    status = stack.run("status").stdout
    assert "toyservice-1   stale" in status and "toyservice-2   stale" in status

    result = stack.run("up", *only(*DEMO))
    assert result.returncode == 0, result.stdout + result.stderr
    assert stack.records()["toyservice-2"]["pid"] != os.getpid()
    for name in TOYS + PROMETHEUS:
        assert f"{name:<14} http://127.0.0.1:{stack.ports[name]}" in result.stdout
    assert sorted(stack.records()) == sorted(DEMO)
    if PROMETHEUS:  # `up` returned only once Prometheus reported every target up
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.ports['prometheus']}/api/v1/targets") as r:
            targets = json.load(r)["data"]["activeTargets"]
        health = {t["discoveredLabels"]["__address__"]: t["health"] for t in targets}
        assert all(health[f"127.0.0.1:{stack.ports[name]}"] == "up" for name in TOYS + PROMETHEUS), health

    # the load generator really drives the services
    deadline = time.monotonic() + 30
    while metric_value(f"http://127.0.0.1:{stack.ports['toyservice-3']}/metrics", "http_requests_total") == 0:
        assert time.monotonic() < deadline, "no requests reached toyservice-3"
        time.sleep(0.2)

    status = stack.run("status")
    assert status.returncode == 0
    for name, record in stack.records().items():
        assert f"{name:<14} {'running':<12} {record['pid']:>7}" in status.stdout
    assert f"logs: {stack.home / 'logs'}" in status.stdout

    again = stack.run("up", *only(*DEMO))
    assert again.returncode == 0 and "already running" in again.stdout

    pids = stack.family()
    assert len(pids) >= len(DEMO)
    down = stack.run("down")
    assert down.returncode == 0
    assert survivors(pids) == set()
    assert stack.records() == {}
    assert "toyservice-1   stopped" in stack.run("status").stdout
    assert psutil.pid_exists(os.getpid())  # the stale record's pid was not signalled


def test_port_in_use_exits_1_naming_the_port_before_starting_anything(stack):
    with socket.socket() as s:
        s.bind(("127.0.0.1", stack.ports["toyservice-2"]))
        s.listen()
        result = stack.run("up", *only(*TOYS, "loadgen"))
    assert result.returncode == 1
    assert f"port {stack.ports['toyservice-2']} (toyservice-2) is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert stack.records() == {}


def test_down_with_only_a_stale_record_removes_it_and_signals_nothing(stack):
    write_record(stack, "loadgen", os.getpid(), ["something", "else"])
    result = stack.run("down")
    assert result.returncode == 0
    assert "loadgen        stale record removed" in result.stdout
    assert stack.records() == {}


def test_demo_runs_in_the_foreground_and_stops_everything_on_sigterm(stack):
    proc = subprocess.Popen(stack.command("demo", *only("toyservice-1", "loadgen")), env=stack.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "press Ctrl-C to stop" in line:
                break
        assert any(f"http://127.0.0.1:{stack.ports['toyservice-1']}" in line for line in lines), lines
        pids = stack.family()
        assert len(pids) >= 2 and survivors(pids) == pids
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "toyservice-1   stopped" in rest
    assert survivors(pids) == set()
    assert stack.records() == {}


def test_unknown_component_is_a_clear_error(stack):
    result = stack.run("up", "--only", "toyservice-9")
    assert result.returncode == 1 and "unknown component 'toyservice-9'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("option", "message"), [
    ("prometheus=http", "--port prometheus=http: 'http' is not a port number"),
    ("grafana=3000", "--port 'grafana=3000': expected NAME=PORT with NAME one of toyservice-1"),
])  # fmt: skip
def test_bad_port_option_is_a_clear_error(option, message):
    with pytest.raises(supervisor.SupervisorError, match=message):
        supervisor.resolve_layout([option], None)


def test_prometheus_config_is_rewritten_for_the_ports_in_use(tmp_path, monkeypatch):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "prometheus.yml").write_text(
        "rule_files: [rules/*.yml]\n"
        "scrape_configs:\n"
        "  - job_name: toyservice\n"
        "    static_configs:\n"
        "      - targets: ['127.0.0.1:8080', 'localhost:8081', '127.0.0.1:8082']\n"
    )
    monkeypatch.setattr(supervisor, "REPO_ROOT", tmp_path)
    ports = {c.name: c.port for c in supervisor.COMPONENTS if c.port is not None}
    assert supervisor.prometheus_config(supervisor.Layout(tmp_path / "home", ports)) == (
        tmp_path / "stack" / "prometheus.yml"
    )
    ports["toyservice-2"] = 18081
    path = supervisor.prometheus_config(supervisor.Layout(tmp_path / "home", ports))
    import yaml

    config = yaml.safe_load(path.read_text())
    assert path == tmp_path / "home" / "prometheus.yml"
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:8080", "127.0.0.1:18081", "127.0.0.1:8082"]  # fmt: skip
    assert config["rule_files"] == [str(tmp_path / "stack" / "rules/*.yml")]


def test_lab_opens_jupyterlab_on_the_notebooks_folder_bound_to_localhost():
    command = supervisor.lab_command()
    assert Path(command[0]).name == "jupyter" and Path(command[0]).parent == Path(sys.executable).parent
    assert command[1:] == ["lab", "--notebook-dir=notebooks", "--ip=127.0.0.1", "--port", "8888"]
