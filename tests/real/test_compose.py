"""docker-compose.yml: valid against the Compose specification and safe and complete as a workshop stack.

No Docker engine here: the file is checked against the Compose Specification's JSON schema
(vendored, see data/README.md) and by reading it: pinned images, health checks, mounts of files that
exist, ports published on 127.0.0.1 only, and the configs shared verbatim with the in-package stack.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from tests.real.compose import COMPOSE_FILE, SCHEMA_FILE, bind_mounts, flag, load_compose, project_version
from workshop import supervisor
from workshop.supervisor import REPO_ROOT

SERVICES = load_compose()["services"]
# A released version: v1.2.3 or 1.2.3 (Grafana's tags have no "v").
VERSION_TAG = re.compile(r"^[a-z0-9./-]+:v?\d+\.\d+\.\d+$")
UPSTREAM = {"prometheus", "alertmanager", "pushgateway", "node-exporter", "grafana"}
LOCAL_TARGETS = "deploy/targets/local.yml"
OURS = {"toyservice-1", "toyservice-2", "toyservice-3", "loadgen", "inbox"}


def test_compose_file_is_valid_against_the_compose_specification_schema():
    schema = json.loads(SCHEMA_FILE.read_text())
    assert "draft-07" in schema["$schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(load_compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_schema_rejects_what_compose_rejects():
    # The validation above can fail: an unknown service key is an error in the specification.
    schema = json.loads(SCHEMA_FILE.read_text())
    bad = {"services": {"prometheus": {"image": "prom/prometheus:v3.14.0", "healthchek": {}}}}
    with pytest.raises(jsonschema.ValidationError, match="healthchek"):
        jsonschema.Draft7Validator(schema).validate(bad)


def test_the_stack_has_every_component_of_the_workshop():
    assert set(SERVICES) >= UPSTREAM | OURS


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned_to_a_version_tag(name):
    image = SERVICES[name].get("image", "")
    assert VERSION_TAG.match(image), f"{name}: image {image!r} is not pinned to a released version"
    assert not image.endswith(":latest")


@pytest.mark.parametrize("name", sorted(OURS))
def test_our_services_are_built_from_this_repository_and_tagged_with_its_version(name):
    service = SERVICES[name]
    assert service["build"] == "." and (REPO_ROOT / "Dockerfile").is_file()
    assert service["image"] == f"prometheus-workshop-kit:{project_version()}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck_and_a_restart_policy_or_a_parent(name):
    service = SERVICES[name]
    test = service.get("healthcheck", {}).get("test")
    assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    # The inbox lives in the Alertmanager's network namespace: compose restarts it with its parent.
    assert service.get("restart") == "unless-stopped" or name == "inbox"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_mounted_repository_file_exists(name):
    for source, _ in bind_mounts(SERVICES[name]):
        assert (REPO_ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_ports_are_published_on_the_loopback_interface_only(name):
    for port in SERVICES[name].get("ports") or []:
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_default_stack_runs_without_host_mounts_and_extras_are_behind_profiles():
    # macOS and ARM: no service of the default profile may need the host's /, /proc or /sys.
    for name, service in SERVICES.items():
        host_mounts = [v for v in service.get("volumes") or [] if v.startswith("/")]
        if host_mounts or service.get("privileged"):
            assert service.get("profiles"), f"{name} needs the host ({host_mounts}) but is not in a profile"


def test_data_lives_in_named_volumes():
    volumes = load_compose()["volumes"]
    for name, path in (("prometheus", "/prometheus"), ("alertmanager", "/alertmanager"),
                       ("grafana", "/var/lib/grafana")):  # fmt: skip
        assert f"{name}-data:{path}" in SERVICES[name]["volumes"] and f"{name}-data" in volumes
    assert flag(SERVICES["prometheus"], "storage.tsdb.path") == "/prometheus"
    assert flag(SERVICES["alertmanager"], "storage.path") == "/alertmanager"


def test_shared_configs_are_mounted_verbatim_from_the_in_package_stack():
    prometheus, alertmanager = SERVICES["prometheus"], SERVICES["alertmanager"]
    mounts = dict(bind_mounts(prometheus))
    assert flag(prometheus, "config.file") == mounts["./stack/prometheus.yml"]
    assert "./stack/rules" in mounts
    am_mounts = dict(bind_mounts(alertmanager))
    assert flag(alertmanager, "config.file") == am_mounts["./stack/alertmanager.yml"]
    grafana = dict(bind_mounts(SERVICES["grafana"]))
    assert grafana["./grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load((REPO_ROOT / "grafana/provisioning/dashboards/provider.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == grafana["./grafana/dashboards"]


def test_only_the_target_file_differs_and_it_is_mounted_where_the_shared_config_reads_targets():
    mounts = dict(bind_mounts(SERVICES["prometheus"]))
    config_dir = mounts["./stack/prometheus.yml"].rsplit("/", 1)[0]
    # The shared config sits in stack/ and names its targets relative to itself: ../deploy/targets/local.yml.
    relative = os.path.relpath(REPO_ROOT / LOCAL_TARGETS, REPO_ROOT / "stack")
    expected = posixpath.normpath(f"{config_dir}/{relative}")
    assert mounts["./deploy/targets/compose.yml"] == "/etc/workshop/deploy/targets/local.yml" == expected


def _groups(path: str) -> dict[str, list[str]]:
    return {g["labels"]["job"]: g["targets"] for g in yaml.safe_load((REPO_ROOT / path).read_text())}


def test_local_and_compose_target_files_list_the_same_groups_at_their_own_addresses():
    local, compose = _groups("deploy/targets/local.yml"), _groups("deploy/targets/compose.yml")
    jobs = {"prometheus", "toyservice", "pushgateway", "node", "alertmanager"}
    assert local.keys() == compose.keys() == jobs
    defaults = {f"127.0.0.1:{c.port}" for c in supervisor.COMPONENTS if c.port is not None}
    for job in local:
        assert len(local[job]) == len(compose[job])
        assert set(local[job]) <= defaults, f"{job}: local.yml must use the in-package stack's ports"
        for address in compose[job]:
            host, port = address.rsplit(":", 1)
            assert host in SERVICES, f"{job}: {host} is not a compose service"
            assert _listens_on(SERVICES[host]) == int(port), f"{job}: {host} does not listen on {port}"


def _listens_on(service: dict) -> int:
    command = service.get("command") or []
    if "--listen" in command:
        return int(command[command.index("--listen") + 1].rsplit(":", 1)[1])
    return int(flag(service, "web.listen-address").rsplit(":", 1)[1])


def test_inbox_is_reachable_from_the_alertmanager_at_the_webhook_url_of_the_shared_config():
    # stack/alertmanager.yml says http://127.0.0.1:5001/; in compose the inbox shares the
    # Alertmanager's network namespace, so that address reaches it unchanged.
    config = yaml.safe_load((REPO_ROOT / "stack/alertmanager.yml").read_text())
    urls = [w["url"] for r in config["receivers"] for w in r.get("webhook_configs") or []]
    assert urls
    inbox = SERVICES["inbox"]
    assert inbox["network_mode"] == "service:alertmanager"
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname in ("127.0.0.1", "localhost") and parts.port == _listens_on(inbox)
    assert "127.0.0.1:5001:5001" in SERVICES["alertmanager"]["ports"]


def test_grafana_datasource_has_the_fixed_uid_and_points_at_the_compose_prometheus():
    doc = yaml.safe_load((REPO_ROOT / "grafana/provisioning/datasources/prometheus.yml").read_text())
    (source,) = doc["datasources"]
    assert source["uid"] == "prometheus" and source["type"] == "prometheus"
    parts = urlsplit(source["url"])
    assert parts.hostname in SERVICES and parts.port == _listens_on(SERVICES[parts.hostname])


def test_dockerfile_copies_what_the_image_needs_and_dockerignore_keeps_it():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    copied = [w for line in dockerfile.splitlines() if line.startswith("COPY")
              for w in line.split()[1:-1]]  # fmt: skip
    ignored = {line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()}
    for path in copied:
        assert (REPO_ROOT / path).exists() and path not in ignored, path
    assert "USER nobody" in dockerfile and 'ENTRYPOINT ["workshop"]' in dockerfile


def test_compose_file_names_the_images_it_documents():
    text = COMPOSE_FILE.read_text()
    assert "prom/prometheus:v3." in text and "grafana/grafana:12." in text
