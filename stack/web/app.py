"""The Prometheus server's web application: API v1, federation, remote write, lifecycle and pages.

``create_app(server)`` is the one entry point ``stack.prometheus`` uses. The routes mirror upstream's
``web/web.go`` so that anything written for a real Prometheus (Grafana, prometheus-api-client, the
workshop client, curl lines from the docs) works unchanged, including the edges clients depend
on: GET-only endpoints answer POST with 405 so Grafana falls back to GET, every API error is a JSON
envelope with an ``errorType``, and CORS headers are set so a browser page on another port can
query us.

Lifecycle (/-/reload, /-/quit) and the admin API are refused unless their flags were given, as
upstream does: both let any local user change or stop the server.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path

from aiohttp import web

from stack.web import pages
from stack.web.api import API, METHOD_NOT_ALLOWED, NOT_FOUND, flag
from stack.web.federate import federate_handler
from stack.web.params import Params
from stack.web.write_receiver import remote_write_handler

STATIC_DIR = Path(__file__).parent / "static"
JSON = "application/json"

# Upstream util/httputil/cors.go: the headers a browser needs to call the API from another origin.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type, Origin",
    "Access-Control-Expose-Headers": "Date",
}
# Upstream's refusals when a flag is off (web/web.go and web/api/v1/api.go).
LIFECYCLE_DISABLED = "Lifecycle API is not enabled."
REMOTE_WRITE_DISABLED = "remote write receiver needs to be enabled with --web.enable-remote-write-receiver"

SERVER_KEY = web.AppKey("server", object)


def create_app(server) -> web.Application:
    """Build the aiohttp application that serves ``server`` (a ``stack.prometheus.PrometheusServer``)."""
    middlewares = [_cors_and_router_errors]
    registry = getattr(server, "registry", None)
    if registry is not None:
        middlewares.insert(0, _instrument(registry))
    app = web.Application(middlewares=middlewares, client_max_size=32 * 1024 * 1024)
    app[SERVER_KEY] = server
    api = API(server)

    async def _close(_app):
        api.close()

    app.on_cleanup.append(_close)
    r = app.router
    for methods, path, handler in api.routes:
        for method in methods:
            r.add_route(method, path, _endpoint(api, handler))
    r.add_post("/api/v1/write", remote_write_handler)

    r.add_get("/federate", federate_handler)
    r.add_get("/metrics", _metrics)
    r.add_get("/-/healthy", _text("Prometheus Server is Healthy.\n"))
    r.add_get("/-/ready", _text("Prometheus Server is Ready.\n"))
    for method in ("POST", "PUT"):
        r.add_route(method, "/-/reload", _reload)
        r.add_route(method, "/-/quit", _quit)
    pages.add_routes(r, STATIC_DIR)
    return app


def _endpoint(api: API, handler):
    """An aiohttp handler for one API route: parameters from URL and form body, the shared envelope."""

    async def endpoint(request: web.Request) -> web.Response:
        params = await Params.of(request)
        status, body = await api.call(handler, params, **request.match_info)
        if body is None:
            return web.Response(status=status)
        return web.Response(status=status, text=body, content_type=JSON)

    endpoint.__name__ = getattr(handler, "__name__", "endpoint")
    return endpoint


@web.middleware
async def _cors_and_router_errors(request: web.Request, handler):
    """CORS on every API response; OPTIONS answered 204; router 404/405 as upstream's plain text."""
    is_api = request.path.startswith("/api/")
    if request.method == "OPTIONS" and is_api:
        resp = web.Response(status=204)
    else:
        try:
            resp = await handler(request)
        except web.HTTPMethodNotAllowed as e:
            allow = ", ".join(sorted(e.allowed_methods - {"HEAD"}) + ["OPTIONS"])
            resp = web.Response(status=405, text=METHOD_NOT_ALLOWED, headers={"Allow": allow})
        except web.HTTPNotFound:
            resp = web.Response(status=404, text=NOT_FOUND)
    if is_api:
        if request.headers.get("Origin"):
            resp.headers.update(CORS_HEADERS)
        resp.headers["Vary"] = "Origin"
    return resp


_HTTP_METRICS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _instrument(registry):
    """Upstream's own HTTP metrics, by route (``handler``) and status code, in the server's registry."""
    from prometheus_client import Counter, Histogram

    if registry not in _HTTP_METRICS:  # one set per registry, however often the app is rebuilt
        _HTTP_METRICS[registry] = (
            Counter("prometheus_http_requests", "Counter of HTTP requests.", ["code", "handler"],
                    registry=registry),
            Histogram("prometheus_http_request_duration_seconds", "Histogram of latencies for HTTP requests.",
                      ["handler"], registry=registry,
                      buckets=(0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120)),  # upstream's buckets
        )
    requests, durations = _HTTP_METRICS[registry]

    @web.middleware
    async def middleware(request: web.Request, handler):
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "other"
        started = time.perf_counter()
        status = 500
        try:
            resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as e:  # redirects and router errors travel as exceptions
            status = e.status
            raise
        finally:
            durations.labels(name).observe(time.perf_counter() - started)
            requests.labels(str(status), name).inc()

    return middleware


def _text(body: str):
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(text=body)

    return handler


async def _metrics(request: web.Request) -> web.Response:
    """The server's own metrics, so the stack can scrape itself (job "prometheus")."""
    from prometheus_client import REGISTRY, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    registry = getattr(request.app[SERVER_KEY], "registry", None) or REGISTRY
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _reload(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    if not flag(server, "web.enable-lifecycle"):
        return web.Response(status=403, text=LIFECYCLE_DISABLED)
    try:
        result = server.reload()
        if hasattr(result, "__await__"):
            await result
    except Exception as e:  # noqa: BLE001 - the old config stays; the user sees why
        return web.Response(status=500, text=f"failed to reload config: {e}\n")
    return web.Response(text="")


async def _quit(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    if not flag(server, "web.enable-lifecycle"):
        return web.Response(status=403, text=LIFECYCLE_DISABLED)
    server.request_shutdown()
    return web.Response(text="Requesting termination... Goodbye!")


__all__ = ["create_app", "REMOTE_WRITE_DISABLED", "SERVER_KEY"]
