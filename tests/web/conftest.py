"""The real Prometheus server (stack.prometheus) with known data, served on a free port.

``run_server`` starts a ``PrometheusServer`` (its own HTTP listener, our web app) inside a
background loop thread, so tests can call it with blocking clients (urllib, prometheus-api-client,
the workshop client, Playwright) and with aiohttp alike, and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from stack.clock import Clock, LoopThread
from stack.model import Labels
from stack.prometheus import PrometheusServer

T0 = 1714557600  # 2024-05-01T10:00:00Z, seconds
T0_MS = T0 * 1000


def load_samples(tsdb) -> None:
    """Two jobs, counters and gauges, every 15 s for 10 minutes before T0 (and at T0)."""
    app = tsdb.appender()
    for i in range(41):
        t = T0_MS - 600_000 + i * 15_000
        for inst, rate in (("a:9100", 1.0), ("b:9100", 2.0), ("c:9100", 0.5)):
            counter = Labels({"__name__": "http_requests_total", "job": "app", "instance": inst})
            app.append(counter, t, rate * 15 * i)
            app.append(Labels({"__name__": "up", "job": "app", "instance": inst}), t, 1.0)
        app.append(Labels({"__name__": "up", "job": "node", "instance": "localhost:9100"}), t, 1.0)
        app.append(Labels({"__name__": "temperature_celsius", "job": "node", "instance": "localhost:9100",
                           "sensor": "cpu"}), t, 40.0 + (i % 5) * 0.1)
    app.commit()


class Served:
    """A running server plus its URL and small HTTP helpers that never raise on 4xx/5xx."""

    def __init__(self, server: PrometheusServer, url: str, thread: LoopThread):
        self.server = server
        self.url = url
        self.thread = thread

    def get(self, path: str, params=None, method: str = "GET", form=None, headers=None):
        qs = urllib.parse.urlencode(params or [], doseq=True)
        url = self.url + path + ("?" + qs if qs else "")
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        hdrs = dict(headers or {})
        if data is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def api(self, path: str, params=None, method: str = "GET", form=None):
        status, _, body = self.get("/api/v1/" + path, params, method, form)
        return status, json.loads(body) if body else None

    def call(self, coro):
        """Run a coroutine on the server's loop (e.g. a rule evaluation or a config change)."""
        return self.thread.submit(coro, timeout=30)


@contextlib.contextmanager
def run_server(config_text: str = "global: {}\n", *, clock: Clock | None = None, storage_path=None,
               load: bool = True, **options):
    """Start the real server with ``config_text`` (written to a temporary prometheus.yml)."""
    with tempfile.TemporaryDirectory(prefix="prom-web-test-") as tmp:
        config_file = Path(tmp) / "prometheus.yml"
        config_file.write_text(config_text)
        options.setdefault("listen_address", "127.0.0.1:0")
        server = PrometheusServer(str(config_file), clock=clock, storage_path=storage_path, **options)
        thread = LoopThread(name="prometheus-test")
        try:
            thread.submit(server.start(), timeout=30)
            if load:
                load_samples(server.tsdb)
            yield Served(server, server.url, thread)
        finally:
            try:
                thread.submit(server.stop(), timeout=30)
            finally:
                thread.stop()


def wait_for(fn, timeout: float = 30.0, interval: float = 0.05):
    """Readiness polling: call ``fn`` until it returns something truthy, and return that."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")


def scraping_config(own_port: int, down_port: int) -> str:
    """The server scrapes itself (up) and a port where nothing listens (down); one target dropped."""
    return f"""
global:
  scrape_interval: 1s
  scrape_timeout: 500ms
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ['127.0.0.1:{own_port}']}}]
  - job_name: toy
    static_configs: [{{targets: ['127.0.0.1:{down_port}', 'dropped.example:80']}}]
    relabel_configs:
      - source_labels: [__address__]
        regex: dropped.*
        action: drop
"""


@pytest.fixture
def served():
    with run_server() as s:
        yield s


@pytest.fixture
def served_lifecycle():
    with run_server(enable_lifecycle=True, enable_admin_api=True, enable_remote_write_receiver=True) as s:
        yield s
