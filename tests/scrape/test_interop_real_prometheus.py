"""Our scraper and Debian's real Prometheus (2.42) scrape the same exporter with the same config and
must store the same series: label merging (exported_, honor_labels), metric relabeling (hashmod,
labelmap, replace with Go templates), and the synthetic counts."""

import asyncio
import json
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from aiohttp import web

from stack.model import Matcher
from stack.prometheus import PrometheusServer
from stack.scrape.transport import HttpTransport
from tests.support import free_port, require_binary, stop_process, wait_http

EXPOSITION = (
    "# TYPE x gauge\n"
    'x{job="batch",path="/a b",code="200"} 1\n'
    'y{instance=""} 2\n'
    'z{job="b",exported_job="c"} 3\n'
    "go_gc_duration_seconds 4\n"
)
RELABEL = """
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'go_gc_.*', action: drop}
      - {source_labels: [__name__, code], action: hashmod, modulus: 7, target_label: shard}
      - {source_labels: [path], regex: '/(.*) (.*)', target_label: p2, replacement: '${2}_$1x${1}'}
      - {action: labelmap, regex: 'exported_(.*)', replacement: 'was_${1}'}
"""
NAMES = "x|y|z|go_gc_duration_seconds|scrape_samples_scraped|scrape_samples_post_metric_relabeling|up"


def config(exporter_port: int) -> str:
    target = f"static_configs: [{{targets: ['127.0.0.1:{exporter_port}'], labels: {{env: lab}}}}]"
    return (
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n"
        f"  - job_name: plain\n    {target}\n{RELABEL}"
        f"  - job_name: honored\n    honor_labels: true\n    {target}\n"
    )


@pytest.fixture
async def exporter(port):
    async def metrics(_r):
        return web.Response(
            text=EXPOSITION, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


def query_real(port: int, expr: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]["result"]


def normalise(rows):
    return sorted((tuple(sorted(labels.items())), value) for labels, value in rows)


@pytest.mark.interop
async def test_same_series_as_the_real_prometheus(tmp_path, exporter):
    exe = require_binary("prometheus")
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(config(exporter))
    real_port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={cfg}",
            f"--web.listen-address=127.0.0.1:{real_port}",
            f"--storage.tsdb.path={tmp_path / 'real-data'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ours = PrometheusServer(str(cfg), transport=HttpTransport(), listen_address=None)
    await ours.start()
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{real_port}/-/ready", 60)
        deadline = time.monotonic() + 60
        real = []
        while time.monotonic() < deadline:
            real = await asyncio.to_thread(query_real, real_port, f'{{__name__=~"{NAMES}"}}')
            if len([r for r in real if r["metric"]["__name__"] == "up"]) == 2:
                break
            await asyncio.sleep(0.2)
        real_rows = [(r["metric"], float(r["value"][1])) for r in real]
        mine = ours.tsdb.select([Matcher("=~", "__name__", NAMES)], 0, 2**62)
        our_rows = [(sd.labels.to_dict(), float(sd.v[-1])) for sd in mine]
        assert normalise(our_rows) == normalise(real_rows)
        assert any("shard" in labels for labels, _ in our_rows)
    finally:
        stop_process(proc, timeout=30)
        await ours.stop()
