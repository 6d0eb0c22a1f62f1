"""Every shared config passes the real tools: promtool, amtool, and our dashboard importer.

The same files run the in-package stack, ``workshop real`` and docker-compose, so each one is checked
by upstream's own validator in every form a real binary reads it: as it is in the repository, as the
compose containers see it (their mounts laid out in a temporary folder), and as ``workshop real``
renders it for moved ports.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tests.real.compose import bind_mounts, container_files, flag, load_compose
from tests.support import free_port, require_binary
from workshop import real, supervisor
from workshop.supervisor import REPO_ROOT, Layout

pytestmark = pytest.mark.interop

RULE_FILES = sorted((REPO_ROOT / "stack" / "rules").glob("*.rules.yml"))
DASHBOARDS = sorted((REPO_ROOT / "grafana" / "dashboards").glob("*.json"))


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("promtool"), *args], capture_output=True, text=True, timeout=60)


def assert_clean(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS" in output and "WARNING" not in output, output


def test_shared_prometheus_config_passes_promtool():
    assert_clean(promtool("check", "config", str(REPO_ROOT / "stack" / "prometheus.yml")))


def compose_prometheus(tmp_path, config_source=None):
    """The compose Prometheus' config file, with every file it mounts at its container path.

    ``config_source`` stands in for stack/prometheus.yml (the proposed file_sd form).
    """
    service = load_compose()["services"]["prometheus"]
    root = container_files(service, tmp_path / "container")
    config = root / flag(service, "config.file").lstrip("/")
    if config_source is not None:
        shutil.copyfile(config_source, config)
    return config


# The shared config as it is (its targets come from a file_sd file per environment).
CONFIGS = {"shared": None}


@pytest.mark.parametrize("source", CONFIGS.values(), ids=CONFIGS.keys())
def test_compose_prometheus_config_passes_promtool_as_the_container_sees_it(tmp_path, source):
    config = compose_prometheus(tmp_path, source)
    result = promtool("check", "config", str(config))
    assert_clean(result)
    # promtool names each rule file it found, so the rules' mount resolved where the config looks.
    for rules in yaml.safe_load(config.read_text()).get("rule_files") or []:
        found = list((config.parent / rules).parent.glob((config.parent / rules).name))
        assert found and all(str(f) in result.stdout + result.stderr for f in found)


@pytest.mark.parametrize("source", CONFIGS.values(), ids=CONFIGS.keys())
def test_compose_prometheus_scrapes_compose_services(tmp_path, source):
    config_file = compose_prometheus(tmp_path, source)
    config = yaml.safe_load(config_file.read_text())
    # Addresses must come from the target file only: a static 127.0.0.1 target is unreachable in compose.
    assert not any(job.get("static_configs") for job in config["scrape_configs"])
    services = load_compose()["services"]
    sections = [(job["job_name"], job) for job in config["scrape_configs"]]
    sections += [("alertmanager", am) for am in config["alerting"]["alertmanagers"]]
    for job, section in sections:
        (keep,) = section["relabel_configs"]
        assert keep == {"source_labels": ["job"], "regex": job, "action": "keep"}
        for sd in section["file_sd_configs"]:
            for path in sd["files"]:
                groups = yaml.safe_load((config_file.parent / path).read_text())
                kept = [g for g in groups if g["labels"]["job"] == job]
                assert kept, f"no targets for {job} in {path}"
                for address in (a for g in kept for a in g["targets"]):
                    assert address.rsplit(":", 1)[0] in services, (job, address)


def test_target_files_are_valid_file_sd_files_for_promtool(tmp_path):
    files = [str(REPO_ROOT / "deploy" / "targets" / name) for name in ("local.yml", "compose.yml")]
    config = tmp_path / "prometheus.yml"
    job = {"job_name": "all", "file_sd_configs": [{"files": files}]}
    config.write_text(yaml.safe_dump({"scrape_configs": [job]}))
    assert_clean(promtool("check", "config", str(config)))
    # ... and the check can fail: a group without a target list is refused.
    (tmp_path / "bad.yml").write_text("- labels: {job: toyservice}\n  targets: 127.0.0.1:8080\n")
    config.write_text(yaml.safe_dump({"scrape_configs": [
        {"job_name": "all", "file_sd_configs": [{"files": [str(tmp_path / "bad.yml")]}]}]}))  # fmt: skip
    assert promtool("check", "config", str(config)).returncode != 0


def test_config_rendered_for_moved_ports_passes_promtool(tmp_path):
    ports = {c.name: free_port() for c in supervisor.COMPONENTS if c.port is not None}
    paths = real.render_configs(Layout(tmp_path, ports))
    assert_clean(promtool("check", "config", str(paths["prometheus"])))
    amtool = require_binary("amtool")
    result = subprocess.run([amtool, "check-config", str(paths["alertmanager"])], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_rule_files_pass_promtool_check_rules(rule_file):
    assert_clean(promtool("check", "rules", str(rule_file)))


def test_rule_files_stay_readable_by_prometheus_2_42():
    # Keys only Prometheus 3 reads would break Debian's binaries (promtool 2.42 refuses them too).
    for rule_file in RULE_FILES:
        for group in yaml.safe_load(rule_file.read_text())["groups"]:
            assert not {"query_offset", "labels"} & set(group), f"{rule_file.name}: group {group['name']}"
    config = yaml.safe_load((REPO_ROOT / "stack" / "prometheus.yml").read_text())
    assert "rule_query_offset" not in (config.get("global") or {})


def test_alertmanager_config_passes_amtool():
    amtool = require_binary("amtool")
    source = REPO_ROOT / "stack" / "alertmanager.yml"
    result = subprocess.run([amtool, "check-config", str(source)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
    # The compose Alertmanager reads the same file.
    mounts = dict(bind_mounts(load_compose()["services"]["alertmanager"]))
    assert "./stack/alertmanager.yml" in mounts


def test_the_three_shipped_dashboards_are_provisioned():
    assert [p.stem for p in DASHBOARDS] == ["prometheus", "red", "use"]


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda p: p.name)
def test_provisioned_dashboards_are_json_our_importer_accepts(dashboard):
    doc = json.loads(dashboard.read_text())
    assert isinstance(doc, dict) and doc.get("panels"), f"{dashboard.name} has no panels"
    # Grafana provisioning finds the data source by the uid of grafana/provisioning/datasources.
    uids = {t["datasource"]["uid"] for p in _panels(doc) for t in p.get("targets") or [] if "datasource" in t}
    assert uids <= {"prometheus"}, uids
    from workshop.dashboards import grafana

    imported, report = grafana.import_dashboard(dashboard)
    assert report.skipped == [], str(report)
    assert report.panels == len([p for p in _panels(doc) if p.get("type") != "row"]) > 0
    assert imported.title == doc["title"]


def _panels(doc: dict) -> list[dict]:
    """Every panel, including those nested in collapsed rows."""
    return [q for p in doc.get("panels") or [] for q in [p, *(p.get("panels") or [])]]
