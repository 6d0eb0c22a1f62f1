import asyncio
import gzip

import pytest
from aiohttp import web

from stack.scrape.transport import HttpTransport


@pytest.fixture
async def exporter(port):
    """A real HTTP exporter on a free port; routes set per test."""
    state = {"release": asyncio.Event()}

    async def metrics(request):
        return web.Response(body=b"x 1\n", headers={"Content-Type": "text/plain; version=0.0.4"})

    async def gz(request):
        state["accept_encoding"] = request.headers.get("Accept-Encoding")
        body = gzip.compress(b"y 2\n" * 1000)
        return web.Response(body=body, headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"})

    async def big(request):
        return web.Response(body=b"z 1\n" * 10_000, headers={"Content-Type": "text/plain"})

    async def fail(request):
        return web.Response(status=503, text="no")

    async def hang(request):
        await state["release"].wait()
        return web.Response(text="late")

    app = web.Application()
    for path, h in (("/metrics", metrics), ("/gz", gz), ("/big", big), ("/fail", fail), ("/hang", hang)):
        app.router.add_get(path, h)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    transport = HttpTransport()
    try:
        yield f"http://127.0.0.1:{port}", transport, state
    finally:
        state["release"].set()
        await transport.close()
        await runner.cleanup()


async def test_fetches_body_and_content_type(exporter):
    base, tr, _ = exporter
    r = await tr.fetch(f"{base}/metrics", {}, 5, 0)
    assert (r.status, r.body, r.error) == (200, b"x 1\n", None)
    assert r.content_type.startswith("text/plain")


async def test_gzip_bodies_are_inflated(exporter):
    base, tr, state = exporter
    r = await tr.fetch(f"{base}/gz", {"Accept-Encoding": "gzip"}, 5, 0)
    assert r.body == b"y 2\n" * 1000 and state["accept_encoding"] == "gzip"


async def test_body_size_limit_applies_to_the_uncompressed_body(exporter):
    base, tr, _ = exporter
    r = await tr.fetch(f"{base}/gz", {"Accept-Encoding": "gzip"}, 5, 4000)
    assert r.error == "body size limit exceeded"
    r = await tr.fetch(f"{base}/big", {}, 5, 40_000)  # exactly the limit fails, as upstream
    assert r.error == "body size limit exceeded"
    r = await tr.fetch(f"{base}/big", {}, 5, 40_001)
    assert r.error is None and len(r.body) == 40_000


async def test_non_200_status_is_an_error(exporter):
    base, tr, _ = exporter
    r = await tr.fetch(f"{base}/fail", {}, 5, 0)
    assert r.error == "server returned HTTP status 503 Service Unavailable"


async def test_timeout_is_context_deadline_exceeded(exporter):
    base, tr, _ = exporter
    r = await tr.fetch(f"{base}/hang", {}, 0.2, 0)
    assert r.error == "context deadline exceeded"


async def test_closed_port_is_connection_refused():
    from tests.support import free_port

    p = free_port()
    tr = HttpTransport()
    try:
        r = await tr.fetch(f"http://127.0.0.1:{p}/metrics", {}, 2, 0)
    finally:
        await tr.close()
    assert (
        r.error == f'Get "http://127.0.0.1:{p}/metrics": dial tcp 127.0.0.1:{p}: connect: connection refused'
    )
