"""The same API requests against ours and the real Prometheus (Debian 2.42) over the same data.

Both servers serve one OpenMetrics file, backfilled into each by its own promtool. Answers are
compared structurally for every endpoint both have. Queries avoid what changed between 2.42 and 3
(range and lookback windows became left-open in 3.0): evaluation times sit 7 s after a sample.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.support import WORKSHOP, free_port, require_binary, running
from tests.web.realprom import real_prometheus

pytestmark = pytest.mark.interop

STEP_S = 15
SAMPLES = 240  # one hour


def _openmetrics(base: int) -> str:
    lines = ["# TYPE demo_requests counter", "# HELP demo_requests Requests served."]
    for i in range(SAMPLES):
        t = base + i * STEP_S
        for inst, per_s in (("a:8080", 1.0), ("b:8080", 2.5)):
            for code in ("200", "500"):
                factor = 1 if code == "200" else 0.1
                lines.append(f'demo_requests_total{{code="{code}",instance="{inst}",job="app"}} '
                             f"{per_s * factor * STEP_S * i:.6g} {t}")
    lines += ["# TYPE demo_temperature_celsius gauge", "# HELP demo_temperature_celsius Temperature."]
    for i in range(SAMPLES):
        t = base + i * STEP_S
        for sensor, offset in (("cpu", 40.0), ("gpu", 55.5)):
            lines.append(f'demo_temperature_celsius{{instance="a:8080",job="app",sensor="{sensor}"}} '
                         f"{offset + (i % 7) * 0.25} {t}")
    return "\n".join(lines) + "\n# EOF\n"


class Pair:
    """Sends each request to both servers and returns both (status, parsed body)."""

    def __init__(self, ours: str, real: str, t: int):
        self.ours, self.real, self.t = ours, real, t

    def both(self, path: str, params=None, method: str = "GET", form=None):
        return _call(self.ours, path, params, method, form), _call(self.real, path, params, method, form)


def _call(base: str, path: str, params, method: str, form):
    qs = urllib.parse.urlencode(params or [], doseq=True)
    data = urllib.parse.urlencode(form or []).encode() if method == "POST" else None
    req = urllib.request.Request(base + path + ("?" + qs if qs else ""), data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        return status, body.decode()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    promtool = require_binary("promtool")
    require_binary("prometheus")
    work = tmp_path_factory.mktemp("interop")
    base = (int(time.time()) // 3600 - 3) * 3600  # data from 3 h ago, well inside retention
    (work / "data.om").write_text(_openmetrics(base))
    real_data, our_data = work / "real-data", work / "our-data"
    om = str(work / "data.om")
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", om, str(real_data)],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "workshop.cli", "promtool", "tsdb", "create-blocks-from",
                    "openmetrics", om, str(our_data), "--quiet"], check=True, capture_output=True)
    with our_prometheus(work / "ours", our_data) as ours, \
            real_prometheus(work / "real", data_dir=real_data) as real:
        yield Pair(ours, real, base + 30 * 60 + 7)


@contextlib.contextmanager
def our_prometheus(workdir, data_dir):
    """``workshop prometheus`` as its own process over the backfilled directory, as a user runs it."""
    workdir.mkdir()
    (workdir / "prometheus.yml").write_text("global: {}\n")
    url = f"http://127.0.0.1:{free_port()}"
    cmd = [*WORKSHOP, "prometheus", f"--config.file={workdir / 'prometheus.yml'}",
           f"--storage.tsdb.path={data_dir}", f"--web.listen-address={url.removeprefix('http://')}"]
    with running(cmd, url + "/-/ready", workdir / "prometheus.log"):
        yield url


QUERIES = [
    "demo_requests_total",
    'demo_requests_total{code="500"}',
    'sum by (instance) (rate(demo_requests_total{job="app"}[5m]))',
    'sum(rate(demo_requests_total{code="500"}[1m])) / sum(rate(demo_requests_total[1m]))',
    "avg_over_time(demo_temperature_celsius[10m])",
    "max by (sensor) (demo_temperature_celsius) > 50",
    "demo_temperature_celsius{sensor=~\"c.*\"} * 2 + 1",
    "count(demo_requests_total) by (code)",
    "topk(1, demo_temperature_celsius)",
    "demo_requests_total[1m]",
    "1e-7", "vector(1e-7)", "vector(1e21)", "scalar(sum(demo_temperature_celsius))", "-0.0",
    "histogram_quantile(0.5, demo_requests_total)",
    "absent(nonexistent_metric)",
    '"a string"',
]


def _same_result(ours, real) -> None:
    """Same type, series, timestamps and value strings; values may differ in the last bits only where
    2.42 and 3.x sum differently (avg_over_time uses Kahan summation in 3.x)."""
    a, b = ours["data"], real["data"]
    assert a["resultType"] == b["resultType"]
    if a["resultType"] not in ("vector", "matrix"):
        assert a["result"] == b["result"]
        return
    key = lambda s: json.dumps(s["metric"], sort_keys=True)  # noqa: E731
    ra, rb = sorted(a["result"], key=key), sorted(b["result"], key=key)
    assert [s["metric"] for s in ra] == [s["metric"] for s in rb]
    for sa, sb in zip(ra, rb, strict=True):
        pa = sa.get("values") or [sa["value"]]
        pb = sb.get("values") or [sb["value"]]
        assert [t for t, _ in pa] == [t for t, _ in pb]
        for (_, va), (_, vb) in zip(pa, pb, strict=True):
            assert va == vb or float(va) == pytest.approx(float(vb), rel=1e-12), (sa["metric"], va, vb)


@pytest.mark.parametrize("query", QUERIES)
def test_instant_queries_answer_the_same(pair, query):
    (s1, ours), (s2, real) = pair.both("/api/v1/query", {"query": query, "time": pair.t})
    assert (s1, s2) == (200, 200), (ours, real)
    _same_result(ours, real)


@pytest.mark.parametrize("query", [q for q in QUERIES if not q.endswith("[1m]") and q != '"a string"'])
def test_range_queries_answer_the_same(pair, query):
    params = {"query": query, "start": pair.t - 1200, "end": pair.t, "step": "60"}
    (s1, ours), (s2, real) = pair.both("/api/v1/query_range", params, method="POST", form=params)
    assert (s1, s2) == (200, 200), (ours, real)
    _same_result(ours, real)


@pytest.mark.parametrize("params", [
    {"match[]": "demo_requests_total"},
    {"match[]": ['demo_temperature_celsius{sensor="gpu"}', 'demo_requests_total{code="200"}']},
])
def test_series_answer_the_same(pair, params):
    (s1, ours), (s2, real) = pair.both("/api/v1/series", params)
    assert (s1, s2) == (200, 200)
    key = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
    assert sorted(ours["data"], key=key) == sorted(real["data"], key=key)


def test_label_names_and_values_answer_the_same(pair):
    match = {"match[]": '{__name__=~"demo_.*"}'}
    for path, params in (("/api/v1/labels", match), ("/api/v1/label/sensor/values", {}),
                         ("/api/v1/label/code/values", match), ("/api/v1/label/__name__/values", match)):
        (s1, ours), (s2, real) = pair.both(path, params)
        assert (s1, s2) == (200, 200)
        assert ours == real, path


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/query", {"query": "sum("}),
    ("/api/v1/query", {"query": "up{"}),
    ("/api/v1/query", {"query": "rate(demo_requests_total)"}),
    ("/api/v1/query", {"query": "1 +"}),
    ("/api/v1/query", {"query": "demo_requests_total", "time": "abc"}),
    ("/api/v1/query_range", {"query": "1", "start": "10", "end": "1", "step": "1"}),
    ("/api/v1/query_range", {"query": "1", "start": "0", "end": "1", "step": "0"}),
    ("/api/v1/query_range", {"query": "1", "start": "0", "end": "11001", "step": "1"}),
    ("/api/v1/query_range", {"query": "1", "start": "x", "end": "1", "step": "1"}),
    ("/api/v1/query_range", {"query": "1", "start": "0", "end": "1", "step": "0.5m"}),
    ("/api/v1/series", {}),
    ("/api/v1/series", {"match[]": '{job=~".*"}'}),
    ("/api/v1/query_exemplars", {"query": "sum("}),
    ("/api/v1/metadata", {"limit": "x"}),
])
def test_errors_answer_the_same(pair, path, params):
    (s1, ours), (s2, real) = pair.both(path, params)
    assert s1 == s2
    assert (ours["errorType"], ours["error"].replace("Invalid time", "invalid time")) == (
        real["errorType"], real["error"].replace("Invalid time", "invalid time"))


def test_execution_errors_are_422_in_both(pair):
    query = 'label_replace(demo_temperature_celsius, "sensor", "any", "", "")'
    (s1, ours), (s2, real) = pair.both("/api/v1/query", {"query": query, "time": pair.t})
    assert (s1, s2) == (422, 422)
    assert ours["errorType"] == real["errorType"] == "execution"
    assert ours["error"] == real["error"]


def test_a_tiny_timeout_is_503_timeout_in_both(pair):
    params = {"query": "sum(rate(demo_requests_total[5m]))", "time": pair.t, "timeout": "0.000000001"}
    (s1, ours), (s2, real) = pair.both("/api/v1/query", params)
    assert (s1, s2) == (503, 503)
    assert ours["errorType"] == real["errorType"] == "timeout"


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/query_exemplars", {"query": "demo_requests_total", "start": "0", "end": "10"}),
    ("/api/v1/metadata", {}), ("/api/v1/metadata", {"limit": "0"}),
    ("/api/v1/rules", {}), ("/api/v1/rules", {"type": "alert"}), ("/api/v1/alerts", {}),
])
def test_empty_answers_are_the_same(pair, path, params):
    assert pair.both(path, params)[0] == pair.both(path, params)[1]


def test_targets_have_the_same_shape(pair):
    (_, ours), (_, real) = pair.both("/api/v1/targets")
    assert ours["data"]["activeTargets"] == real["data"]["activeTargets"] == []
    assert ours["data"]["droppedTargets"] == real["data"]["droppedTargets"] == []


def test_buildinfo_has_the_same_keys(pair):
    (_, ours), (_, real) = pair.both("/api/v1/status/buildinfo")
    assert set(ours["data"]) == set(real["data"])
    assert all(isinstance(v, str) for v in ours["data"].values())


def test_router_level_answers_are_the_same(pair):
    assert pair.both("/api/v1/label/job/values", method="POST", form={})[0][0] == 405
    assert pair.both("/api/v1/label/job/values", method="POST", form={})[1][0] == 405
    (s1, b1), (s2, b2) = pair.both("/api/v1/nothing")
    assert (s1, b1) == (s2, b2) == (404, "404 page not found\n")
    (s1, _), (s2, _) = pair.both("/api/v1/query", method="OPTIONS")
    assert s1 == s2 == 204
    (s1, _), (s2, _) = pair.both("/")
    assert s1 == s2 == 200
    (s1, b1), (s2, b2) = pair.both("/api/v1/admin/tsdb/delete_series", {"match[]": "up"}, method="POST")
    assert (s1, b1) == (s2, b2) == (500, {"status": "error", "errorType": "unavailable",
                                          "error": "admin APIs disabled"})
    (s1, b1), (s2, b2) = pair.both("/-/reload", method="POST")
    assert (s1, b1) == (s2, b2) == (403, "Lifecycle API is not enabled.")
