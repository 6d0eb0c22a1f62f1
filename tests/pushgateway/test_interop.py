"""Side by side with the real Pushgateway (Debian's 1.5 binary): the same pushes to both must get the
same answers and leave the same series for a scraper with ``honor_labels: true`` — checked both by
parsing each ``/metrics`` and by letting the real Prometheus scrape the two and comparing its queries.
"""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from stack.exposition import parse_text
from tests.support import free_port, require_binary, stop_process, wait_http

pytestmark = pytest.mark.interop

# Everything the Pushgateways serve about themselves, which differs by implementation.
OWN_PREFIXES = ("go_", "process_", "pushgateway_", "python_", "promhttp_")
# Values that are push times and therefore differ between the two servers.
TIME_METRICS = ("push_time_seconds", "push_failure_time_seconds")

HISTOGRAM = (b'# TYPE req_seconds histogram\n# HELP req_seconds Request latency.\n'
             b'req_seconds_bucket{le="0.1"} 3\nreq_seconds_bucket{le="1"} 5\n'
             b'req_seconds_bucket{le="+Inf"} 6\n'
             b'req_seconds_sum 2.5\nreq_seconds_count 6\n')
SUMMARY = (b'# TYPE rpc summary\nrpc{quantile="0.5"} 0.2\nrpc{quantile="0.99"} 1.5\n'
           b'rpc_sum 30\nrpc_count 100\n')

# (method, path, body, headers): the same sequence goes to both servers.
SCENARIO = [
    ("PUT", "/metrics/job/backup", b"# TYPE backup_duration_seconds gauge\n# HELP backup_duration_seconds "
     b"Duration of the last backup.\nbackup_duration_seconds 42.7\n"
     b"backup_files_total{kind=\"full\"} 1234\n", {}),
    ("PUT", "/metrics/job/backup/instance/db1",
     b'x{instance="body",job="body",a="q\\"uote\\nnl"} 1e+06\n', {}),
    ("PUT", "/metrics/job/cleaner/path@base64/L3Zhci90bXA", b"# TYPE cleaned counter\ncleaned 7\n", {}),
    ("PUT", "/metrics/job/ex/first@base64/=/second/x", HISTOGRAM + SUMMARY, {}),
    ("PUT", "/metrics/job@base64/YS9i", b"slash_job NaN\nneg_inf -Inf\nsmall 1e-05\nbig 123456\n", {}),
    ("PUT", "/metrics/job/multi", b"a 1\nb 2\nc 3\n", {}),
    ("POST", "/metrics/job/multi", b"b 20\nd 4\n", {}),
    ("PUT", "/metrics/job/zipped", gzip.compress(b"zipped_value 5\n"), {"Content-Encoding": "gzip"}),
    ("PUT", "/metrics/job/emptied", b"gone 1\n", {}),
    ("PUT", "/metrics/job/emptied", b"", {}),
    ("PUT", "/metrics/job/deleted", b"gone 1\n", {}),
    ("DELETE", "/metrics/job/deleted", b"", {}),
    # refused pushes: the stored groups must stay as they are
    ("PUT", "/metrics/job/backup", b"# TYPE backup_duration_seconds gaug\nbackup_duration_seconds 1\n", {}),
    ("PUT", "/metrics/job/other", b"# TYPE backup_duration_seconds counter\nbackup_duration_seconds 1\n", {}),
    ("PUT", "/metrics/job/backup", b"x 1\nx 2\n", {}),
    ("PUT", "/metrics/job/backup", b"stamped 1 1700000000000\n", {}),
    ("PUT", "/metrics/job/multi", b"truncated 1", {}),
    ("POST", "/metrics/job/backup/instance/db1", b'x{a="q\\"uote\\nnl"} 5\n', {}),
    ("PUT", "/metrics/job/backup", b'files{kind="full"} 1\nfiles{kind="full"} 2\n', {}),
    ("PUT", "/metrics/job/x/instance/i1/", b"a 1\n", {}),
    ("PUT", "/metrics/job@base64/=", b"a 1\n", {}),
    ("PUT", "/metrics/job/x/__bad/v", b"a 1\n", {}),
    ("PUT", "/metrics/job/x/p@base64/a+b", b"a 1\n", {}),
    ("PUT", "/metrics/job/proc", b"# TYPE process_cpu_seconds_total gauge\nprocess_cpu_seconds_total 1\n",
     {}),
]


def _http(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body if method != "GET" else None, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _start(cmd: list[str], ready_url: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(ready_url)
    except TimeoutError:
        proc.kill()
        raise AssertionError(f"{cmd[0]} did not start: {proc.communicate()[1].decode()[-2000:]}") from None
    return proc


def _stop(proc: subprocess.Popen) -> None:
    stop_process(proc, timeout=10)


@pytest.fixture(scope="module")
def gateways(tmp_path_factory):
    """Both Pushgateways after the scenario; yields (real_url, our_url, [(status_real, status_ours)])."""
    binary = require_binary("prometheus-pushgateway")
    tmp = tmp_path_factory.mktemp("pg")
    real_port, our_port = free_port(), free_port()
    real = _start([binary, f"--web.listen-address=127.0.0.1:{real_port}", "--persistence.file="],
                  f"http://127.0.0.1:{real_port}/-/ready")
    ours = None
    try:
        ours = _start([sys.executable, "-m", "workshop.cli", "pushgateway",
                       f"--web.listen-address=127.0.0.1:{our_port}", f"--persistence.file={tmp / 'p.json'}"],
                      f"http://127.0.0.1:{our_port}/-/ready")
        urls = f"http://127.0.0.1:{real_port}", f"http://127.0.0.1:{our_port}"
        statuses = []
        for method, path, body, headers in SCENARIO:
            statuses.append(tuple(_http(method, u + path, body, headers)[0] for u in urls))
        yield urls[0], urls[1], statuses
    finally:
        _stop(real)
        if ours is not None:
            _stop(ours)


def _series(text: str) -> set[tuple]:
    """(name, labels, value) of everything pushed; push times reduced to "set or not"."""
    out = set()
    for fam in parse_text(text):
        if fam.name.startswith(OWN_PREFIXES):
            continue
        for m in fam.metrics:
            labels = tuple(sorted(m.labels.items()))
            if fam.type == "histogram":
                value = (tuple(sorted(m.buckets.items())), m.count, m.sum)
            elif fam.type == "summary":
                value = (tuple(sorted(m.quantiles.items())), m.count, m.sum)
            elif fam.name in TIME_METRICS:
                value = m.value > 0
            else:
                value = "NaN" if math.isnan(m.value) else m.value
            out.add((fam.name, fam.type, labels, value))
    return out


def test_same_pushes_get_the_same_status_codes(gateways):
    _, _, statuses = gateways
    mismatches = [(SCENARIO[i][:2], s) for i, s in enumerate(statuses) if s[0] != s[1]]
    assert mismatches == []
    assert [s[0] for s in statuses].count(400) == 11  # the scenario's refused pushes were refused


def test_metrics_expose_the_same_series_as_the_real_pushgateway(gateways):
    real_url, our_url, _ = gateways
    real = _series(_http("GET", real_url + "/metrics")[1])
    ours = _series(_http("GET", our_url + "/metrics")[1])
    assert len(real) > 30
    assert ours - real == set()
    assert real - ours == set()


def test_api_v1_metrics_agrees_with_the_real_pushgateway(gateways):
    real_url, our_url, _ = gateways

    def view(url):
        doc = json.loads(_http("GET", url + "/api/v1/metrics")[1])
        out = {}
        for g in doc["data"]:
            key = json.dumps(g["labels"], sort_keys=True)
            fams = {k: v for k, v in g.items() if isinstance(v, dict) and "metrics" in v}
            out[key] = {
                "ok": g["last_push_successful"],
                "families": {
                    n: (f["type"], f.get("help"), sorted(json.dumps(m, sort_keys=True) for m in f["metrics"]))
                    for n, f in fams.items() if n not in TIME_METRICS
                },
            }
        return out

    assert view(our_url) == view(real_url)


def test_real_prometheus_scraping_with_honor_labels_sees_the_same_series(gateways, tmp_path):
    prometheus = require_binary("prometheus")
    real_url, our_url, _ = gateways
    port = free_port()
    config = tmp_path / "prometheus.yml"
    jobs = []
    for name, url in (("real", real_url), ("ours", our_url)):
        # honor_labels keeps the pushed job/instance; the "gateway" target label tells the two apart.
        target = {"targets": [url.removeprefix("http://")], "labels": {"gateway": name}}
        jobs.append({"job_name": f"pg_{name}", "honor_labels": True, "static_configs": [target]})
    config.write_text(json.dumps({"global": {"scrape_interval": "1s"}, "scrape_configs": jobs}))
    proc = _start([prometheus, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
                   f"--storage.tsdb.path={tmp_path / 'data'}"], f"http://127.0.0.1:{port}/-/ready")
    try:
        api = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            targets = json.loads(_http("GET", api + "/targets")[1])["data"]["activeTargets"]
            if len(targets) == 2 and all(t["health"] == "up" for t in targets):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"targets not up: {targets}")

        def query(gateway: str) -> dict:
            q = urllib.parse.quote(f'{{gateway="{gateway}",job!~"pg_.*"}}')
            result = json.loads(_http("GET", f"{api}/query?query={q}")[1])["data"]["result"]
            out = {}
            for r in result:
                labels = {k: v for k, v in r["metric"].items() if k != "gateway"}
                key = json.dumps(labels, sort_keys=True)
                out[key] = None if labels["__name__"] in TIME_METRICS else r["value"][1]
            return out

        real, ours = query("real"), query("ours")
        assert len(real) > 30
        assert ours == real
        assert '{"__name__": "backup_duration_seconds", "job": "backup"}' in real  # instance="" dropped
    finally:
        _stop(proc)
