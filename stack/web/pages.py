"""The web pages people who know the Prometheus UI expect: /graph, /targets, /alerts, /rules, /status.

Plain HTML and one small script, served as files: no build step and no CDN, so the pages work on a
laptop without internet and a reader can open them and see how they call the HTTP API. Every page
is a client of the same API v1 that Grafana uses, so what the page shows is what the API answers.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

# Page path -> file under static/. Upstream serves the same paths (plus /classic/... on 2.x).
PAGES = {
    "/graph": "graph.html",
    "/query": "graph.html",
    "/targets": "targets.html",
    "/alerts": "alerts.html",
    "/rules": "rules.html",
    "/status": "status.html",
}


def add_routes(router: web.UrlDispatcher, static_dir: Path) -> None:
    for path, filename in PAGES.items():
        router.add_get(path, _file(static_dir / filename))
    router.add_get("/", _redirect_to_graph)
    router.add_static("/static/", static_dir, show_index=False)


def _file(path: Path):
    async def handler(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


async def _redirect_to_graph(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/graph")
