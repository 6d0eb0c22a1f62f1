"""The Pushgateway over real HTTP on 127.0.0.1: URL scheme, bodies, status codes, JSON API, persistence."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys

import aiohttp
import pytest
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    delete_from_gateway,
    push_to_gateway,
    pushadd_to_gateway,
)

from stack.exposition import parse_text
from stack.pushgateway import Pushgateway
from tests.support import free_port, wait_http


@pytest.fixture
async def pg():
    gw = Pushgateway(port=0, enable_admin_api=True)
    await gw.start()
    yield gw
    await gw.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as s:
        yield s


def pushed(text: str) -> dict[str, float]:
    out = {}
    for fam in parse_text(text):
        if fam.name.startswith(("process_", "pushgateway_", "push_")) or fam.name.endswith("_created"):
            continue  # own metrics, push timestamps, and prometheus_client's *_created gauges
        for m in fam.metrics:
            labels = ",".join(f"{k}={v}" for k, v in sorted(m.labels.items()))
            out[f"{fam.name}{{{labels}}}"] = m.value
    return out


async def request(http, method, url, data=b"", headers=None) -> tuple[int, str]:
    async with http.request(method, url, data=data, headers=headers or {}, allow_redirects=False) as r:
        return r.status, await r.text()


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/metrics/job/backup", "instance=,job=backup"),
        ("/metrics/job/backup/instance/db1", "instance=db1,job=backup"),
        ("/metrics/job/cleaner/path@base64/L3Zhci90bXA", "instance=,job=cleaner,path=/var/tmp"),
        ("/metrics/job/ex/first@base64/=/second/x", "first=,instance=,job=ex,second=x"),
        ("/metrics/job@base64/YS9i", "instance=,job=a/b"),
        ("/metrics/job/x/", "instance=,job=x"),
        ("/metrics/job/x/a/", "a=,instance=,job=x"),
    ],
)
async def test_push_path_gives_the_grouping_key(pg, http, path, key):
    status, _ = await request(http, "PUT", pg.url + path, b"m 1\n")
    assert status == 200
    status, text = await request(http, "GET", pg.url + "/metrics")
    assert pushed(text) == {f"m{{{key}}}": 1.0}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/metrics/job@base64/=", "job name is required"),
        ("/metrics/job@base64/a+b", 'invalid base64 encoding in job name "a+b"'),
        ("/metrics/job/x/instance/i1/", 'odd number of components in label string "/instance/i1/"'),
        ("/metrics/job/x/__a/b", 'improper label name "__a"'),
        ("/metrics/job/x/1a/b", 'improper label name "1a"'),
        ("/metrics/job/x/p@base64/L3Zhci90bXA/", "odd number of components"),
        ("/metrics/job/x/p@base64/a+b", 'invalid base64 encoding for label p="a+b"'),
        ("/metrics/job/x/p/a%2Fb", "odd number of components"),
    ],
)
async def test_bad_push_path_is_400_with_the_reason(pg, http, path, message):
    status, text = await request(http, "PUT", pg.url + path, b"m 1\n")
    assert (status, text[: len(message)]) == (400, message)
    assert pg.store.groups == {}


async def test_double_slash_redirects_to_the_cleaned_path(pg, http):
    status, _ = await request(http, "PUT", pg.url + "/metrics/job/x//a/b", b"m 1\n")
    assert status == 301


async def test_get_on_a_push_path_is_405(pg, http):
    assert (await request(http, "GET", pg.url + "/metrics/job/x"))[0] == 405


async def test_put_post_delete_status_codes(pg, http):
    assert (await request(http, "PUT", pg.url + "/metrics/job/x", b"a 1\n"))[0] == 200
    assert (await request(http, "POST", pg.url + "/metrics/job/x", b"b 1\n"))[0] == 200
    assert pushed((await request(http, "GET", pg.url + "/metrics"))[1]) == {
        "a{instance=,job=x}": 1, "b{instance=,job=x}": 1}
    assert (await request(http, "DELETE", pg.url + "/metrics/job/x"))[0] == 202
    assert (await request(http, "DELETE", pg.url + "/metrics/job/never-existed"))[0] == 202
    assert pg.store.groups == {}


async def test_bad_body_is_refused_and_the_previous_group_is_still_exposed_unchanged(pg, http):
    await request(http, "PUT", pg.url + "/metrics/job/batch/instance/i1", b"# TYPE done gauge\ndone 1\n")
    good = pushed((await request(http, "GET", pg.url + "/metrics"))[1])
    bad_bodies = [
        b"# TYPE done gaug\ndone 2\n",  # wrong type line
        b"# TYPE done counter\ndone 2\n",  # type mismatch with an existing family
        b"done 2 1700000000000\n",  # timestamp
        b"done{a=\"1\"} 1\ndone{a=\"1\"} 2\n",  # duplicate series
        b"done 2",  # truncated last line
    ]
    await request(http, "PUT", pg.url + "/metrics/job/other", b"# TYPE done gauge\ndone{instance=\"i1\"} 5\n")
    good = pushed((await request(http, "GET", pg.url + "/metrics"))[1])
    for body in bad_bodies:
        status, text = await request(http, "PUT", pg.url + "/metrics/job/batch/instance/i1", body)
        assert status == 400, body
        assert text, body
        assert pushed((await request(http, "GET", pg.url + "/metrics"))[1]) == good, body
    # a label clash with the grouping key of another group: job=other,instance=i1 already holds done
    body = b"# TYPE done gauge\ndone 3\n"
    status, text = await request(http, "PUT", pg.url + "/metrics/job/other/instance/i1", body)
    assert status == 400 and "duplicate series" in text
    assert pushed((await request(http, "GET", pg.url + "/metrics"))[1]) == good


async def test_parse_error_message_names_the_line(pg, http):
    status, text = await request(http, "PUT", pg.url + "/metrics/job/x", b"a 1\nb{c=\"d\" 2\n")
    assert status == 400
    assert text.startswith("text format parsing error in line 2:")


async def test_gzip_body_is_decompressed(pg, http):
    body = gzip.compress(b"# TYPE zipped gauge\nzipped 3\n")
    status, _ = await request(http, "PUT", pg.url + "/metrics/job/z", body, {"Content-Encoding": "gzip"})
    assert status == 200
    assert pushed((await request(http, "GET", pg.url + "/metrics"))[1]) == {"zipped{instance=,job=z}": 3}


async def test_broken_gzip_body_is_400(pg, http):
    headers = {"Content-Encoding": "gzip"}
    status, text = await request(http, "PUT", pg.url + "/metrics/job/z", b"not gzip", headers)
    assert status == 400 and "gzip" in text


async def test_openmetrics_body_is_accepted(pg, http):
    body = b"# TYPE jobs counter\njobs_total 4\n# TYPE t gauge\nt 1.5\n# EOF\n"
    headers = {"Content-Type": "application/openmetrics-text; version=1.0.0; charset=utf-8"}
    assert (await request(http, "PUT", pg.url + "/metrics/job/om", body, headers))[0] == 200
    text = (await request(http, "GET", pg.url + "/metrics"))[1]
    assert pushed(text) == {"jobs_total{instance=,job=om}": 4, "t{instance=,job=om}": 1.5}
    assert "# TYPE jobs_total counter" in text


async def test_protobuf_body_gets_a_clear_415(pg, http):
    ctype = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    status, text = await request(http, "PUT", pg.url + "/metrics/job/p", b"\x00", {"Content-Type": ctype})
    assert status == 415 and "protobuf" in text and "text format" in text


async def test_metrics_endpoint_sends_the_text_content_type_and_own_metrics(pg, http):
    await request(http, "PUT", pg.url + "/metrics/job/x", b"a 1\n")
    async with http.get(pg.url + "/metrics", headers={"Accept": "application/openmetrics-text"}) as r:
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        fams = {f.name: f for f in parse_text(await r.text())}
    assert fams["pushgateway_http_requests_total"].type == "counter"
    assert {"code": "200", "handler": "push", "method": "put"} in [
        m.labels for m in fams["pushgateway_http_requests_total"].metrics]
    assert all("job" not in m.labels for m in fams["process_cpu_seconds_total"].metrics)


async def test_prometheus_client_push_functions_work_with_base64_grouping(pg):
    gateway = pg.url.removeprefix("http://")

    def client_side():
        reg = CollectorRegistry()
        Gauge("backup_last_success_unixtime", "Last success.", registry=reg).set(1234)
        Counter("backup_files", "Files.", registry=reg).inc(7)
        key = {"path": "/var/tmp", "empty": ""}
        push_to_gateway(gateway, job="backup", registry=reg, grouping_key=key)
        reg2 = CollectorRegistry()
        Gauge("backup_size_bytes", "Size.", registry=reg2).set(99)
        pushadd_to_gateway(gateway, job="backup", registry=reg2, grouping_key=key)
        push_to_gateway(gateway, job="other/job", registry=reg2)

    await asyncio.to_thread(client_side)
    exposed = pushed(pg.metrics_text())
    labels = "empty=,instance=,job=backup,path=/var/tmp"
    assert exposed == {
        f"backup_last_success_unixtime{{{labels}}}": 1234,
        f"backup_files_total{{{labels}}}": 7,
        f"backup_size_bytes{{{labels}}}": 99,
        "backup_size_bytes{instance=,job=other/job}": 99,
    }
    await asyncio.to_thread(delete_from_gateway, gateway, job="backup",
                            grouping_key={"path": "/var/tmp", "empty": ""})
    assert pushed(pg.metrics_text()) == {"backup_size_bytes{instance=,job=other/job}": 99}


async def test_api_v1_metrics_shows_groups_with_string_values(pg, http):
    body = (b"# TYPE big gauge\n# HELP big A big number.\nbig 1000000\n"
            b"# TYPE lat histogram\nlat_bucket{le=\"0.5\"} 1\nlat_bucket{le=\"+Inf\"} 2\n"
            b"lat_sum 1.5\nlat_count 2\n")
    await request(http, "PUT", pg.url + "/metrics/job/api", body)
    async with http.get(pg.url + "/api/v1/metrics") as r:
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        doc = await r.json()
    assert doc["status"] == "success"
    (group,) = doc["data"]
    assert group["labels"] == {"job": "api"}
    assert group["last_push_successful"] is True
    assert group["big"]["type"] == "GAUGE" and group["big"]["help"] == "A big number."
    assert group["big"]["metrics"] == [{"labels": {"instance": "", "job": "api"}, "value": "1e+06"}]
    assert group["lat"]["metrics"][0]["buckets"] == {"0.5": "1", "+Inf": "2"}
    assert group["lat"]["metrics"][0]["count"] == "2" and group["lat"]["metrics"][0]["sum"] == "1.5"
    assert group["push_failure_time_seconds"]["metrics"][0]["value"] == "0"
    assert group["big"]["time_stamp"].startswith("20")


async def test_api_v1_status_lists_flags(pg, http):
    async with http.get(pg.url + "/api/v1/status") as r:
        data = (await r.json())["data"]
    assert data["flags"]["web.enable-admin-api"] == "true"
    assert set(data["build_information"]) >= {"version", "revision", "branch"}
    assert (await request(http, "OPTIONS", pg.url + "/api/v1/metrics")) == (200, "")


async def test_admin_wipe_drops_all_groups(pg, http):
    await request(http, "PUT", pg.url + "/metrics/job/a", b"x 1\n")
    await request(http, "PUT", pg.url + "/metrics/job/b", b"y 1\n")
    assert (await request(http, "PUT", pg.url + "/api/v1/admin/wipe"))[0] == 202
    assert pg.store.groups == {}


async def test_admin_wipe_is_404_without_the_flag(http):
    gw = Pushgateway(port=0)
    await gw.start()
    try:
        assert (await request(http, "PUT", gw.url + "/api/v1/admin/wipe"))[0] == 404
        assert (await request(http, "PUT", gw.url + "/-/quit")) == (403, "Lifecycle API is not enabled.")
    finally:
        await gw.stop()


async def test_health_ready_and_status_page(pg, http):
    assert await request(http, "GET", pg.url + "/-/healthy") == (200, "OK")
    assert await request(http, "GET", pg.url + "/-/ready") == (200, "OK")
    await request(http, "PUT", pg.url + "/metrics/job/nightly/path@base64/L3Zhci90bXA", b"x 1\n")
    status, page = await request(http, "GET", pg.url + "/")
    assert status == 200
    assert 'job=&quot;nightly&quot;' in page and "path@base64/L3Zhci90bXA" in page


async def test_persistence_file_survives_a_restart(tmp_path):
    path = tmp_path / "pg.json"
    gw = Pushgateway(port=0, persistence_file=path)
    await gw.start()
    gw.push({"job": "keep", "path": "/a/b"}, "# TYPE kept counter\nkept 3\n")
    await gw.stop()
    assert json.loads(path.read_text())["groups"][0]["labels"] == {"job": "keep", "path": "/a/b"}
    assert [p.name for p in tmp_path.iterdir()] == ["pg.json"]  # no temporary file left behind

    again = Pushgateway(port=0, persistence_file=path)
    assert pushed(again.metrics_text()) == {"kept{instance=,job=keep,path=/a/b}": 3}
    assert again.store.get({"job": "keep", "path": "/a/b"}).gauge_value("push_time_seconds") > 0


def test_damaged_persistence_file_starts_empty(tmp_path, caplog):
    path = tmp_path / "pg.json"
    path.write_text("{not json")
    gw = Pushgateway(port=0, persistence_file=path)
    assert gw.store.groups == {}
    assert "cannot load persisted metrics" in caplog.text


def test_persistence_is_written_periodically_in_virtual_time(tmp_path):
    from stack.clock import VirtualClock

    clock = VirtualClock(start=1_000_000.0)  # see test_store.T0 for why not a 2020s epoch
    path = tmp_path / "pg.json"
    gw = Pushgateway(port=0, clock=clock, persistence_file=path, persistence_interval=300)

    async def scenario():
        await gw.start()
        gw.push({"job": "a"}, "x 1\n")
        await clock.sleep(299)
        written_early = path.exists()
        await clock.sleep(2)
        written = path.exists()
        await gw.stop()
        return written_early, written

    try:
        assert clock.run(scenario()) == (False, True)
    finally:
        clock.close()


def test_cli_serves_and_persists_on_sigterm(tmp_path):
    port = free_port()
    path = tmp_path / "data.json"
    cmd = [sys.executable, "-m", "workshop.cli", "pushgateway", f"--web.listen-address=127.0.0.1:{port}",
           f"--persistence.file={path}", "--persistence.interval=1h"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=os.getcwd())
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        import urllib.request

        req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics/job/cli", data=b"x 1\n", method="PUT")
        assert urllib.request.urlopen(req).status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert json.loads(path.read_text())["groups"][0]["labels"] == {"job": "cli"}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_a_bad_duration_with_a_clear_message(capsys):
    from stack.pushgateway.main import main

    with pytest.raises(SystemExit) as e:
        main(["--persistence.interval=5x"])
    assert e.value.code == 2
    assert "not a valid duration: '5x'" in capsys.readouterr().err


def test_grouping_path_round_trips_through_base64():
    from stack.pushgateway import grouping_path, parse_grouping_path

    key = {"job": "a/b", "path": "/var/tmp", "empty": "", "plain": "x", "odd": "50% off?"}
    path = grouping_path(key)
    assert path.startswith("/metrics/job@base64/YS9i/")
    _, _, segment, job, rest = path.split("/", 4)
    assert parse_grouping_path(segment, job, "/" + rest) == key


async def test_quit_endpoint_requests_shutdown_only_with_the_lifecycle_flag(http):
    gw = Pushgateway(port=0, enable_lifecycle=True)
    await gw.start()
    try:
        assert (await request(http, "GET", gw.url + "/-/quit")) == (405, "Only POST or PUT requests allowed.")
        assert not gw.quit_requested.is_set()
        assert (await request(http, "POST", gw.url + "/-/quit"))[0] == 200
        assert gw.quit_requested.is_set()
    finally:
        await gw.stop()
