"""The live webhook transport honours each webhook's http_config: auth, TLS, redirects."""

from __future__ import annotations

import asyncio
import base64
import ssl
import subprocess

import pytest
from aiohttp import web

from stack.alertmanager import Alertmanager, parse_config
from stack.clock import WallClock
from tests.support import free_port, require_binary


class Receiver:
    """A real webhook endpoint: /hook records; /old redirects there (307 keeps the POST)."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.got = asyncio.Event()
        self.runner = None

    async def hook(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.headers)))
        await request.read()
        self.got.set()
        return web.Response(status=200)

    async def old(self, request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/hook")

    async def start(self, port: int, ssl_context=None) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        app.router.add_post("/old", self.old)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port, ssl_context=ssl_context).start()

    async def stop(self) -> None:
        await self.runner.cleanup()


async def deliver(url: str, http_config: str, receiver: Receiver,
                  expect_failure: bool = False) -> Alertmanager:
    cfg = parse_config(f"""
route: {{receiver: r, group_wait: 0s, group_interval: 1m}}
receivers:
  - name: r
    webhook_configs:
      - url: '{url}'
        http_config: {http_config}
""")
    am = Alertmanager(cfg, clock=WallClock())
    await am.start()
    try:
        am.receive_alerts([{"labels": {"alertname": "Http"}}])
        if expect_failure:
            failed = am.metrics.requests_failed.labels("webhook")
            while failed._value.get() < 1:
                await asyncio.sleep(0.05)
        else:
            await asyncio.wait_for(receiver.got.wait(), 30)
    finally:
        await am.stop()
    return am


async def test_basic_auth_header_is_sent(port):
    rec = Receiver()
    await rec.start(port)
    try:
        await deliver(f"http://127.0.0.1:{port}/hook", "{basic_auth: {username: am, password: pw}}", rec)
    finally:
        await rec.stop()
    assert rec.requests[0][1]["Authorization"] == "Basic " + base64.b64encode(b"am:pw").decode()
    assert rec.requests[0][1]["User-Agent"].startswith("Alertmanager/")


async def test_redirects_are_followed_unless_follow_redirects_is_false(port):
    rec = Receiver()
    await rec.start(port)
    try:
        await deliver(f"http://127.0.0.1:{port}/old", "{follow_redirects: true}", rec)
        assert [p for p, _ in rec.requests] == ["/hook"]
        rec.requests.clear()
        am = await deliver(f"http://127.0.0.1:{port}/old", "{follow_redirects: false}", rec,
                           expect_failure=True)
        assert rec.requests == []
        assert am.metrics.notifications_failed.labels("webhook", "other")._value.get() == 1
    finally:
        await rec.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    openssl = require_binary("openssl")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return d / "cert.pem", d / "key.pem"


@pytest.mark.parametrize("tls", ["ca_file", "insecure_skip_verify"])
async def test_https_receiver_with_a_private_ca_or_without_verification(certificate, tls):
    cert, key = certificate
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    port = free_port()
    rec = Receiver()
    await rec.start(port, ctx)
    option = f"{{ca_file: '{cert}'}}" if tls == "ca_file" else "{insecure_skip_verify: true}"
    try:
        await deliver(f"https://127.0.0.1:{port}/hook", f"{{tls_config: {option}}}", rec)
    finally:
        await rec.stop()
    assert [p for p, _ in rec.requests] == ["/hook"]


async def test_https_receiver_with_an_unknown_certificate_fails(certificate):
    cert, key = certificate
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    port = free_port()
    rec = Receiver()
    await rec.start(port, ctx)
    try:
        await deliver(f"https://127.0.0.1:{port}/hook", "{follow_redirects: true}", rec, expect_failure=True)
    finally:
        await rec.stop()
    assert rec.requests == []
