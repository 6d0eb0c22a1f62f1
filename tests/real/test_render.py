"""``workshop real``'s config rendering and command line, without starting any binary."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import free_port, require_binary
from workshop import real, supervisor
from workshop.supervisor import REPO_ROOT, Layout, SupervisorError

DEFAULT_PORTS = {c.name: c.port for c in supervisor.COMPONENTS if c.port is not None}

# stack/prometheus.yml: its targets come from a file (file_sd), as docs/real-stack.md describes.
FILE_SD_CONFIG = (REPO_ROOT / "stack" / "prometheus.yml").read_text()


@pytest.fixture
def repo(tmp_path):
    """A copy of the repository's config layout: stack/ with a file_sd config, deploy/targets/."""
    (tmp_path / "stack" / "rules").mkdir(parents=True)
    (tmp_path / "stack" / "rules" / "a.rules.yml").write_text("groups: []\n")
    (tmp_path / "stack" / "prometheus.yml").write_text(FILE_SD_CONFIG)
    (tmp_path / "deploy" / "targets").mkdir(parents=True)
    local = (REPO_ROOT / "deploy" / "targets" / "local.yml").read_text()
    (tmp_path / "deploy" / "targets" / "local.yml").write_text(local)
    return tmp_path


def render(repo, ports, **kwargs):
    source = repo / "stack" / "prometheus.yml"
    paths = real.render_configs(Layout(repo / "home", ports), prometheus_source=source, **kwargs)
    return paths, yaml.safe_load(paths["prometheus"].read_text())


def test_moved_ports_are_rewritten_in_file_sd_target_copies(repo):
    ports = {**DEFAULT_PORTS, "toyservice-2": 18081, "alertmanager": 19093}
    paths, config = render(repo, ports)
    (targets_file,) = config["scrape_configs"][1]["file_sd_configs"][0]["files"]
    groups = {g["labels"]["job"]: g["targets"] for g in yaml.safe_load(Path(targets_file).read_text())}
    assert groups["toyservice"] == ["127.0.0.1:8080", "127.0.0.1:18081", "127.0.0.1:8082"]
    assert groups["alertmanager"] == ["127.0.0.1:19093"]
    assert config["alerting"]["alertmanagers"][0]["file_sd_configs"][0]["files"] == [targets_file]
    # the shared target file itself is untouched
    assert "18081" not in (repo / "deploy" / "targets" / "local.yml").read_text()


def test_relative_paths_become_absolute_because_the_rendered_config_lives_elsewhere(repo):
    paths, config = render(repo, DEFAULT_PORTS)
    assert config["rule_files"] == [str(repo / "stack" / "rules" / "*.rules.yml")]
    assert paths["prometheus"].parent == repo / "home" / "config"


def test_static_targets_and_webhook_urls_follow_moved_ports(tmp_path):
    ports = {**DEFAULT_PORTS, "toyservice-1": 18080, "inbox": 15001, "prometheus": 19090}
    paths = real.render_configs(Layout(tmp_path, ports))
    config = yaml.safe_load(paths["prometheus"].read_text())
    addresses = [t for job in config["scrape_configs"] for sc in job.get("static_configs") or []
                 for t in sc["targets"]]  # fmt: skip
    addresses += [t for job in config["scrape_configs"] for sd in job.get("file_sd_configs") or []
                  for f in sd["files"] for g in yaml.safe_load(Path(f).read_text())
                  for t in g["targets"]]  # fmt: skip
    assert "127.0.0.1:18080" in addresses and "127.0.0.1:19090" in addresses
    assert "127.0.0.1:8080" not in addresses and "127.0.0.1:9090" not in addresses
    alertmanager = yaml.safe_load(paths["alertmanager"].read_text())
    urls = [w["url"] for r in alertmanager["receivers"] for w in r.get("webhook_configs") or []]
    assert urls and all(u.startswith("http://127.0.0.1:15001/") for u in urls)


def test_rule_file_option_replaces_the_configs_rule_files(repo, tmp_path):
    quick = tmp_path / "quick.rules.yml"
    quick.write_text("groups: []\n")
    _, config = render(repo, DEFAULT_PORTS, rule_files=[str(quick)])
    assert config["rule_files"] == [str(quick)]


def test_missing_binaries_are_named_with_the_package_that_installs_them(monkeypatch):
    absent = real.Binary("alertmanager", ("no-such-program-for-the-workshop",), "prometheus-alertmanager",
                         "/-/healthy", lambda L, c: [])  # fmt: skip
    monkeypatch.setattr(real, "BINARIES", [absent])
    with pytest.raises(SupervisorError, match=r"apt-get install prometheus-alertmanager.*docker compose up"):
        real.find_binaries()


def workshop_real(tmp_path, *args):
    env = {**os.environ, "WORKSHOP_HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "workshop.cli", "real", *args], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_status_and_down_on_a_fresh_home_report_nothing_running(tmp_path):
    status = workshop_real(tmp_path, "status")
    assert status.returncode == 0
    for name in real.start_order():
        assert f"{name:<14} stopped" in status.stdout
    down = workshop_real(tmp_path, "down")
    assert down.returncode == 0 and "stopping the real stack" in down.stdout


def test_a_missing_rule_file_is_a_clear_error(tmp_path):
    result = workshop_real(tmp_path, "up", "--rule-file", str(tmp_path / "nope.yml"))
    assert result.returncode == 1
    assert f"--rule-file {tmp_path / 'nope.yml'}: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_port_option_is_a_clear_error(tmp_path):
    result = workshop_real(tmp_path, "up", "--port", "prometheus=http")
    assert result.returncode == 1 and "'http' is not a port number" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.interop
def test_a_port_in_use_is_named_before_anything_starts(tmp_path):
    for binary in real.BINARIES:
        require_binary(binary.programs[0])
    ports = [a for name in DEFAULT_PORTS for a in ("--port", f"{name}={free_port()}")]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = workshop_real(tmp_path, "up", *ports, "--port", f"prometheus={port}")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"port {port} (prometheus) is already in use" in result.stderr
    assert "systemctl stop prometheus" in result.stderr
    assert not list((tmp_path / "real" / "run").glob("*.json"))
