"""HTTP API v2 of the Alertmanager (upstream ``api/v2``), plus ``/-/healthy``, ``/-/ready``,
``/-/reload`` and ``/metrics``.

JSON shapes, status codes and error bodies follow upstream closely enough that the real
``amtool`` and Prometheus talk to us unchanged: schema errors answer 422 with
``{"code":…,"message":…}``, semantic errors 400 with a JSON string, as the real server's
OpenAPI layer does. Everything here is a thin translation onto :class:`Alertmanager` methods.
"""

from __future__ import annotations

import json
import platform
import uuid

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stack.alertmanager import matchers as m
from stack.alertmanager import ui
from stack.alertmanager.alerts import format_api_time, parse_time
from stack.alertmanager.dispatch import alert_sort_key
from stack.alertmanager.silence import SilenceError, SilenceNotFound
from stack.alertmanager.webhook import VERSION
from stack.config.yamlutil import ConfigError
from stack.model import RegexError, compile_anchored

AM_KEY = web.AppKey("alertmanager", object)
SILENCE_REQUIRED = ("matchers", "startsAt", "endsAt", "createdBy", "comment")


def make_app(am, enable_reload: bool = True) -> web.Application:
    app = web.Application()
    app[AM_KEY] = am
    r = app.router
    r.add_post("/api/v2/alerts", post_alerts)
    r.add_get("/api/v2/alerts", get_alerts)
    r.add_get("/api/v2/alerts/groups", get_groups)
    r.add_get("/api/v2/silences", get_silences)
    r.add_post("/api/v2/silences", post_silence)
    r.add_get("/api/v2/silence/{id}", get_silence)
    r.add_delete("/api/v2/silence/{id}", delete_silence)
    r.add_get("/api/v2/status", get_status)
    r.add_get("/api/v2/receivers", get_receivers)
    r.add_get("/-/healthy", ok)
    r.add_get("/-/ready", ok)
    if enable_reload:
        r.add_post("/-/reload", reload)
    r.add_get("/metrics", metrics)
    r.add_get("/", ui.page)
    return app


def _json(data, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def _schema_error(code: int, message: str, status: int = 422) -> web.Response:
    return _json({"code": code, "message": message}, status)


class _BadParam(Exception):
    pass


def _bool(request: web.Request, name: str, default: bool = True) -> bool:
    v = request.query.get(name)
    if v is None:
        return default
    if v not in ("true", "false"):
        raise _BadParam(f'{name} in query must be of type boolean: "{v}"')
    return v == "true"


def _filters(request: web.Request) -> list:
    out = []
    for text in request.query.getall("filter", []):
        try:
            out += m.parse_matchers(text)
        except ValueError as e:
            raise _BadParam(f"bad matcher format: {e}") from None
    return out


def _receiver_regex(request: web.Request):
    text = request.query.get("receiver")
    if not text:
        return None
    try:
        return compile_anchored(text)
    except RegexError as e:
        raise _BadParam(str(e)) from None


def gettable_alert(am, a, now: float) -> dict:
    d = {"labels": a.labels.to_dict(), "annotations": dict(a.annotations),
         "startsAt": format_api_time(a.starts_at), "endsAt": format_api_time(a.ends_at),
         "updatedAt": format_api_time(a.updated_at), "fingerprint": a.fingerprint,
         # one entry per matching route, duplicates included, as upstream's API lists them
         "receivers": [{"name": r.receiver} for r in am.config.route.match(a.labels)],
         "status": am.alert_status(a, now)}
    if a.generator_url:
        d["generatorURL"] = a.generator_url
    return d


def _passes(request, state: dict, muted_param: bool = True) -> bool:
    silenced, inhibited, muted = state["silencedBy"], state["inhibitedBy"], state["mutedBy"]
    if not _bool(request, "silenced") and silenced:
        return False
    if not _bool(request, "inhibited") and inhibited:
        return False
    if muted_param and not _bool(request, "muted") and muted:
        return False
    return _bool(request, "active") or state["state"] != "active"


# --- alerts ------------------------------------------------------------------------------------------

async def post_alerts(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    try:
        body = await request.json()
    except ValueError as e:
        return _schema_error(400, f"parsing alerts body from \"\" failed, because {e}", 400)
    if not isinstance(body, list):
        return _schema_error(400, "parsing alerts body failed: expected a JSON array", 400)
    for i, a in enumerate(body):
        if not isinstance(a, dict) or not isinstance(a.get("labels"), dict):
            return _schema_error(602, f"{i}.labels in body is required")
        for key in ("startsAt", "endsAt"):
            if a.get(key):
                try:
                    parse_time(str(a[key]))
                except ValueError:
                    return _schema_error(400, f'parsing alerts body from "" failed, because {key} '
                                              f'"{a[key]}" is not a valid RFC 3339 date-time', 400)
    errors = am.receive_alerts(body)
    if errors:
        return _json("\n".join(errors), 400)
    return web.Response(status=200)


async def get_alerts(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    now = am.clock.now()
    try:
        filters, receiver_re = _filters(request), _receiver_regex(request)
        out = []
        for a in sorted(am.alerts.firing(now), key=lambda a: a.fingerprint):
            if not m.matches(filters, a.labels):
                continue
            if receiver_re and not any(receiver_re.match(r) for r in am.receivers_for(a.labels)):
                continue
            g = gettable_alert(am, a, now)
            if _passes(request, g["status"], muted_param=False):
                out.append(g)
    except _BadParam as e:
        return _json(str(e), 400)
    return _json(out)


async def get_groups(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    now = am.clock.now()
    try:
        filters, receiver_re = _filters(request), _receiver_regex(request)
        out = []
        for g in am.dispatcher.sorted_groups():
            if receiver_re and not receiver_re.match(g.route.receiver):
                continue
            alerts = []
            for a in sorted(g.alerts.values(), key=alert_sort_key):
                if a.resolved(now) or not m.matches(filters, a.labels):
                    continue
                ga = gettable_alert(am, a, now)
                if _passes(request, ga["status"]):
                    alerts.append(ga)
            if alerts:
                out.append({"labels": g.labels.to_dict(), "routeLabels": {},
                            "receiver": {"name": g.route.receiver}, "alerts": alerts})
    except _BadParam as e:
        return _json(str(e), 400)
    return _json(out)


# --- silences -----------------------------------------------------------------------------------------

async def get_silences(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    try:
        filters = _filters(request)
        states = {s for s in ("active", "pending", "expired") if _bool(request, s)}
    except _BadParam as e:
        return _json(str(e), 400)
    now = am.clock.now()
    return _json([s.to_api(now) for s in am.silences.query(filters, states)])


async def post_silence(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    try:
        body = await request.json()
    except ValueError as e:
        return _schema_error(400, f"parsing silence body failed: {e}", 400)
    if not isinstance(body, dict):
        return _schema_error(400, "parsing silence body failed: expected a JSON object", 400)
    for key in SILENCE_REQUIRED:
        if body.get(key) is None:
            return _schema_error(602, f"{key} in body is required")
    if not isinstance(body["matchers"], list) or not body["matchers"]:
        return _schema_error(612, "matchers in body should have at least 1 items")
    for i, x in enumerate(body["matchers"]):
        for key in ("name", "value", "isRegex"):
            if not isinstance(x, dict) or x.get(key) is None:
                return _schema_error(602, f"matchers.{i}.{key} in body is required")
    try:
        starts, ends = parse_time(str(body["startsAt"])), parse_time(str(body["endsAt"]))
    except ValueError as e:
        return _schema_error(400, f"parsing silence body failed: {e}", 400)
    try:
        matchers = [m.matcher_from_api(x) for x in body["matchers"]]
        sid = am.silences.set(matchers, starts, ends, str(body["createdBy"]), str(body["comment"]),
                              body.get("id") or None, body.get("annotations"))
    except SilenceNotFound:
        return _json(f"silence not found: {body.get('id')}", 404)
    except (SilenceError, ValueError) as e:
        return _json(f"invalid silence: {e}", 400)
    return _json({"silenceID": sid})


def _silence_id(request: web.Request) -> str | web.Response:
    sid = request.match_info["id"]
    try:
        uuid.UUID(sid)
    except ValueError:
        return _schema_error(601, f'silenceID in path must be of type uuid: "{sid}"')
    return sid


async def get_silence(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    sid = _silence_id(request)
    if isinstance(sid, web.Response):
        return sid
    try:
        return _json(am.silences.get(sid).to_api(am.clock.now()))
    except SilenceNotFound:
        return web.Response(status=404)


async def delete_silence(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    sid = _silence_id(request)
    if isinstance(sid, web.Response):
        return sid
    try:
        am.silences.expire(sid)
    except SilenceNotFound:
        return web.Response(status=404)
    return web.Response(status=200)


# --- status and lifecycle ------------------------------------------------------------------------------

async def get_status(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    return _json({
        "cluster": {"status": "disabled", "peers": []},
        "versionInfo": {"version": VERSION, "revision": "prometheus-workshop-kit", "branch": "workshop",
                        "buildUser": "workshop", "buildDate": "",
                        "goVersion": f"python{platform.python_version()}"},
        "config": {"original": am.config.original},
        "uptime": format_api_time(am.started_at),
        # ours: integrations that are accepted but not delivered, and other load-time warnings
        "warnings": list(am.config.warnings),
    })


async def get_receivers(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    return _json([{"name": n} for n in am.config.receivers])


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def reload(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    try:
        am.reload()
    except ConfigError as e:
        return web.Response(text=f"failed to reload config: {e}\n", status=500)
    return web.Response(status=200)


async def metrics(request: web.Request) -> web.Response:
    am = request.app[AM_KEY]
    return web.Response(body=generate_latest(am.metrics.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})
