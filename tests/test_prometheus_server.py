"""The Prometheus server live: real HTTP targets, the wall clock, and the `workshop prometheus` command."""

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from aiohttp import web

from stack.config.yamlutil import ConfigError
from stack.model import Matcher
from stack.prometheus import PrometheusServer, StartupError
from stack.scrape.transport import HttpTransport
from tests.support import free_port, wait_http


def config_text(target_port: int, interval: str = "200ms") -> str:
    return (
        f"global: {{scrape_interval: {interval}}}\n"
        "scrape_configs:\n  - job_name: app\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
    )


@pytest.fixture
async def target(port):
    """A real exporter over HTTP whose value the test can change."""
    state = {"value": 1}

    async def metrics(_request):
        return web.Response(
            text=f"# TYPE demo gauge\ndemo {state['value']}\n",
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port, state
    finally:
        await runner.cleanup()


async def poll(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


def values(server, name):
    out = server.tsdb.select([Matcher("=", "__name__", name)], 0, 2**62)
    return [float(v) for sd in out for v in sd.v]


async def test_server_scrapes_a_real_http_target_and_serves_health_and_metrics(tmp_path, target):
    target_port, state = target
    cfg = tmp_path / "prometheus.yml"
    web_port = free_port()
    cfg.write_text(
        config_text(target_port) + "  - job_name: prometheus\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{web_port}']}}]\n"
    )
    server = PrometheusServer(str(cfg), transport=HttpTransport(), listen_address=f"127.0.0.1:{web_port}")
    await server.start()
    try:
        await poll(lambda: 1.0 in values(server, "demo"))
        await poll(lambda: len(values(server, "prometheus_target_scrape_pool_targets")) > 0)  # scrapes itself
        state["value"] = 7
        await poll(lambda: 7.0 in values(server, "demo"))
        assert set(values(server, "up")) == {1.0}
        t, _self = sorted(server.scrape_manager.active_targets(), key=lambda t: t.scrape_pool)
        assert t.health == "up" and t.scrape_url == f"http://127.0.0.1:{target_port}/metrics"

        def get(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}{path}", timeout=5) as r:
                return r.read().decode()

        assert "Healthy" in await asyncio.to_thread(get, "/-/healthy")
        own = await asyncio.to_thread(get, "/metrics")
        assert 'prometheus_target_scrape_pool_targets{scrape_job="app"} 1.0' in own
        assert _self.health == "up" and _self.last_error == ""
        api = json.loads(await asyncio.to_thread(get, "/api/v1/targets"))["data"]["activeTargets"]
        app_target = next(a for a in api if a["scrapePool"] == "app")
        assert app_target["labels"] == {"instance": f"127.0.0.1:{target_port}", "job": "app"}
        assert app_target["discoveredLabels"]["__scrape_interval__"] == "200ms"
        assert app_target["health"] == "up" and app_target["scrapeInterval"] == "200ms"
        assert "prometheus_tsdb_head_series" in own
        assert server.flags["web.enable-lifecycle"] == "false"
    finally:
        await server.stop()


async def test_bad_reload_keeps_the_running_config_and_a_good_one_applies(tmp_path, target):
    target_port, _ = target
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(config_text(target_port))
    server = PrometheusServer(str(cfg), transport=HttpTransport(), listen_address=None)
    await server.start()
    try:
        before = server.config
        cfg.write_text(config_text(target_port) + "    scrape_intervall: 1s\n")
        with pytest.raises(ConfigError, match="prometheus.yml:5: field scrape_intervall not found"):
            await server.reload()
        assert server.config is before and server.reload_config_success is False
        assert server.metrics.config_last_reload_successful._value.get() == 0
        await poll(lambda: 1.0 in values(server, "up"))  # still scraping
        cfg.write_text(config_text(target_port).replace("job_name: app", "job_name: renamed"))
        await server.reload()
        assert [p for p in server.scrape_manager.pools] == ["renamed"] and server.reload_config_success
        seen = []
        server.reloaders.append(seen.append)
        await server.reload()
        assert seen == [server.config]
    finally:
        await server.stop()


async def test_port_in_use_is_a_clear_startup_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        server = PrometheusServer(listen_address=f"127.0.0.1:{busy}")
        with pytest.raises(StartupError, match=f"listen tcp 127.0.0.1:{busy}: bind: address already in use"):
            await server.start()
        await server.stop()


def workshop(*args, cwd):
    return [sys.executable, "-m", "workshop.cli", "prometheus", *args]


def test_cli_rejects_a_malformed_config_with_file_and_line(tmp_path):
    bad = tmp_path / "x.yml"
    bad.write_text("global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: a\n\n\n    foo: 1\n")
    res = subprocess.run(
        workshop(f"--config.file={bad}", "--web.listen-address", f"127.0.0.1:{free_port()}", cwd=tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert res.returncode == 1
    assert (
        f'error loading config from "{bad}": {bad}:7: field foo not found in type scrape_config' in res.stderr
    )
    assert "Traceback" not in res.stderr


def test_cli_port_in_use_names_the_address(tmp_path):
    (tmp_path / "p.yml").write_text("")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        res = subprocess.run(
            workshop("--config.file=p.yml", f"--web.listen-address=127.0.0.1:{busy}", cwd=tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert res.returncode == 1
    assert f"listen tcp 127.0.0.1:{busy}: bind: address already in use" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_serves_health_and_reloads_on_sighup(tmp_path):
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(config_text(free_port(), interval="5s"))
    port = free_port()
    proc = subprocess.Popen(
        workshop(
            "--config.file",
            str(cfg),
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.path",
            str(tmp_path / "data"),
            cwd=tmp_path,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/healthy")
        cfg.write_text("scrape_configs:\n  - job_name: a\n    bogus: 1\n")
        proc.send_signal(signal.SIGHUP)
        wait_http(f"http://127.0.0.1:{port}/metrics", ok=lambda status: status == 200)
        _wait_for_metric(port, "prometheus_config_last_reload_successful 0.0")
        cfg.write_text(config_text(free_port(), interval="5s"))
        proc.send_signal(signal.SIGHUP)
        _wait_for_metric(port, "prometheus_config_last_reload_successful 1.0")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "Error reloading config" in err and "field bogus not found in type scrape_config" in err
        assert err.count('msg="Completed loading of configuration file"') >= 2
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def _wait_for_metric(port: int, line: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
        if line in text:
            return
        time.sleep(0.05)
    raise AssertionError(f"{line!r} not in /metrics")


def test_server_runs_in_virtual_time_without_http():
    """What the notebook Simulation does: VirtualClock, in-process targets, no listener."""
    from stack.clock import VirtualClock
    from stack.config.prometheus import parse_config_text
    from stack.scrape import InProcessTransport, ScrapeResponse

    clock = VirtualClock(start=1_000_000.0)  # see tests/scrape/helpers.py for why not a 2020s epoch
    hits = []

    def toy(path, headers):
        hits.append(clock.now())
        return ScrapeResponse(200, "text/plain; version=0.0.4", f"requests_total {len(hits)}\n".encode())

    config = parse_config_text(
        "global: {scrape_interval: 10s}\nscrape_configs:\n  - job_name: toy\n"
        "    static_configs: [{targets: ['toy:8080']}]\n"
    )
    server = PrometheusServer(
        config=config, clock=clock, transport=InProcessTransport({"toy:8080": toy}), listen_address=None
    )
    try:
        clock.run(server.start())
        clock.advance(3600)
        assert len(hits) == 360
        result = server.engine.instant("increase(requests_total[10m])", clock.now_ms())
        assert [round(s.v) for s in result.samples] == [60]
        assert server.url is None
    finally:
        clock.run(server.stop())
        clock.close()


async def test_storage_directory_in_use_is_a_clear_startup_error(tmp_path):
    first = PrometheusServer(storage_path=str(tmp_path / "data"), listen_address=None)
    await first.start()
    try:
        second = PrometheusServer(storage_path=str(tmp_path / "data"), listen_address=None)
        with pytest.raises(StartupError, match="opening storage failed: .*in use by another process"):
            await second.start()
        await second.stop()
    finally:
        await first.stop()
