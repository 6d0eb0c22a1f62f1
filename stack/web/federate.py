"""GET /federate: the newest sample of every series matching ``match[]``, in the text format.

Another Prometheus scrapes this like any target (usually with ``honor_labels: true`` so the
series keep their own ``job``/``instance``). As upstream (web/federate.go): each series' last
sample within the lookback window is exported with its own timestamp, series whose last sample is
a stale marker are left out (they have ended), and the configured ``external_labels`` are added
where a series does not already carry the label, so the federating server can tell sources apart.
"""

from __future__ import annotations

from aiohttp import web

from stack.model import METRIC_NAME, Labels, is_stale_nan
from stack.web.api_query import parse_match_params
from stack.web.params import ApiError

# Upstream's default lookback delta (--query.lookback-delta): how far back "latest" may reach.
LOOKBACK_DELTA_MS = 300_000
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def federate_handler(request: web.Request) -> web.Response:
    from stack.web.app import SERVER_KEY

    server = request.app[SERVER_KEY]
    try:
        matcher_sets = parse_match_params(request.query.getall("match[]", []), prefix=True)
    except ApiError as e:
        return web.Response(status=400, text=e.message + "\n")
    now = server.clock.now_ms()
    lookback = int(getattr(server, "lookback_delta_ms", LOOKBACK_DELTA_MS) or LOOKBACK_DELTA_MS)
    latest: dict[Labels, tuple[int, float]] = {}
    for matchers in matcher_sets:
        for sd in server.tsdb.select(matchers, now - lookback, now):
            if len(sd.t) and not is_stale_nan(float(sd.v[-1])):
                latest[sd.labels] = (int(sd.t[-1]), float(sd.v[-1]))
    external = external_labels(server)
    lines: list[str] = []
    last_name = None
    for labels in sorted(latest, key=lambda ls: (ls.name, ls)):
        t, v = latest[labels]
        if external:
            labels = Labels({**external, **labels.to_dict()})
        name = labels.name
        if name != last_name:
            lines.append(f"# TYPE {name} untyped")
            last_name = name
        pairs = ",".join(f'{k}="{_escape(val)}"' for k, val in labels if k != METRIC_NAME)
        lines.append(f"{name}{{{pairs}}} {_value(v)} {t}")
    body = "\n".join(lines) + ("\n" if lines else "")
    return web.Response(text=body, headers={"Content-Type": TEXT_CONTENT_TYPE})


def external_labels(server) -> dict[str, str]:
    cfg = getattr(server, "config", None)
    glob = getattr(cfg, "global_config", None) or getattr(cfg, "global_", None) or getattr(cfg, "glob", None)
    labels = getattr(glob, "external_labels", None) or getattr(cfg, "external_labels", None) or {}
    return labels.to_dict() if hasattr(labels, "to_dict") else dict(labels)


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _value(v: float) -> str:
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)
