"""A one-page view of the Alertmanager at ``/``: groups with their alerts, and silences.

Upstream ships a single-page Elm app; in a workshop the questions are simpler ("did my alert
arrive, which group is it in, is it silenced or inhibited?"), so this is a server-rendered table
that refreshes itself, with no build step and no JavaScript. Everything shown comes from the same
functions the API uses.
"""

from __future__ import annotations

import html

from aiohttp import web

from stack.alertmanager.alerts import format_api_time
from stack.alertmanager.dispatch import alert_sort_key

REFRESH_SECONDS = 5


def render(am) -> str:
    now = am.clock.now()
    rows = []
    for g in am.dispatcher.sorted_groups():
        for a in sorted(g.alerts.values(), key=alert_sort_key):
            if a.resolved(now):
                continue
            st = am.alert_status(a, now)
            why = ", ".join([*(f"silenced by {s}" for s in st["silencedBy"]),
                             *(f"inhibited by {f}" for f in st["inhibitedBy"]),
                             *(f"muted by {m}" for m in st["mutedBy"])])
            rows.append(_row([g.route.receiver, _labels(g.labels.to_dict()), _labels(a.labels.to_dict()),
                              a.annotations.get("summary", ""), format_api_time(a.starts_at),
                              st["state"] + (f" ({why})" if why else "")]))
    silences = [_row([s.id, s.state(now), ", ".join(str(m) for m in s.matchers), format_api_time(s.ends_at),
                      s.created_by, s.comment]) for s in am.silences.query()]
    alerts_table = _table(["receiver", "group", "alert labels", "summary", "since", "state"], rows,
                          "no active alerts")
    silences_table = _table(["id", "state", "matchers", "ends", "created by", "comment"], silences,
                            "no silences")
    return (f'<!doctype html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}"><title>Alertmanager</title></head>'
            f'<body style="font-family:sans-serif"><h1>Alertmanager</h1>'
            f"<p>Alerts by aggregation group; this page refreshes every {REFRESH_SECONDS} s. "
            f'API: <a href="/api/v2/alerts/groups">/api/v2/alerts/groups</a>, '
            f'<a href="/api/v2/status">/api/v2/status</a>, <a href="/metrics">/metrics</a>.</p>'
            f"<h2>Alerts</h2>{alerts_table}<h2>Silences</h2>{silences_table}</body></html>")


async def page(request: web.Request) -> web.Response:
    from stack.alertmanager.api import AM_KEY

    return web.Response(text=render(request.app[AM_KEY]), content_type="text/html")


def _labels(d: dict) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in d.items()) + "}"


def _row(cells: list[str]) -> str:
    return "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"


def _table(head: list[str], rows: list[str], empty: str) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(rows) or f'<tr><td colspan="{len(head)}">{empty}</td></tr>'
    return f'<table border="1" cellpadding="4" style="border-collapse:collapse"><tr>{th}</tr>{body}</table>'
