"""The Alertmanager object: alert store, dispatcher, inhibitor, silences and notification log wired
together around one clock and one webhook transport.

It runs three ways with the same code: as its own process (``workshop alertmanager``, wall clock,
aiohttp transport), inside ``workshop up``, or in a simulation on a :class:`~stack.clock.VirtualClock`
where a notifier calls :meth:`receive_alerts` directly and webhooks go to an in-process callable
(the workshop inbox). The HTTP API (:mod:`stack.alertmanager.api`) is a thin layer over the public
methods here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from pathlib import Path

from stack.alertmanager.alerts import ALERT_GC_INTERVAL, Alert, AlertError, AlertStore, parse_time, validate
from stack.alertmanager.api import make_app
from stack.alertmanager.config import Config, load_config
from stack.alertmanager.dispatch import Dispatcher
from stack.alertmanager.inhibit import Inhibitor
from stack.alertmanager.metrics import Metrics
from stack.alertmanager.nflog import NotificationLog
from stack.alertmanager.notify import Pipeline
from stack.alertmanager.silence import DEFAULT_RETENTION, Silences
from stack.alertmanager.webhook import HTTPSender, Sender
from stack.clock import Clock, WallClock, cancel_and_wait
from stack.config.yamlutil import ConfigError
from stack.model import Labels

log = logging.getLogger("stack.alertmanager")

MAINTENANCE_INTERVAL = 15 * 60.0  # --data.maintenance-interval: GC of silences and nflog


class Alertmanager:
    def __init__(self, config: Config | str | os.PathLike, clock: Clock | None = None,
                 storage_path: str | os.PathLike | None = None, sender: Sender | None = None,
                 external_url: str = "http://127.0.0.1:9093", retention: float = DEFAULT_RETENTION,
                 seed: int | None = None):
        self.clock = clock or WallClock()
        self.config_file = None if isinstance(config, Config) else str(config)
        self.config = config if isinstance(config, Config) else load_config(config)
        self.storage_path = Path(storage_path) if storage_path else None
        if sender is None and self.clock.is_virtual:
            # Sockets and virtual time do not mix: a timeout would fire at once in virtual time.
            raise ValueError("an Alertmanager on a virtual clock needs an in-process webhook sender, "
                             "e.g. Alertmanager(..., sender=Inbox().deliver)")
        self.sender: Sender = sender or HTTPSender()
        self._http = self.sender if isinstance(self.sender, HTTPSender) else None
        self.external_url = external_url.rstrip("/")
        self.started_at = self.clock.now()
        self.alerts = AlertStore()
        self.silences = Silences(self.clock, storage_path, retention)
        self.nflog = NotificationLog(self.clock, retention, storage_path)
        self.inhibitor = Inhibitor(self.config.inhibit_rules, self.alerts)
        # Backoff jitter; seeded in simulations so runs repeat exactly.
        self.pipeline = Pipeline(self, random.Random(seed))
        self.dispatcher = Dispatcher(self.config.route, self.pipeline, self.clock)
        self.metrics = Metrics(self)
        self.metrics.reload_ok.set(1)
        self.metrics.reload_time.set(self.clock.now())
        self._tasks: list[asyncio.Task] = []
        for w in self.config.warnings:
            log.warning("%s", w)

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [asyncio.ensure_future(self._every(MAINTENANCE_INTERVAL, self._maintenance)),
                       asyncio.ensure_future(self._every(ALERT_GC_INTERVAL, self._gc_alerts))]

    async def stop(self) -> None:
        groups = [g.task for g in self.dispatcher.groups.values()]
        self.dispatcher.stop()
        await cancel_and_wait(*self._tasks, *groups)
        self._tasks = []
        close = getattr(self.sender, "close", None)
        if close is not None:
            await close()

    def app(self):
        """The aiohttp application serving API v2, ``/-/*``, ``/metrics`` and the status page."""
        return make_app(self)

    def reload(self, path: str | os.PathLike | None = None) -> None:
        """Load the config file again; on a mistake keep the running config and raise ConfigError."""
        path = path or self.config_file
        if path is None:
            raise ConfigError("no config file to reload from")
        try:
            new = load_config(path)
        except ConfigError:
            self.metrics.reload_ok.set(0)
            raise
        self.apply_config(new)
        self.config_file = str(path)

    def apply_config(self, new: Config) -> None:
        """Swap in a new config: a fresh dispatcher fed from the alert store, as upstream does on
        reload; the notification log is kept, so unchanged groups are not re-sent."""
        self.dispatcher.stop()
        self.config = new
        self.inhibitor = Inhibitor(new.inhibit_rules, self.alerts)
        self.dispatcher = Dispatcher(new.route, self.pipeline, self.clock)
        for a in self.alerts.all():
            self.dispatcher.process(a)
        self.metrics.reload_ok.set(1)
        self.metrics.reload_time.set(self.clock.now())
        for w in new.warnings:
            log.warning("%s", w)

    # --- alerts ----------------------------------------------------------------------------------
    def receive_alerts(self, posted: list[dict]) -> list[str]:
        """Ingest alerts in the API v2 JSON shape; returns the validation errors (valid ones are kept)."""
        now = self.clock.now()
        errors: list[str] = []
        for d in posted:
            try:
                alert = self._from_post(d, now)
                validate(alert)
            except (AlertError, ValueError, TypeError) as e:
                self.metrics.alerts_invalid.labels("v2").inc()
                errors.append(str(e))
                continue
            self.metrics.alerts_received.labels("v2", alert.status(now)).inc()
            stored = self.alerts.put(alert)
            self.dispatcher.process(stored)
        return errors

    async def post_alerts(self, url: str, body: bytes, timeout: float | None = None) -> int:
        """``POST /api/v2/alerts`` without HTTP, with the notifier's poster signature
        (``stack.notifier.Poster``), so a simulated Prometheus can send to us in virtual time."""
        try:
            posted = json.loads(body)
        except ValueError:
            return 400
        if not isinstance(posted, list):
            return 400
        return 400 if self.receive_alerts(posted) else 200

    async def send_webhook(self, webhook, body: bytes, headers: dict, timeout: float | None) -> int:
        """Hand one webhook request to the transport; only the live HTTP transport needs the
        webhook's ``http_config`` (TLS, proxy, redirects)."""
        if self._http is not None:
            return await self._http(webhook.url, body, headers, timeout, http_config=webhook.http_config)
        return await self.sender(webhook.url, body, headers, timeout)

    def _from_post(self, d: dict, now: float) -> Alert:
        labels = d.get("labels")
        if not isinstance(labels, dict):
            raise AlertError("labels is required and must be an object")
        starts = parse_time(d["startsAt"]) if d.get("startsAt") else 0.0
        ends = parse_time(d["endsAt"]) if d.get("endsAt") else 0.0
        timeout = False
        if not starts:
            starts = ends or now
        if not ends:
            ends, timeout = now + self.config.resolve_timeout, True
        return Alert(Labels({str(k): str(v) for k, v in labels.items()}),
                     {str(k): str(v) for k, v in (d.get("annotations") or {}).items()},
                     starts, ends, now, str(d.get("generatorURL") or ""), timeout)

    def alert_status(self, alert: Alert, now: float | None = None) -> dict:
        """``status`` of a gettable alert, computed now as upstream's API does."""
        now = self.clock.now() if now is None else now
        silenced = self.silences.silenced_by(alert.labels, now)
        inhibited = self.inhibitor.inhibited_by(alert.labels, now)
        muted = self.muted_by(alert.labels, now)
        state = "suppressed" if (silenced or inhibited or muted) else "active"
        return {"state": state, "silencedBy": silenced, "inhibitedBy": inhibited, "mutedBy": muted}

    def muted_by(self, labels: Labels, now: float) -> list[str]:
        """Time intervals currently muting every route the alert takes."""
        routes = self.config.route.match(labels)
        names: list[str] = []
        for r in routes:
            hit = [n for n in r.mute_time_intervals if self.config.time_intervals[n].contains(now)]
            if r.active_time_intervals and not any(self.config.time_intervals[n].contains(now)
                                                   for n in r.active_time_intervals):
                hit += list(r.active_time_intervals)
            if not hit:
                return []
            names += [n for n in hit if n not in names]
        return names

    def receivers_for(self, labels: Labels) -> list[str]:
        out: list[str] = []
        for r in self.config.route.match(labels):
            if r.receiver not in out:
                out.append(r.receiver)
        return out

    def alert_state_counts(self) -> dict[str, int]:
        now = self.clock.now()
        counts: dict[str, int] = {}
        for a in self.alerts.firing(now):
            state = self.alert_status(a, now)["state"]
            counts[state] = counts.get(state, 0) + 1
        return counts

    # --- housekeeping --------------------------------------------------------------------------------
    async def _every(self, interval: float, job) -> None:
        while True:
            await self.clock.sleep(interval)
            try:
                job()
            except Exception:  # housekeeping must never stop
                log.exception("maintenance failed")

    def _maintenance(self) -> None:
        self.silences.gc()
        self.nflog.gc()

    def _gc_alerts(self) -> None:
        in_groups = {fp for g in self.dispatcher.groups.values() for fp in g.alerts}
        self.alerts.gc(self.clock.now(), keep=in_groups)
