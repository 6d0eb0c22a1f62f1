"""HTTP API v1 as one table of routes, and the response envelope every endpoint shares.

The table is declared once and used twice: ``app.py`` mounts it on aiohttp for real HTTP, and
:meth:`API.request` answers the same requests in-process. Simulations need the second: on a
virtual clock the server runs inside a paused event loop with no listener, and notebooks still
want ``query_range(...)`` to return exactly what the HTTP API would (the workshop client's
in-process transport calls this). Only the transport differs; parsing, evaluation, errors and JSON
are the same code.
"""

from __future__ import annotations

import re

from multidict import MultiDict, MultiDictProxy

from stack.web.api_query import QueryAPI
from stack.web.api_status import StatusAPI
from stack.web.codec import dumps
from stack.web.params import ApiError, Params

GET_POST = ("GET", "POST")
GET = ("GET",)
WRITE = ("POST", "PUT")  # upstream registers the admin endpoints for both
ADMIN_DISABLED = "admin APIs disabled"  # upstream's refusal without --web.enable-admin-api

NOT_FOUND = "404 page not found\n"
METHOD_NOT_ALLOWED = "Method Not Allowed\n"


class API:
    """The endpoints of one server: ``routes`` is a list of (methods, path pattern, handler)."""

    def __init__(self, server):
        self.server = server
        self.queries = q = QueryAPI(server)
        self.status = s = StatusAPI(server)
        self.routes = [
            (GET_POST, "/api/v1/query", q.query),
            (GET_POST, "/api/v1/query_range", q.query_range),
            (GET_POST, "/api/v1/query_exemplars", q.query_exemplars),
            (GET_POST, "/api/v1/series", q.series),
            (GET_POST, "/api/v1/labels", q.labels),
            (GET_POST, "/api/v1/format_query", q.format_query),
            (GET_POST, "/api/v1/parse_query", s.parse_query),
            (GET, "/api/v1/label/{name}/values", q.label_values),
            (GET, "/api/v1/targets", s.targets),
            (GET, "/api/v1/targets/metadata", s.targets_metadata),
            (GET, "/api/v1/rules", s.rules),
            (GET, "/api/v1/alerts", s.alerts),
            (GET, "/api/v1/alertmanagers", s.alertmanagers),
            (GET, "/api/v1/metadata", s.metadata),
            (GET, "/api/v1/status/buildinfo", s.buildinfo),
            (GET, "/api/v1/status/config", s.config),
            (GET, "/api/v1/status/flags", s.flags),
            (GET, "/api/v1/status/runtimeinfo", s.runtimeinfo),
            (GET, "/api/v1/status/tsdb", s.tsdb),
            (WRITE, "/api/v1/admin/tsdb/delete_series", self._admin(s.delete_series)),
            (WRITE, "/api/v1/admin/tsdb/clean_tombstones", self._admin(s.clean_tombstones)),
        ]
        self._patterns = [(methods, _compile(path), handler) for methods, path, handler in self.routes]

    def close(self) -> None:
        self.queries.close()

    async def call(self, handler, params: Params, **path_params: str) -> tuple[int, str | None]:
        """Run one handler and wrap its answer: ``(HTTP status, JSON text or None for 204)``."""
        try:
            data, warnings, *infos = await handler(params, **path_params)
        except ApiError as e:
            return e.status, dumps({"status": "error", "errorType": e.error_type, "error": e.message})
        if data is None:
            return 204, None
        body = '{"status":"success","data":' + data
        if warnings:
            body += ',"warnings":' + dumps(warnings)
        if infos and infos[0]:
            body += ',"infos":' + dumps(infos[0])
        return 200, body + "}"

    async def request(self, method: str, path: str, params=()) -> tuple[int, str | None]:
        """In-process: what ``method path`` with these (name, value) parameters answers over HTTP."""
        allowed: list[str] = []
        for methods, pattern, handler in self._patterns:
            m = pattern.fullmatch(path)
            if m is None:
                continue
            if method not in methods:
                allowed += methods
                continue
            return await self.call(handler, Params(MultiDictProxy(MultiDict(list(params)))), **m.groupdict())
        return (405, METHOD_NOT_ALLOWED) if allowed else (404, NOT_FOUND)

    def _admin(self, handler):
        async def guarded(p: Params):
            if not flag(self.server, "web.enable-admin-api"):
                raise ApiError("unavailable", ADMIN_DISABLED)
            return await handler(p)

        return guarded


def flag(server, name: str) -> bool:
    """A boolean command-line flag of the server (``server.flags`` holds them as upstream prints them)."""
    value = (getattr(server, "flags", None) or {}).get(name)
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _compile(path: str) -> re.Pattern:
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)))
