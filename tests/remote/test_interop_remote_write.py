"""Remote write against the real Prometheus (Debian 2.42), both directions, and federation by it.

* ours -> real: our queue sends to a real Prometheus started with --web.enable-remote-write-receiver,
  and the real one answers queries with exactly our samples;
* real -> ours: a real Prometheus scraping itself remote-writes to our receiver;
* a real Prometheus scrapes our /federate with honor_labels and stores our series.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest

from stack.model import Labels
from stack.remote import WriteStorage
from tests.support import free_port
from tests.web.conftest import run_server
from tests.web.realprom import real_prometheus

pytestmark = pytest.mark.interop


def _query(base: str, expr: str, t: float | None = None):
    params = {"query": expr} | ({"time": f"{t:.3f}"} if t is not None else {})
    with urllib.request.urlopen(f"{base}/api/v1/query?{urllib.parse.urlencode(params)}", timeout=10) as r:
        return json.loads(r.read())["data"]["result"]


def _poll(fn, timeout: float = 60.0):
    """Readiness polling: call ``fn`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise TimeoutError(f"condition not met within {timeout}s")


def test_our_samples_reach_the_real_prometheus_unchanged(tmp_path):
    with real_prometheus(tmp_path / "real", "global: {}\n", "--web.enable-remote-write-receiver") as real:
        config = f"""
global:
  external_labels: {{origin: ours}}
remote_write:
  - url: {real}/api/v1/write
    queue_config: {{batch_send_deadline: 1h, max_samples_per_send: 7}}
"""
        with run_server(config, load=False) as ours:
            # How the server wires remote write: one WriteStorage, told about every accepted config.
            storage = WriteStorage(ours.server.tsdb, ours.server.clock)
            ours.call(storage.start(ours.server.config))
            ours.server.reloaders.append(storage.apply_config)
            try:
                # Samples stamped after the queue started (older ones are not forwarded, as upstream).
                first = ours.server.clock.now_ms() // 1000 * 1000 + 1000
                app = ours.server.tsdb.appender()
                for i in range(20):
                    app.append(Labels({"__name__": "workshop_pushed", "job": "ours", "i": str(i % 2)}),
                               first + i * 1000, i * 0.5)
                app.commit()
                assert ours.call(storage.flush()) == 20
            finally:
                ours.call(storage.stop())
        result = _query(real, "workshop_pushed[1m]", first / 1000 + 19)
    by_i = {s["metric"]["i"]: s["values"] for s in result}
    assert by_i["0"] == [[(first + i * 1000) / 1000, f"{i * 0.5:g}"] for i in range(0, 20, 2)]
    assert len(by_i["1"]) == 10
    assert result[0]["metric"] == {"__name__": "workshop_pushed", "i": "0", "job": "ours", "origin": "ours"}


def test_the_real_prometheus_remote_writes_into_ours(tmp_path):
    with run_server(enable_remote_write_receiver=True) as ours:
        config_dir = tmp_path / "real"
        config = f"""
global:
  scrape_interval: 250ms
  scrape_timeout: 200ms
  external_labels: {{origin: real}}
scrape_configs:
  - job_name: real-self
    static_configs: [{{targets: ['127.0.0.1:__PORT__']}}]
remote_write:
  - url: {ours.url}/api/v1/write
    queue_config: {{batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 1s}}
"""
        # The real server scrapes itself, so its port is chosen before its config is written.
        self_port = free_port()
        config = config.replace("__PORT__", str(self_port))
        with real_prometheus(config_dir, config, data_dir=config_dir / "data", listen_port=self_port):
            got = _poll(lambda: _query(ours.url, 'up{job="real-self"}'))
    assert got[0]["metric"] == {"__name__": "up", "instance": f"127.0.0.1:{self_port}", "job": "real-self",
                                "origin": "real"}
    assert got[0]["value"][1] == "1"


def test_the_real_prometheus_federates_from_ours(tmp_path):
    with run_server() as ours:
        now_ms = int(time.time() * 1000)
        app = ours.server.tsdb.appender()
        app.append(Labels({"__name__": "fed_metric", "job": "app", "instance": "x:1"}), now_ms, 42.0)
        app.append(Labels({"__name__": "other_metric", "job": "node"}), now_ms, 1.0)
        app.commit()
        host = urllib.parse.urlparse(ours.url).netloc
        config = f"""
global: {{scrape_interval: 250ms, scrape_timeout: 200ms}}
scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params: {{'match[]': ['{{job="app"}}']}}
    static_configs: [{{targets: ['{host}']}}]
"""
        with real_prometheus(tmp_path / "real", config) as real:
            got = _poll(lambda: _query(real, "fed_metric"))
            assert _query(real, "other_metric") == []
            up = _query(real, 'up{job="federate"}')
    assert got[0]["metric"] == {"__name__": "fed_metric", "instance": "x:1", "job": "app"}
    assert got[0]["value"][1] == "42"
    assert up[0]["value"][1] == "1"
