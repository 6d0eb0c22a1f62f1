"""One remote-write endpoint: read what the TSDB committed, send it in batches, never lose it.

Upstream's queue manager tails the write-ahead log, so a receiver that is down only delays
samples: the WAL keeps them until they are sent. Our equivalent of "tail the WAL" is to tail the
TSDB itself. The queue keeps, per series, the timestamp of the last sample the receiver accepted
(a cursor) and, every ``batch_send_deadline``, selects the samples committed after it. Why this
and not a listener on the append path that pushes into an in-memory queue:

* no loss: while the receiver is down nothing is dropped, because nothing was taken out of
  storage; the next pass simply starts from the same cursors (an in-memory queue must either drop
  when full or block the scraper);
* bounded memory: one pass reads at most ``capacity`` samples, whatever the backlog;
* in order: each series is read in timestamp order (the TSDB rejects out-of-order appends), and a
  batch is retried until it is accepted before the next one is built, so the receiver never sees
  an older sample after a newer one;
* it needs nothing from the scraper, the rule manager or the receiver path: everything the TSDB
  commits, from any writer, is forwarded.

Retries follow upstream: 5xx, 429 and connection errors are retried with exponential backoff
(``min_backoff`` doubling to ``max_backoff``); other 4xx answers mean the receiver will never take
the batch, so it is counted as failed and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
import numpy as np

from stack.clock import Clock, WallClock, cancel_and_wait
from stack.config import parse_duration_ms
from stack.model import METRIC_NAME, Labels, Matcher
from stack.remote import proto

log = logging.getLogger(__name__)

# Upstream queue_config defaults (storage/remote DefaultQueueConfig, Prometheus 3).
DEFAULT_CAPACITY = 10_000
DEFAULT_MAX_SAMPLES_PER_SEND = 2_000
DEFAULT_BATCH_SEND_DEADLINE_MS = 5_000
DEFAULT_MIN_BACKOFF_MS = 30
DEFAULT_MAX_BACKOFF_MS = 5_000
DEFAULT_REMOTE_TIMEOUT_MS = 30_000  # remote_write.remote_timeout
# A series whose last sample is this much older than the newest completed pass is no longer tracked,
# so a sample committed this long after its own timestamp is not forwarded. Likewise, as upstream's
# WAL watcher does, samples stamped before the queue started are not sent.
MAX_LAG_MS = 600_000

_ALL = [Matcher("=~", METRIC_NAME, ".+")]
MAX_TIME_MS = 2**63 - 1


@dataclass(frozen=True)
class QueueConfig:
    capacity: int = DEFAULT_CAPACITY
    max_samples_per_send: int = DEFAULT_MAX_SAMPLES_PER_SEND
    batch_send_deadline_ms: int = DEFAULT_BATCH_SEND_DEADLINE_MS
    min_backoff_ms: int = DEFAULT_MIN_BACKOFF_MS
    max_backoff_ms: int = DEFAULT_MAX_BACKOFF_MS
    retry_on_http_429: bool = True

    @classmethod
    def from_mapping(cls, m) -> QueueConfig:
        """From the validated ``queue_config`` mapping of prometheus.yml (None: all defaults)."""
        if not m:
            return cls()

        def ms(key: str, default: int) -> int:
            return parse_duration_ms(str(m[key])) if m.get(key) is not None else default

        return cls(
            capacity=int(m.get("capacity", DEFAULT_CAPACITY)),
            max_samples_per_send=int(m.get("max_samples_per_send", DEFAULT_MAX_SAMPLES_PER_SEND)),
            batch_send_deadline_ms=ms("batch_send_deadline", DEFAULT_BATCH_SEND_DEADLINE_MS),
            min_backoff_ms=ms("min_backoff", DEFAULT_MIN_BACKOFF_MS),
            max_backoff_ms=ms("max_backoff", DEFAULT_MAX_BACKOFF_MS),
            retry_on_http_429=bool(m.get("retry_on_http_429", True)),
        )


class QueueManager:
    """Forwards every sample committed to ``tsdb`` after ``start()`` to ``url``."""

    def __init__(self, tsdb, url: str, *, clock: Clock | None = None, queue: QueueConfig | None = None,
                 external_labels: dict[str, str] | None = None, relabel=(), headers: dict | None = None,
                 timeout_ms: int = DEFAULT_REMOTE_TIMEOUT_MS, name: str = ""):
        self.tsdb = tsdb
        self.url = url
        self.name = name or url
        self.clock = clock or WallClock()
        self.cfg = queue or QueueConfig()
        self.external_labels = dict(external_labels or {})
        self.relabel = tuple(relabel)
        self.headers = dict(headers or {})
        self.timeout_ms = timeout_ms
        self._cursors: dict[Labels, int] = {}
        self._floor: int | None = None
        self._task: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None
        self._pass_lock = asyncio.Lock()
        # What the status page and tests read (upstream's prometheus_remote_storage_* counters).
        self.samples_sent = 0
        self.samples_failed = 0
        self.samples_dropped = 0  # removed by write_relabel_configs
        self.retries = 0
        self.last_error = ""

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self._floor is None:
            self._floor = self.clock.now_ms()
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run(), name=f"remote-write {self.name}")

    async def stop(self, flush: bool = True) -> None:
        """Stop after one last pass (``flush``), so a clean shutdown sends what was committed."""
        await cancel_and_wait(self._task)
        self._task = None
        if flush and self._session is not None:
            try:
                await asyncio.wait_for(self.flush(retry=False), self.timeout_ms / 1000)
            except (TimeoutError, aiohttp.ClientError) as e:
                log.warning("remote write %s: final flush failed: %s", self.name, e)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            await self.clock.sleep(self.cfg.batch_send_deadline_ms / 1000)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bug in one pass must not stop forwarding for good
                log.exception("remote write %s: pass failed", self.name)

    # --- one pass ---------------------------------------------------------------------------
    async def flush(self, retry: bool = True) -> int:
        """Send everything committed since the cursors; returns the number of samples accepted."""
        async with self._pass_lock:
            total = 0
            while True:
                now = self.clock.now_ms()
                batch, complete = self._read(now)
                if batch:
                    sent = await self._send_all(batch, retry)
                    total += sent
                    if sent < sum(len(s[1]) for s in batch) and not retry:
                        return total
                if complete:
                    self._floor = max(self._floor or now, now - MAX_LAG_MS)
                    self._cursors = {ls: t for ls, t in self._cursors.items() if t >= self._floor}
                    return total

    def _read(self, now: int) -> tuple[list[tuple[Labels, Labels, np.ndarray, np.ndarray]], bool]:
        """Up to ``capacity`` unsent samples: (stored labels, sent labels, t, v); and whether that was all."""
        floor = self._floor if self._floor is not None else now
        out, n = [], 0
        for sd in self.tsdb.select(_ALL, floor, MAX_TIME_MS):  # everything committed, as a WAL reader
            cursor = self._cursors.get(sd.labels, floor - 1)
            lo = int(np.searchsorted(sd.t, cursor, "right"))
            if lo >= len(sd.t):
                continue
            room = self.cfg.capacity - n
            if room <= 0:
                return out, False
            t, v = sd.t[lo : lo + room], sd.v[lo : lo + room]
            sent_labels = self._sent_labels(sd.labels)
            if sent_labels is None:
                self._cursors[sd.labels] = int(t[-1])  # dropped by write_relabel_configs: skip for good
                self.samples_dropped += len(t)
                continue
            out.append((sd.labels, sent_labels, t, v))
            n += len(t)
            if lo + room < len(sd.t):
                return out, False
        return out, True

    def _sent_labels(self, labels: Labels) -> Labels | None:
        d = {**self.external_labels, **labels.to_dict()} if self.external_labels else labels.to_dict()
        if self.relabel:
            from stack.scrape.relabel import process

            d = process(d, self.relabel)
            if d is None or not d.get(METRIC_NAME):
                return None
        return Labels(d)

    async def _send_all(self, batch, retry: bool) -> int:
        """Send ``batch`` in requests of at most max_samples_per_send; cursors advance per request."""
        sent = 0
        for request in _split(batch, self.cfg.max_samples_per_send):
            ok = await self._send_with_retry(request, retry)
            n = sum(len(t) for _, _, t, _ in request)
            if not ok and retry is False:
                return sent
            for stored, _, t, _ in request:
                self._cursors[stored] = int(t[-1])
            if ok:
                sent += n
                self.samples_sent += n
            else:
                self.samples_failed += n
        return sent

    async def _send_with_retry(self, request, retry: bool) -> bool:
        """True when accepted; False when the receiver refused it for good (4xx)."""
        body = proto.compress(proto.encode_write_request(
            (sent, zip(t.tolist(), v.tolist(), strict=True)) for _, sent, t, v in request))
        backoff = self.cfg.min_backoff_ms / 1000
        while True:
            outcome = await self._post(body)
            if outcome == "ok":
                self.last_error = ""
                return True
            if outcome == "drop":
                return False
            if not retry:
                return False
            self.retries += 1
            await self.clock.sleep(backoff)
            backoff = min(backoff * 2, self.cfg.max_backoff_ms / 1000)

    async def _post(self, body: bytes) -> str:
        headers = {
            "Content-Encoding": proto.CONTENT_ENCODING,
            "Content-Type": proto.CONTENT_TYPE,
            proto.VERSION_HEADER: proto.PROTOCOL_VERSION,
            "User-Agent": "Prometheus/workshop",
            **self.headers,
        }
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout_ms / 1000)
            async with self._session.post(self.url, data=body, headers=headers, timeout=timeout) as resp:
                text = (await resp.text())[:512]
                if resp.status // 100 == 2:
                    return "ok"
                self.last_error = f"server returned HTTP status {resp.status}: {text.strip()}"
                if resp.status // 100 == 5 or (resp.status == 429 and self.cfg.retry_on_http_429):
                    return "retry"
                log.warning("remote write %s: dropping batch: %s", self.name, self.last_error)
                return "drop"
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            self.last_error = f"{type(e).__name__}: {e}"
            return "retry"


def _split(batch, max_samples: int):
    """Cut (stored, sent, t, v) entries into requests of at most ``max_samples`` samples."""
    request, n = [], 0
    for stored, sent, t, v in batch:
        i = 0
        while i < len(t):
            take = min(len(t) - i, max_samples - n)
            request.append((stored, sent, t[i : i + take], v[i : i + take]))
            n += take
            i += take
            if n >= max_samples:
                yield request
                request, n = [], 0
    if request:
        yield request
