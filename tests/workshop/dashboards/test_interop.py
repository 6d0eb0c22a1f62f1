"""The self-monitoring dashboard against the real Prometheus binary, through the HTTP client."""

import time

import pytest

from tests.support import free_port, require_binary, running
from workshop.client import PrometheusClient
from workshop.dashboards import fetch, render, shipped

CONFIG = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:%d']}]
"""


@pytest.fixture
def real_prometheus(tmp_path):
    binary = require_binary("prometheus")
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(CONFIG % port)
    cmd = [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--web.listen-address=127.0.0.1:{port}",
           f"--storage.tsdb.path={tmp_path / 'data'}"]
    url = f"http://127.0.0.1:{port}"
    with running(cmd, url + "/-/ready", tmp_path / "prometheus.log"):
        client = PrometheusClient(url)
        deadline = time.monotonic() + 60
        # readiness of the data, not a guessed sleep: two scrapes make rate() and the panels non-empty
        while time.monotonic() < deadline and _scrapes(client) < 3:
            time.sleep(0.2)
        yield client


def _scrapes(client: PrometheusClient) -> float:
    frame = client.query("count_over_time(up[1m])")
    return 0.0 if frame.empty else float(frame["value"].max())


@pytest.mark.interop
def test_prometheus_dashboard_renders_from_a_real_prometheus(real_prometheus):
    data = fetch(shipped("prometheus"), real_prometheus, "now-5m", scrape_interval="1s")
    assert data.selected == {"job": ["$__all"]} and data.options == {"job": ["prometheus"]}
    errors = [r.error for p in data.panels for r in p.results if r.error]
    assert errors == []
    fig = render(shipped("prometheus"), data=data)
    axes = {ax.get_title(loc="left"): ax for ax in fig.axes if (ax.get_gid() or "").startswith("panel:")}
    assert [t.get_text() for t in axes["Up by job"].get_legend().get_texts()] == ["prometheus"]
    assert len(axes["Head series"].lines) == 1  # upstream's self-metric names match ours
    assert len(axes["Rule evaluation duration (p99)"].lines) == 1
