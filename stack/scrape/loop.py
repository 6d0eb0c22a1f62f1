"""The scrape loop: one per target, scraping it every interval and writing what it found.

Each scrape is one transaction, as upstream's ``scrapeAndReport``: fetch the body (through the
transport, within the timeout), parse it, attach the target's labels, apply
``metric_relabel_configs`` and the limits, append everything through one appender, add the
synthetic series (``up``, ``scrape_duration_seconds``...), and commit. A failure anywhere —
refused connection, timeout, a limit, a garbage line — fails the whole scrape: nothing of its body
is stored, ``up`` is 0, and the target keeps the error for the targets page.

Staleness is written here too, because only the loop knows what the last scrape contained: a
series that was in the previous scrape but not in this one gets a stale marker at this scrape's
timestamp, so queries stop returning it at once instead of 5 minutes later (the lookback window).
A failed scrape counts as empty (every series goes stale), and a target that goes away gets
markers one interval later, unless a new loop for the same series has already written newer data.

The loop never looks at the wall clock or sockets directly: ``clock`` and ``transport`` are the
only seams, so notebooks run this exact code in virtual time.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stack.clock import Clock
from stack.model import METRIC_NAME, STALE_NAN, Labels
from stack.scrape.relabel import process
from stack.scrape.target import Target, scrape_offset_ms
from stack.scrape.textparse import OPENMETRICS, TEXT, ParseError, Parser, media_type, parse_series
from stack.scrape.transport import ERR_BODY_SIZE_LIMIT, ERR_DEADLINE, Transport

if TYPE_CHECKING:
    from stack.config.prometheus import ScrapeConfig

log = logging.getLogger("stack.scrape")

USER_AGENT = "Prometheus/3.14.0-workshop"
# Upstream: samples more than 10 minutes in the future are "out of bounds".
MAX_FUTURE_MS = 10 * 60 * 1000
# Upstream snaps the scrape timestamp to the schedule when within min(interval/100, 2ms).
MAX_SNAP_S = 0.002
EXPORTED_PREFIX = "exported_"
REPORT_SERIES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)
EXTRA_REPORT_SERIES = ("scrape_timeout_seconds", "scrape_sample_limit", "scrape_body_size_bytes")
ERR_SAMPLE_LIMIT = "sample limit exceeded"
ERR_MISSING_NAME = "missing metric name (__name__ label)"
_FALLBACK_MEDIA = {
    "OpenMetricsText1.0.0": OPENMETRICS,
    "OpenMetricsText0.0.1": OPENMETRICS,
    "PrometheusText1.0.0": TEXT,
    "PrometheusText0.0.4": TEXT,
}


class ScrapeFailed(Exception):
    """The body could not be stored; carries the counts reached before the failure (spec §7)."""

    def __init__(self, message: str, scraped: int = 0, post_relabel: int = 0, added: int = 0):
        super().__init__(message)
        self.scraped, self.post_relabel, self.added = scraped, post_relabel, added


class ScrapeLoop:
    """Scrapes one target on its schedule and keeps the state staleness needs between scrapes."""

    def __init__(
        self,
        target: Target,
        cfg: ScrapeConfig,
        *,
        storage: Any,
        transport: Transport,
        clock: Clock,
        metrics: Any = None,
        seed: int = 0,
        forced_error: Callable[[], str | None] = lambda: None,
    ):
        self.target = target
        self.cfg = cfg
        self.storage = storage
        self.transport = transport
        self.clock = clock
        self.metrics = metrics
        self.forced_error = forced_error
        self.interval_s = target.interval_ms / 1000.0
        self.timeout_s = target.timeout_ms / 1000.0
        self.offset_s = scrape_offset_ms(target, target.interval_ms, seed) / 1000.0
        self.url = target.scrape_url
        self.headers = {
            "Accept": cfg.accept_header,
            "Accept-Encoding": "gzip" if cfg.enable_compression else "identity",
            "User-Agent": USER_AGENT,
            "X-Prometheus-Scrape-Timeout-Seconds": f"{self.timeout_s:g}",
            **cfg.http.auth_headers(),
        }
        # The scrape cache: series text -> [final Labels or None when metric-relabeled away, last iteration].
        self.cache: dict[str, list] = {}
        self.parser = Parser(self.cache)
        self.prev_series: dict[Labels, None] = {}  # series of the last scrape, for stale markers
        self._iter = 0
        self._next_slot = 0.0
        self._task: asyncio.Task | None = None
        self.stale_task: asyncio.Task | None = None
        self._report_labels = {
            name: Labels(target.labels.merge({METRIC_NAME: name}))
            for name in REPORT_SERIES + EXTRA_REPORT_SERIES
        }

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.ensure_future(self.run())

    def stop(self, stale: bool = True) -> None:
        """Stop scraping; with ``stale``, mark all series stale one interval later (target gone).

        Synchronous on purpose: discovery updates arrive in plain callbacks. A scrape in flight is
        abandoned at its next await, before it appends anything.
        """
        if self._task is not None:
            self._task.cancel()
        if stale:
            self.stale_task = asyncio.ensure_future(self._stale_after_stop())

    def cancel_staleness(self) -> None:
        """Process shutdown: upstream writes no end-of-run markers then."""
        if self.stale_task is not None:
            self.stale_task.cancel()

    def tasks(self) -> list[asyncio.Task]:
        return [t for t in (self._task, self.stale_task) if t is not None]

    async def run(self) -> None:
        """Wait for this target's offset in the interval, then scrape every interval, never overlapping."""
        interval = self.interval_s
        now = self.clock.now()
        # First instant t > now with t mod interval == offset.
        self._next_slot = now - (now % interval) + self.offset_s
        while self._next_slot <= now:
            self._next_slot += interval
        last_start = None
        while True:
            await self.clock.sleep_until(self._next_slot)
            start = self.clock.now()
            snap = min(interval / 100.0, MAX_SNAP_S)
            ts = self._next_slot if abs(start - self._next_slot) <= snap else start
            if last_start is not None and self.metrics is not None:
                self.metrics.target_interval_length.labels(interval=self.target.scrape_interval).observe(
                    start - last_start
                )
            last_start = start
            try:
                await self.scrape_and_report(ts)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not kill the loop silently; log it and keep scraping
                log.exception("scrape of %s failed unexpectedly", self.url)
            self._next_slot += interval
            now = self.clock.now()
            if self._next_slot <= now:  # the scrape overran: skip ticks, never queue them
                self._next_slot += math.ceil((now - self._next_slot) / interval + 1e-9) * interval

    # --- one scrape ------------------------------------------------------------------------
    async def scrape_and_report(self, ts: float) -> str | None:
        """Scrape once with timestamp ``ts`` (seconds); return the error, or None when up."""
        start = self.clock.now()
        t_ms = int(round(ts * 1000))
        body_size = 0
        error = self.forced_error()
        body, fmt = b"", TEXT
        if error is None:
            error, body, fmt = await self._fetch()
            body_size = -1 if error == ERR_BODY_SIZE_LIMIT else len(body)
        app = self.storage.appender()
        scraped = post = added = 0
        if error is None:
            try:
                scraped, post, added = self._append(app, body, fmt, t_ms)
            except ScrapeFailed as e:
                app.rollback()
                app = self.storage.appender()
                error, scraped, post, added = str(e), e.scraped, e.post_relabel, e.added
                body_size = 0
        if error is not None:
            self._mark_stale(app, t_ms, set())
            self.prev_series = {}
        duration = self.clock.now() - start
        self._report(app, t_ms, error is None, duration, scraped, post, added, body_size)
        app.commit()
        self.target.report(ts, duration, error)
        if self.metrics is not None:
            self.metrics.scrape_duration.observe(duration)
            if error == ERR_SAMPLE_LIMIT:
                self.metrics.scrapes_sample_limit.inc()
            elif error == ERR_BODY_SIZE_LIMIT:
                self.metrics.scrapes_body_size_limit.inc()
            self.metrics.scrapes_out_of_order.inc(getattr(app, "out_of_order", 0))
            self.metrics.scrapes_duplicate.inc(getattr(app, "duplicates", 0))
        if error is not None:
            log.debug("scrape of %s failed: %s", self.url, error)
        return error

    async def _fetch(self) -> tuple[str | None, bytes, str]:
        try:
            resp = await asyncio.wait_for(
                self.transport.fetch(self.url, self.headers, self.timeout_s, self.cfg.body_size_limit),
                self.timeout_s,
            )
        except TimeoutError:
            return ERR_DEADLINE, b"", TEXT
        if resp.error is not None:
            return resp.error, b"", TEXT
        if not resp.body:
            return None, b"", TEXT
        mt = media_type(resp.content_type)
        if mt in (TEXT, OPENMETRICS):
            return None, resp.body, mt
        fallback = _FALLBACK_MEDIA.get(self.cfg.fallback_scrape_protocol)
        if fallback is not None:
            return None, resp.body, fallback
        if not resp.content_type:
            error = "non-compliant scrape target sending blank Content-Type"
        else:
            error = f'received unsupported Content-Type "{resp.content_type}"'
        return f"{error} and no fallback_scrape_protocol specified for target", b"", TEXT

    def _append(self, app: Any, body: bytes, fmt: str, t_ms: int) -> tuple[int, int, int]:
        """Parse and append one body; returns (scraped, post-relabel, series added)."""
        if not body:  # an empty scrape: everything goes stale, the cache is kept (spec §7)
            self._mark_stale(app, t_ms, set())
            self.prev_series = {}
            return 0, 0, 0
        self._iter += 1
        it = self._iter
        cache = self.cache
        cfg = self.cfg
        honor_ts = cfg.honor_timestamps
        track_ts = cfg.track_timestamps_staleness
        sample_limit = cfg.sample_limit
        max_t = t_ms + MAX_FUTURE_MS
        cur: dict[Labels, None] = {}
        append = app.append
        scraped = post = added = 0
        limit_hit = False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ScrapeFailed(f"invalid UTF-8 in exposition at byte {e.start}") from None
        try:
            for key, entry, value, ts in self.parser.samples(text, fmt == OPENMETRICS):
                scraped += 1
                if entry is None:
                    entry = cache[key] = [self._series_labels(key), it]
                    if entry[0] is not None:
                        added += 1
                else:
                    entry[1] = it
                labels = entry[0]
                if labels is None:
                    continue
                post += 1
                if sample_limit and post > sample_limit:
                    limit_hit = True
                    continue
                if limit_hit:
                    continue
                if ts is None or not honor_ts:
                    if labels in cur:
                        continue  # duplicate series in one scrape: upstream rejects the second sample
                    cur[labels] = None
                    append(labels, t_ms, value)
                else:
                    if ts > max_t:
                        continue
                    if track_ts:
                        cur[labels] = None
                    append(labels, ts, value)
        except ParseError as e:
            raise ScrapeFailed(str(e), scraped, post, added) from None
        except ScrapeFailed as e:
            raise ScrapeFailed(str(e), scraped, post, added) from None
        if limit_hit:
            raise ScrapeFailed(ERR_SAMPLE_LIMIT, scraped, post, added)
        self._mark_stale(app, t_ms, cur)
        self.prev_series = cur
        self.target.metadata = self.parser.metadata
        # Evict series that did not appear in this (successful, non-empty) scrape.
        for key in [k for k, e in cache.items() if e[1] != it]:
            del cache[key]
        return scraped, post, added

    def _series_labels(self, key: str) -> Labels | None:
        """Final labels of a new series text: target labels merged, metric relabeling, limits."""
        name, pairs = parse_series(key)
        exposed = dict(pairs)
        exposed[METRIC_NAME] = name
        lb = merge_target_labels(exposed, self.target.labels, self.cfg.honor_labels)
        if self.cfg.metric_relabel_configs:
            lb = process(lb, self.cfg.metric_relabel_configs)
            if lb is None:
                return None
        lb = {k: v for k, v in lb.items() if v != ""}
        if not lb.get(METRIC_NAME):
            raise ScrapeFailed(ERR_MISSING_NAME)
        check_label_limits(lb, self.cfg)
        return Labels(lb)

    def _mark_stale(self, app: Any, t_ms: int, current: dict[Labels, None] | set) -> None:
        for labels in self.prev_series:
            if labels not in current:
                app.append(labels, t_ms, STALE_NAN)

    def _report(
        self,
        app: Any,
        t_ms: int,
        up: bool,
        duration: float,
        scraped: int,
        post: int,
        added: int,
        body_size: int,
    ) -> None:
        rl = self._report_labels
        app.append(rl["up"], t_ms, 1.0 if up else 0.0)
        app.append(rl["scrape_duration_seconds"], t_ms, duration)
        app.append(rl["scrape_samples_scraped"], t_ms, float(scraped))
        app.append(rl["scrape_samples_post_metric_relabeling"], t_ms, float(post))
        app.append(rl["scrape_series_added"], t_ms, float(added))
        if self.cfg.extra_scrape_metrics:
            app.append(rl["scrape_timeout_seconds"], t_ms, self.timeout_s)
            app.append(rl["scrape_sample_limit"], t_ms, float(self.cfg.sample_limit))
            app.append(rl["scrape_body_size_bytes"], t_ms, float(body_size))

    async def _stale_after_stop(self) -> None:
        """Markers for a target that went away: stamped at the next tick, written a tick + 10% later."""
        interval = self.interval_s
        slot = self._next_slot or self.clock.now()
        while slot <= self.clock.now():
            slot += interval
        await self.clock.sleep_until(slot)
        stale_ms = int(round(self.clock.now() * 1000))
        await self.clock.sleep_until(slot + interval)
        await self.clock.sleep(interval / 10.0)
        app = self.storage.appender()
        self._mark_stale(app, stale_ms, set())
        names = REPORT_SERIES + (EXTRA_REPORT_SERIES if self.cfg.extra_scrape_metrics else ())
        for name in names:
            app.append(self._report_labels[name], stale_ms, STALE_NAN)
        app.commit()
        self.prev_series = {}


def merge_target_labels(exposed: dict[str, str], target: Labels, honor_labels: bool) -> dict[str, str]:
    """Attach target labels to a scraped series (spec §6.2), ``exported_`` on collisions."""
    lb = dict(exposed)
    if honor_labels:
        for name, value in target.pairs:
            if name not in exposed:
                lb[name] = value
        return lb
    conflicts = []
    for name, value in target.pairs:
        if lb.get(name):
            conflicts.append((name, lb[name]))
        lb[name] = value
    for name, value in sorted(conflicts, key=lambda nv: len(nv[0])):
        new = name
        while True:
            new = EXPORTED_PREFIX + new
            if not lb.get(new):
                lb[new] = value
                break
    return lb


def check_label_limits(lb: dict[str, str], cfg: ScrapeConfig) -> None:
    """label_limit and the name/value length limits; upstream's messages."""
    metric = lb.get(METRIC_NAME, "")[:50]
    if cfg.label_limit and len(lb) > cfg.label_limit:
        raise ScrapeFailed(
            f"label_limit exceeded (metric: {metric}, number of labels: {len(lb)}, limit: {cfg.label_limit})"
        )
    if cfg.label_name_length_limit or cfg.label_value_length_limit:
        for name, value in lb.items():
            if cfg.label_name_length_limit and len(name) > cfg.label_name_length_limit:
                raise ScrapeFailed(
                    f"label_name_length_limit exceeded (metric: {metric}, label name: {name[:50]}, "
                    f"length: {len(name)}, limit: {cfg.label_name_length_limit})"
                )
            if cfg.label_value_length_limit and len(value) > cfg.label_value_length_limit:
                raise ScrapeFailed(
                    f"label_value_length_limit exceeded (metric: {metric}, label name: {name[:50]}, "
                    f"value: {value[:50]}, length: {len(value)}, "
                    f"limit: {cfg.label_value_length_limit})"
                )
