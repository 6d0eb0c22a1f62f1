"""The webhook integration: the JSON body Alertmanager POSTs, and the transports that carry it.

The body is upstream's version "4" message (``notify/webhook``, ``template.Data``): every
notification carries the group's whole current state, not a diff, so a receiver can simply show
the latest message per ``groupKey``.

The transport is the one seam between live and simulated runs. :class:`HTTPSender` POSTs with
aiohttp; in a simulation any ``async def send(url, body, headers, timeout) -> status`` can be
given instead (the workshop inbox provides one), so the same dispatch code runs without sockets.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
from collections.abc import Awaitable, Callable

from stack.alertmanager.alerts import Alert, format_go_time
from stack.model import Labels

VERSION = "0.34.0"          # the Alertmanager version whose behaviour we follow
PAYLOAD_VERSION = "4"       # webhook message format version (upstream webhook.Message)
USER_AGENT = f"Alertmanager/{VERSION}"
_QUOTE_META = re.compile(r"([\\.+*?()|\[\]{}^$])")

Sender = Callable[[str, bytes, dict, float | None], Awaitable[int]]


def quote_meta(s: str) -> str:
    """Go's regexp.QuoteMeta; upstream passes the receiver name through it (``web.hook`` ->
    ``web\\.hook``)."""
    return _QUOTE_META.sub(r"\\\1", s)


def build_payload(receiver: str, group_key: str, group_labels: Labels, alerts: list[Alert], now: float,
                  external_url: str, max_alerts: int = 0, reason: str = "") -> dict:
    """The webhook message for ``alerts`` (already filtered, firing ones with ``ends_at`` = 0)."""
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    items = [{"status": a.status(now), "labels": a.labels.to_dict(), "annotations": dict(a.annotations),
              "startsAt": format_go_time(a.starts_at), "endsAt": format_go_time(a.ends_at),
              "generatorURL": a.generator_url, "fingerprint": a.fingerprint} for a in alerts]
    msg = {
        "receiver": quote_meta(receiver),
        "status": "firing" if any(i["status"] == "firing" for i in items) else "resolved",
        "alerts": items,
        "groupLabels": group_labels.to_dict(),
        "commonLabels": _common([a.labels.to_dict() for a in alerts]),
        "commonAnnotations": _common([a.annotations for a in alerts]),
        "externalURL": external_url,
        "version": PAYLOAD_VERSION,
        "groupKey": group_key,
        "truncatedAlerts": truncated,
    }
    if reason:
        msg["notification_reason"] = reason
    msg["routeLabels"] = {}
    return msg


def _common(maps: list[dict]) -> dict:
    if not maps:
        return {}
    common = dict(maps[0])
    for d in maps[1:]:
        common = {k: v for k, v in common.items() if d.get(k) == v}
    return common


def encode(payload: dict) -> bytes:
    """JSON as Go's encoder writes it: ``&<>`` escaped, trailing newline."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return (text + "\n").encode()


def request_headers(http_config) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if http_config.basic_auth:
        user, password = http_config.basic_auth
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    headers.update(http_config.headers())
    return headers


class HTTPSender:
    """Live transport: aiohttp sessions shared by the webhooks of an Alertmanager, one per distinct
    TLS setting, honouring each webhook's ``http_config`` (TLS, proxy, redirects)."""

    def __init__(self):
        self._sessions: dict[tuple, object] = {}

    async def __call__(self, url: str, body: bytes, headers: dict, timeout: float | None,
                       http_config=None) -> int:
        import aiohttp

        h = http_config
        tls_key = (None, None, None, False)
        if h is not None:
            tls_key = (h.ca_file, h.cert_file, h.key_file, h.insecure_skip_verify)
        session = self._sessions.get(tls_key)
        if session is None or session.closed:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=_ssl_context(*tls_key)))
            self._sessions[tls_key] = session
        t = aiohttp.ClientTimeout(total=timeout) if timeout else aiohttp.ClientTimeout(total=None)
        kwargs = {}
        if h is not None:
            kwargs = {"proxy": h.proxy_url or None, "allow_redirects": h.follow_redirects}
            if h.server_name:
                kwargs["server_hostname"] = h.server_name
        async with session.post(url, data=body, headers=headers, timeout=t, **kwargs) as resp:
            await resp.read()
            return resp.status

    async def close(self) -> None:
        for session in self._sessions.values():
            if not session.closed:
                await session.close()
        self._sessions.clear()
        await asyncio.sleep(0)


def _ssl_context(ca_file, cert_file, key_file, insecure: bool) -> ssl.SSLContext | bool:
    if not (ca_file or cert_file or insecure):
        return True  # aiohttp's default verification against the system CAs
    ctx = ssl.create_default_context(cafile=ca_file)
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
