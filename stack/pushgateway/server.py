"""The Pushgateway's HTTP face: the push API, /metrics for Prometheus, the JSON API and a status page.

Everything that decides what a push does lives in :mod:`stack.pushgateway.store`; this module only
turns requests into calls on it (and answers with upstream's status codes and messages), so a
simulation can push in-process with :meth:`Pushgateway.push` and get the same result as over HTTP.

Writes are applied synchronously in the event loop, in arrival order, which is what upstream's
single write queue guarantees (a DELETE followed by a PUT is applied in that order).
"""

from __future__ import annotations

import asyncio
import gzip
import html
import logging
import platform
import re
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector

import stack.pushgateway.persistence as persistence
from stack.clock import Clock, WallClock, cancel_and_wait
from stack.exposition import (
    CONTENT_TYPE_TEXT,
    Metric,
    MetricFamily,
    ParseError,
    collect_families,
    format_labels,
    parse_openmetrics,
    parse_text,
    render_text,
)
from stack.pushgateway.api import groups_json, rfc3339
from stack.pushgateway.grouping import GroupingKeyError, grouping_path, parse_grouping_path
from stack.pushgateway.store import PUSH_FAILURE_TIME, PUSH_TIME, MetricStore, PushError

log = logging.getLogger(__name__)

VERSION = "0.1.0"
DEFAULT_PORT = 9091  # upstream's default listen port
DEFAULT_PERSISTENCE_INTERVAL = 300.0  # upstream --persistence.interval default: 5m
PROTOBUF_CONTENT_TYPE = "application/vnd.google.protobuf"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text"
MAX_BODY_BYTES = 64 << 20
# CORS and caching headers upstream sends on every /api/v1 response (spec §7).
API_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type, Origin",
    "Access-Control-Expose-Headers": "Date",
    "Cache-Control": "no-cache, no-store, must-revalidate",
}

# handler label of pushgateway_http_requests_total for routes whose path is not self-explanatory
_HANDLER_NAMES = {"/metrics/{tail}": "push", "/api/v1/{tail}": "api/v1/options", "/": "status"}


class Pushgateway:
    """A Pushgateway: ``await start()`` serves HTTP on ``host:port``; ``push``/``delete`` work in-process
    with or without the server running. ``port=0`` picks a free port (see :attr:`url`)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        clock: Clock | None = None,
        persistence_file: str | Path | None = None,
        persistence_interval: float = DEFAULT_PERSISTENCE_INTERVAL,
        enable_admin_api: bool = False,
        enable_lifecycle: bool = False,
        flags: Mapping[str, str] | None = None,
        process_metrics: bool = True,
    ):
        self.host, self.port = host, port
        self.clock = clock or WallClock()
        self.persistence_file = Path(persistence_file) if persistence_file else None
        self.persistence_interval = persistence_interval
        self.enable_admin_api = enable_admin_api
        self.enable_lifecycle = enable_lifecycle
        self.flags = dict(flags) if flags is not None else self._default_flags()
        self.quit_requested = asyncio.Event()
        self.start_time = self.clock.now()
        self._dirty = asyncio.Event()
        self.store = MetricStore(self.clock, own_families=self.own_families, on_change=self._dirty.set)
        self._registry = CollectorRegistry(auto_describe=True)
        if process_metrics:  # a simulation leaves them out: this Python process's figures would not repeat
            ProcessCollector(registry=self._registry)
        self._requests: dict[tuple[str, str, str], int] = {}
        self._runner: web.AppRunner | None = None
        self._persister: asyncio.Task | None = None
        if self.persistence_file:
            try:
                n = persistence.load(self.store, self.persistence_file)
                log.info("restored %d groups from %s", n, self.persistence_file)
            except ValueError as e:
                log.error("%s; starting with an empty store", e)
        self._dirty.clear()

    # --- in-process API (used by the HTTP handlers and by simulations) --------------------
    def push(
        self,
        grouping: Mapping[str, str],
        body: bytes | str,
        method: str = "PUT",
        content_type: str = "",
        content_encoding: str = "",
    ) -> None:
        """Push an exposition body to a group: ``method`` PUT replaces the group, POST only the
        families in the body. Raises :class:`PushError` (with the HTTP status) when refused."""
        if method not in ("PUT", "POST"):
            raise ValueError(f"push method must be PUT or POST, not {method!r}")
        families = decode_body(body, content_type, content_encoding)
        self.store.push(grouping, families, replace_all=method == "PUT")

    def push_families(self, grouping: Mapping[str, str], families: list[MetricFamily], method="PUT") -> None:
        self.store.push(grouping, families, replace_all=method == "PUT")

    def delete(self, grouping: Mapping[str, str]) -> None:
        self.store.delete(grouping)

    def metrics_text(self) -> str:
        """What GET /metrics serves."""
        return render_text(self.store.families())

    def own_families(self) -> list[MetricFamily]:
        own = collect_families(self._registry)
        own.append(MetricFamily(
            "pushgateway_build_info", "gauge",
            "A metric with a constant '1' value labeled by version and the Python version it runs on.",
            [Metric({"version": VERSION, "pythonversion": platform.python_version()}, 1.0)],
        ))
        requests = MetricFamily("pushgateway_http_requests_total", "counter",
                                "Total HTTP requests processed by the Pushgateway.")
        for (code, handler, method), n in sorted(self._requests.items()):
            requests.metrics.append(Metric({"code": code, "handler": handler, "method": method}, float(n)))
        own.append(requests)  # even when empty: its type must be known to the consistency check
        return own

    # --- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host or '127.0.0.1'}:{self.port}"

    async def start(self) -> None:
        # auto_decompress off: we decompress ourselves so that a broken gzip body is a clear 400.
        self._runner = web.AppRunner(self.make_app(), access_log=None, auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host or None, self.port)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        if self.persistence_file:
            self._persister = asyncio.create_task(self._persist_loop())
        log.info("pushgateway listening on %s", self.url)

    async def stop(self) -> None:
        await cancel_and_wait(self._persister)
        self._persister = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None
        if self.persistence_file:
            self.save()

    def save(self) -> None:
        if self.persistence_file:
            persistence.save(self.store, self.persistence_file)
            self._dirty.clear()

    async def _persist_loop(self) -> None:
        # At most one write per interval after a change (upstream checkpoints the same way).
        while True:
            await self._dirty.wait()
            await self.clock.sleep(self.persistence_interval)
            try:
                self.save()
            except OSError as e:
                log.error("could not persist metrics to %s: %s", self.persistence_file, e)

    # --- HTTP ----------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._count_requests])
        r = app.router
        r.add_route("*", "/metrics/{tail:.*}", self._handle_push)
        r.add_get("/metrics", self._handle_metrics)
        r.add_get("/api/v1/metrics", self._handle_api_metrics)
        r.add_get("/api/v1/status", self._handle_api_status)
        if self.enable_admin_api:
            r.add_put("/api/v1/admin/wipe", self._handle_wipe)
        r.add_route("*", "/api/v1/{tail:.*}", self._handle_api_other)
        r.add_get("/-/healthy", self._handle_ok)
        r.add_get("/-/ready", self._handle_ok)
        r.add_route("*", "/-/quit", self._handle_quit)
        r.add_get("/", self._handle_status_page)
        r.add_get("/status", self._handle_status_page)
        return app

    @web.middleware
    async def _count_requests(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        try:
            response = await handler(request)
            code = response.status
        except web.HTTPException as e:
            code = e.status
            raise
        finally:
            resource = request.match_info.route.resource
            if resource is not None:  # unrouted requests (404) are not counted, as upstream
                handler_name = _HANDLER_NAMES.get(resource.canonical, resource.canonical.lstrip("/"))
                key = (str(code), handler_name, request.method.lower())
                self._requests[key] = self._requests.get(key, 0) + 1
        return response

    async def _handle_push(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        if "//" in raw_path:  # Go's mux answers with the cleaned path (spec §1)
            raise web.HTTPMovedPermanently(re.sub("/{2,}", "/", raw_path))
        rest = request.path[len("/metrics/"):]
        if rest == "job/":
            raise web.HTTPTemporaryRedirect("/metrics/job")
        segment, _, after = rest.partition("/")
        if segment not in ("job", "job@base64") or not _:
            raise web.HTTPNotFound()
        if request.method not in ("PUT", "POST", "DELETE"):
            raise web.HTTPMethodNotAllowed(request.method, ["PUT", "POST", "DELETE"])
        job, slash, labels = after.partition("/")
        try:
            grouping = parse_grouping_path(segment, job, slash + labels)
        except GroupingKeyError as e:
            return web.Response(status=400, text=str(e))
        if request.method == "DELETE":
            self.delete(grouping)
            return web.Response(status=202)
        body = await request.read()
        try:
            self.push(grouping, body, request.method, request.headers.get("Content-Type", ""),
                      request.headers.get("Content-Encoding", ""))
        except PushError as e:
            log.debug("push to %s refused: %s", grouping, e.message)
            return web.Response(status=e.status, text=e.message)
        return web.Response(status=200)

    async def _handle_metrics(self, request: web.Request) -> web.Response:
        body = self.metrics_text()
        return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE_TEXT})

    async def _handle_api_metrics(self, request: web.Request) -> web.Response:
        return _api_response(groups_json(self.store.sorted_groups()))

    async def _handle_api_status(self, request: web.Request) -> web.Response:
        return _api_response({
            "flags": self.flags,
            "start_time": rfc3339(self.start_time),
            "build_information": {
                "version": VERSION, "revision": "", "branch": "", "buildUser": "", "buildDate": "",
                "goVersion": "", "pythonVersion": platform.python_version(),
            },
        })

    async def _handle_wipe(self, request: web.Request) -> web.Response:
        self.store.wipe()
        return web.Response(status=202, headers=API_HEADERS)

    async def _handle_api_other(self, request: web.Request) -> web.Response:
        if request.method == "OPTIONS":  # CORS preflight: 200 on any API path
            return web.Response(status=200, headers=API_HEADERS)
        raise web.HTTPNotFound()

    async def _handle_ok(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def _handle_quit(self, request: web.Request) -> web.Response:
        if request.method not in ("PUT", "POST"):
            return web.Response(status=405, text="Only POST or PUT requests allowed.")
        if not self.enable_lifecycle:
            return web.Response(status=403, text="Lifecycle API is not enabled.")
        self.quit_requested.set()
        return web.Response(text="Requesting termination... Goodbye!")

    async def _handle_status_page(self, request: web.Request) -> web.Response:
        return web.Response(text=self.status_page(), content_type="text/html")

    def status_page(self) -> str:
        rows = []
        for g in self.store.sorted_groups():
            names = [n for n in sorted(g.families) if n not in (PUSH_TIME, PUSH_FAILURE_TIME)]
            pushed = g.gauge_value(PUSH_TIME) or 0.0
            ok = "yes" if g.last_push_successful else "<b>no</b>"
            rows.append(
                f"<tr><td><code>{html.escape(format_labels(g.labels))}</code></td>"
                f"<td>{html.escape(rfc3339(pushed)) if pushed else 'never'}</td><td>{ok}</td>"
                f"<td>{html.escape(', '.join(names)) or '&ndash;'}</td>"
                f"<td><code>{html.escape(grouping_path(g.labels))}</code></td></tr>"
            )
        table = "\n".join(rows) or '<tr><td colspan="5">No metrics pushed yet.</td></tr>'
        return (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Pushgateway</title></head><body>\n"
            f"<h1>Pushgateway</h1><p>{len(self.store.groups)} group(s). Metrics for Prometheus: "
            '<a href="metrics">/metrics</a>, as JSON: <a href="api/v1/metrics">/api/v1/metrics</a>.</p>\n'
            "<table border=\"1\" cellpadding=\"4\"><tr><th>grouping key</th><th>last push</th>"
            "<th>last push ok</th><th>metric families</th><th>push URL path</th></tr>\n"
            f"{table}\n</table></body></html>\n"
        )

    def _default_flags(self) -> dict[str, str]:
        return {
            "web.listen-address": f"{self.host}:{self.port}",
            "persistence.file": str(self.persistence_file or ""),
            "persistence.interval": f"{self.persistence_interval:g}s",
            "web.enable-admin-api": str(self.enable_admin_api).lower(),
            "web.enable-lifecycle": str(self.enable_lifecycle).lower(),
        }


def _api_response(data) -> web.Response:
    return web.json_response({"status": "success", "data": data}, headers=API_HEADERS)


def decode_body(body: bytes | str, content_type: str = "", content_encoding: str = "") -> list[MetricFamily]:
    """Push body -> metric families; bad bodies raise PushError with upstream's status."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    encoding = content_encoding.strip().lower()
    if encoding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as e:
            raise PushError(f"could not decompress the gzip request body: {e}") from None
    elif encoding == "snappy":
        import cramjam

        try:
            body = bytes(cramjam.snappy.decompress(body))  # framed format, as Go's snappy.NewReader
        except Exception as e:  # noqa: BLE001 - cramjam raises its own DecompressionError
            raise PushError(f"could not decompress the snappy request body: {e}") from None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == PROTOBUF_CONTENT_TYPE:
        raise PushError(
            "protobuf push bodies are not supported by this Pushgateway; "
            f"send the text format instead (Content-Type: {CONTENT_TYPE_TEXT})",
            status=415,
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PushError(f"request body is not valid UTF-8: {e}") from None
    try:
        if media_type == OPENMETRICS_CONTENT_TYPE:
            return parse_openmetrics(text)
        return parse_text(text)
    except ParseError as e:
        raise PushError(str(e)) from None
