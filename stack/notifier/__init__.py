"""The notifier: sends firing and resolved alerts from the rule engine to Alertmanagers.

Rule evaluation must never wait on the network, so alerts go into a bounded queue and a sender
task posts them in batches to every configured Alertmanager (``POST /api/v2/alerts``). As
upstream: external labels are added to alerts that lack them, ``alert_relabel_configs`` can drop
or rewrite alerts, a full queue drops the *oldest* alerts, and a failed post is not retried (the
rule engine re-sends firing alerts every resend delay anyway). Spec: rules.md §8.

The HTTP post is injectable: live it is aiohttp, in a simulation an in-process call into our
Alertmanager, on the same virtual clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from stack.clock import cancel_and_wait

log = logging.getLogger(__name__)

DEFAULT_QUEUE_CAPACITY = 10_000  # --alertmanager.notification-queue-capacity
DEFAULT_BATCH_SIZE = 256  # --alertmanager.notification-batch-size (3.4+)
DEFAULT_TIMEOUT_S = 10.0  # alertmanager_config.timeout

# (url, JSON body, timeout seconds) -> HTTP status code; raises on connection errors
Poster = Callable[[str, bytes, float], Awaitable[int]]


@dataclass
class AlertmanagerTarget:
    """One Alertmanager to send to: ``<scheme>://<address><path_prefix>/api/v2/alerts``."""

    address: str
    scheme: str = "http"
    path_prefix: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}{self.path_prefix.rstrip('/')}/api/v2/alerts"


class Notifier:
    def __init__(
        self,
        targets: list[AlertmanagerTarget] | None = None,
        *,
        poster: Poster | None = None,
        external_labels: dict[str, str] | None = None,
        relabel: Callable[[dict[str, str]], dict[str, str] | None] | None = None,
        capacity: int = DEFAULT_QUEUE_CAPACITY,
        batch_size: int = DEFAULT_BATCH_SIZE,
        registry: CollectorRegistry | None = None,
    ):
        self.targets = targets or []
        self.poster = poster or aiohttp_poster
        self.external_labels = external_labels or {}
        self.relabel = relabel
        self.capacity, self.batch_size = capacity, batch_size
        self.queue: deque[dict] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        registry = registry if registry is not None else CollectorRegistry()
        self.sent = Counter(
            "prometheus_notifications_sent",
            "Total number of alerts sent.",
            ["alertmanager"],
            registry=registry,
        )
        self.errors = Counter(
            "prometheus_notifications_errors",
            "Total number of sent alerts affected by errors.",
            ["alertmanager"],
            registry=registry,
        )
        self.dropped = Counter(
            "prometheus_notifications_dropped",
            "Total number of alerts dropped due to errors when sending to Alertmanager.",
            registry=registry,
        )
        self.queue_length = Gauge(
            "prometheus_notifications_queue_length",
            "The number of alert notifications in the queue.",
            registry=registry,
        )
        Gauge(
            "prometheus_notifications_queue_capacity",
            "The capacity of the alert notifications queue.",
            registry=registry,
        ).set(capacity)
        self.discovered = Gauge(
            "prometheus_notifications_alertmanagers_discovered",
            "The number of alertmanagers discovered and active.",
            registry=registry,
        )
        self.discovered.set(len(self.targets))

    def apply_config(
        self,
        targets: list[AlertmanagerTarget],
        external_labels: dict[str, str],
        relabel: Callable[[dict[str, str]], dict[str, str] | None] | None = None,
    ) -> None:
        self.targets, self.external_labels, self.relabel = targets, external_labels, relabel
        self.discovered.set(len(targets))

    # --- the producer side (called by rule groups, never blocks) -------------------------
    def send(self, alerts: list[dict]) -> None:
        for alert in alerts:
            labels = dict(alert["labels"])
            for k, v in self.external_labels.items():
                if not labels.get(k):
                    labels[k] = v
            if self.relabel is not None:
                relabelled = self.relabel(labels)
                if relabelled is None:
                    continue
                labels = relabelled
            self.queue.append({**alert, "labels": labels})
        overflow = len(self.queue) - self.capacity
        if overflow > 0:  # drop the oldest, as upstream does
            for _ in range(overflow):
                self.queue.popleft()
            self.dropped.inc(overflow)
        self.queue_length.set(len(self.queue))
        self._wake.set()

    # --- the sender side --------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queue:
                batch = [self.queue.popleft() for _ in range(min(self.batch_size, len(self.queue)))]
                self.queue_length.set(len(self.queue))
                await self.send_batch(batch)

    async def send_batch(self, batch: list[dict]) -> bool:
        """Post one batch to every Alertmanager; True if at least one accepted it."""
        if not self.targets:
            self.dropped.inc(len(batch))
            return False
        body = json.dumps(batch).encode()
        results = await asyncio.gather(*(self._post(t, body, len(batch)) for t in self.targets))
        if not any(results):
            self.dropped.inc(len(batch))
        return any(results)

    async def _post(self, target: AlertmanagerTarget, body: bytes, n: int) -> bool:
        try:
            status = await asyncio.wait_for(self.poster(target.url, body, target.timeout_s), target.timeout_s)
            ok = 200 <= status < 300
            if not ok:
                log.warning("error sending %d alerts to %s: HTTP %d", n, target.url, status)
        except (OSError, TimeoutError) as e:
            log.warning("error sending %d alerts to %s: %s", n, target.url, e or type(e).__name__)
            ok = False
        (self.sent if ok else self.errors).labels(target.url).inc(n)
        return ok


async def aiohttp_poster(url: str, body: bytes, timeout: float) -> int:
    import aiohttp

    headers = {"Content-Type": "application/json", "User-Agent": "workshop-prometheus"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(url, data=body, headers=headers) as resp,
        ):
            return resp.status
    except aiohttp.ClientError as e:
        raise OSError(str(e)) from None
