"""The real amtool (Debian 0.25) against our Alertmanager process and our configs."""

from __future__ import annotations

import json
import subprocess

import pytest

from stack.alertmanager import parse_config, routes_test
from tests.alertmanager.test_config import DEFAULT_CONFIG, FULL
from tests.alertmanager.test_routing import TREE
from tests.support import WORKSHOP, free_port, require_binary, running

pytestmark = pytest.mark.interop


def amtool(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([require_binary("amtool"), *args], capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def am_url(tmp_path_factory):
    """``workshop alertmanager`` as its own process, serving stack/alertmanager.yml."""
    require_binary("amtool")
    tmp = tmp_path_factory.mktemp("am")
    url = f"http://127.0.0.1:{free_port()}"
    cmd = [*WORKSHOP, "alertmanager", f"--config.file={DEFAULT_CONFIG}",
           f"--web.listen-address={url.removeprefix('http://')}", f"--storage.path={tmp}"]
    with running(cmd, url + "/-/ready", tmp / "alertmanager.log"):
        yield url


@pytest.mark.parametrize("text", [DEFAULT_CONFIG.read_text(), FULL, TREE], ids=["default", "full", "tree"])
def test_our_configs_pass_the_real_check_config(tmp_path, text):
    f = tmp_path / "am.yml"
    f.write_text(text)
    parse_config(text)  # and ours
    r = amtool("check-config", str(f))
    assert "SUCCESS" in r.stdout


def test_our_re_serialised_config_original_passes_the_real_check_config(tmp_path):
    f = tmp_path / "original.yml"
    f.write_text(parse_config(FULL).original)
    assert "SUCCESS" in amtool("check-config", str(f)).stdout
    assert "s3cret" not in f.read_text()


def test_a_config_we_reject_is_rejected_by_amtool_too(tmp_path):
    f = tmp_path / "am.yml"
    f.write_text("route:\n  receiver: a\n  group_wiat: 1m\nreceivers: [{name: a}]\n")
    r = amtool("check-config", str(f), check=False)
    assert r.returncode != 0 and "group_wiat" in r.stdout + r.stderr


LABEL_SETS = [
    {"alertname": "A"},
    {"alertname": "A", "severity": "page"},
    {"alertname": "A", "severity": "page", "team": "db"},
    {"alertname": "A", "team": "db"},
    {"alertname": "A", "team": "infra"},
    {"alertname": "A", "service": "ui"},
    {"alertname": "A", "team": "web", "service": "api"},
    {"alertname": "A", "severity": "page", "team": "web", "service": "api"},
]


@pytest.mark.parametrize("text", [TREE, FULL], ids=["tree", "full"])
def test_routes_test_gives_the_same_receivers_as_amtool(tmp_path, text):
    f = tmp_path / "am.yml"
    f.write_text(text)
    cfg = parse_config(text)
    for labels in LABEL_SETS:
        r = amtool("config", "routes", "test", f"--config.file={f}", *[f"{k}={v}" for k, v in labels.items()])
        assert r.stdout.strip().split(",") == routes_test(cfg, labels), labels


def test_amtool_alert_add_and_query(am_url):
    amtool(f"--alertmanager.url={am_url}", "alert", "add", "alertname=AmtoolAdded", "severity=warning",
           "instance=h9", "--annotation=summary=added by amtool")
    r = amtool(f"--alertmanager.url={am_url}", "alert", "query", "-o", "json", "alertname=AmtoolAdded")
    (alert,) = json.loads(r.stdout)
    assert alert["labels"] == {"alertname": "AmtoolAdded", "severity": "warning", "instance": "h9"}
    assert alert["annotations"] == {"summary": "added by amtool"}
    assert alert["receivers"] == [{"name": "inbox"}] and alert["status"]["state"] == "active"
    simple = amtool(f"--alertmanager.url={am_url}", "alert", "query", "alertname=AmtoolAdded").stdout
    assert "AmtoolAdded" in simple and "added by amtool" in simple


def test_amtool_silence_add_query_expire(am_url):
    sid = amtool(f"--alertmanager.url={am_url}", "silence", "add", "alertname=AmtoolSilenced", "job=~node.*",
                 "--comment=maintenance", "--author=alice", "--duration=2h").stdout.strip()
    assert len(sid) == 36
    listed = amtool(f"--alertmanager.url={am_url}", "silence", "query", "-o", "json",
                    "alertname=AmtoolSilenced")
    (sil,) = json.loads(listed.stdout)
    assert sil["id"] == sid and sil["createdBy"] == "alice" and sil["status"]["state"] == "active"
    assert {(m["name"], m["value"], m["isRegex"]) for m in sil["matchers"]} == {
        ("alertname", "AmtoolSilenced", False), ("job", "node.*", True)}
    quiet = amtool(f"--alertmanager.url={am_url}", "silence", "query", "-q").stdout.split()
    assert sid in quiet
    amtool(f"--alertmanager.url={am_url}", "silence", "expire", sid)
    assert sid not in amtool(f"--alertmanager.url={am_url}", "silence", "query", "-q").stdout.split()
    assert sid in amtool(f"--alertmanager.url={am_url}", "silence", "query", "--expired", "-q").stdout.split()


def test_amtool_reads_our_routing_tree_from_the_status_api(am_url):
    out = amtool(f"--alertmanager.url={am_url}", "config", "routes").stdout
    assert "receiver: inbox" in out and '{severity="critical"}  receiver: inbox-critical' in out

