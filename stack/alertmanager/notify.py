"""The notification pipeline one aggregation-group flush runs through (upstream ``notify/``).

Stages, in upstream order: inhibition -> active time intervals -> mute time intervals -> silences
-> for each integration of the receiver, in parallel: dedup against the notification log -> send
with retries -> log. The flush counts as successful only if every integration succeeded (or
decided there was nothing to send); otherwise nothing is logged and the group keeps its resolved
alerts, so the next tick makes the same decision again — which is why a receiver that is down for
a while loses no notification.
"""

from __future__ import annotations

import asyncio
import logging
import random

import aiohttp

from stack.alertmanager.alerts import Alert
from stack.alertmanager.config import Integration
from stack.alertmanager.metrics import REASON_CLIENT, REASON_OTHER, REASON_SERVER, REASON_UNSUPPORTED
from stack.alertmanager.nflog import needs_update
from stack.alertmanager.routing import Route
from stack.alertmanager.webhook import build_payload, encode, request_headers
from stack.model import Labels

log = logging.getLogger("stack.alertmanager")

# Retry backoff of upstream RetryStage (cenkalti/backoff defaults as Alertmanager sets them).
BACKOFF_INITIAL = 0.5      # seconds before the first retry
BACKOFF_MULTIPLIER = 1.5
BACKOFF_JITTER = 0.5       # +-50 %
BACKOFF_MAX = 60.0
MIN_FLUSH_TIMEOUT = 10.0   # a flush may take max(group_interval, 10s) (upstream dispatcher)


class NotifyError(Exception):
    def __init__(self, message: str, reason: str, retry: bool):
        super().__init__(message)
        self.reason, self.retry = reason, retry


class Pipeline:
    """Runs one flush for one group; holds only references to the Alertmanager's shared parts."""

    def __init__(self, am, rng: random.Random):
        self.am = am
        self.rng = rng

    async def flush(self, route: Route, group_key: str, group_labels: Labels, alerts: list[Alert],
                    tick: float) -> bool:
        am = self.am
        now = tick
        alerts = [a for a in alerts if not am.inhibitor.is_inhibited(a.labels, now)]
        if route.active_time_intervals and not any(
                am.config.time_intervals[n].contains(now) for n in route.active_time_intervals):
            alerts = []
        if any(am.config.time_intervals[n].contains(now) for n in route.mute_time_intervals):
            alerts = []
        alerts = [a for a in alerts if not am.silences.silenced_by(a.labels, now)]
        if not alerts:
            return True
        receiver = am.config.receivers[route.receiver]
        deadline = tick + max(route.group_interval, MIN_FLUSH_TIMEOUT)
        results = await asyncio.gather(*(self._integration(route, receiver.name, i, group_key, group_labels,
                                                           alerts, now, deadline)
                                         for i in receiver.integrations))
        return all(results)

    async def _integration(self, route: Route, receiver: str, integ: Integration, group_key: str,
                           group_labels: Labels, alerts: list[Alert], now: float, deadline: float) -> bool:
        am = self.am
        key = f"{integ.kind}[{integ.index}]"
        firing = {a.fingerprint for a in alerts if not a.resolved(now)}
        resolved = {a.fingerprint for a in alerts if a.resolved(now)}
        entry = am.nflog.query(group_key, receiver, key)
        reason = needs_update(entry, firing, resolved, now, route.repeat_interval, integ.send_resolved)
        if not reason:
            return True
        if not integ.send_resolved:
            alerts = [a for a in alerts if not a.resolved(now)]
        if alerts:
            am.metrics.notifications.labels(integ.kind).inc()
            try:
                await self._send_with_retries(integ, receiver, group_key, group_labels, alerts, now, deadline,
                                              reason)
            except NotifyError as e:
                am.metrics.notifications_failed.labels(integ.kind, e.reason).inc()
                log.warning("notify %s for %s failed: %s", key, group_key, e)
                return False
        am.nflog.log(group_key, receiver, key, firing, resolved, route.repeat_interval)
        return True

    async def _send_with_retries(self, integ: Integration, receiver: str, group_key: str,
                                 group_labels: Labels, alerts: list[Alert], now: float, deadline: float,
                                 reason: str) -> None:
        if integ.unsupported:
            raise NotifyError(integ.unsupported, REASON_UNSUPPORTED, retry=False)
        am, clock = self.am, self.am.clock
        w = integ.webhook
        body = encode(build_payload(receiver, group_key, group_labels, alerts, now, am.external_url,
                                    w.max_alerts, reason))
        headers = request_headers(w.http_config)
        interval, attempt = BACKOFF_INITIAL, 0
        while True:
            attempt += 1
            am.metrics.requests.labels(integ.kind).inc()
            left = deadline - clock.now()
            timeout = min(left, w.timeout) if w.timeout else left
            try:
                status = await asyncio.wait_for(am.send_webhook(w, body, headers, timeout), timeout)
                err = _status_error(status)
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                err = NotifyError(f"{type(e).__name__}: {e}", REASON_OTHER, retry=True)
            if err is None:
                return
            am.metrics.requests_failed.labels(integ.kind).inc()
            if not err.retry:
                raise err
            wait = interval * (1 + BACKOFF_JITTER * (2 * self.rng.random() - 1))
            interval = min(interval * BACKOFF_MULTIPLIER, BACKOFF_MAX)
            if clock.now() + wait >= deadline:
                raise NotifyError(f"{err} (gave up after {attempt} attempts)", err.reason, retry=False)
            await clock.sleep(wait)


def _status_error(status: int) -> NotifyError | None:
    if 200 <= status < 300:
        return None
    if 500 <= status < 600:
        return NotifyError(f"unexpected status code {status}", REASON_SERVER, retry=True)
    reason = REASON_CLIENT if 400 <= status < 500 else REASON_OTHER
    return NotifyError(f"unexpected status code {status}", reason, retry=False)
