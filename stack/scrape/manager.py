"""The scrape manager: one scrape pool per job, kept in step with discovery and config reloads.

A *scrape pool* owns the loops of one job. Discovery hands it target groups; the pool turns them
into targets (labels, relabeling, deduplication), starts a loop for each new target and stops the
loops of targets that went away — those get their end-of-run stale markers, so a target removed
from a file_sd file vanishes from graphs within an interval.

On a config reload the manager touches only what changed: a job whose settings are identical keeps
its loops (no gap in the data), a changed job gets new loops, where a target that still exists
hands its staleness state to its new loop so no spurious markers appear, and a removed job's
targets go stale. This mirrors upstream's ``scrape.Manager.ApplyConfig``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING, Any

from stack.clock import Clock, cancel_and_wait
from stack.model import Labels
from stack.scrape.discovery import Discovery, TargetGroup
from stack.scrape.loop import ScrapeLoop
from stack.scrape.target import (
    DroppedTarget,
    Target,
    TargetError,
    discovered_labels,
    fnv1a64,
    populate_labels,
)
from stack.scrape.transport import HttpTransport, Transport

if TYPE_CHECKING:
    from stack.config.prometheus import PrometheusConfig, ScrapeConfig

log = logging.getLogger("stack.scrape")


class ScrapePool:
    """The targets and loops of one job."""

    def __init__(
        self,
        cfg: ScrapeConfig,
        *,
        storage: Any,
        transport: Transport,
        clock: Clock,
        metrics: Any = None,
        seed: int = 0,
    ):
        self.cfg = cfg
        self.storage = storage
        self.transport = transport
        self.clock = clock
        self.metrics = metrics
        self.seed = seed
        self.loops: dict[tuple[Labels, str], ScrapeLoop] = {}
        self.dropped: list[DroppedTarget] = []
        self.groups: list[TargetGroup] = []
        self.forced_error: str | None = None
        self._retired: list[ScrapeLoop] = []

    @property
    def name(self) -> str:
        return self.cfg.job_name

    def targets(self) -> list[Target]:
        return sorted((lp.target for lp in self.loops.values()), key=lambda t: t.all_labels)

    def sync(self, groups: list[TargetGroup]) -> None:
        """Make the running loops match the discovered ``groups``."""
        start = self.clock.now()
        self.groups = groups
        wanted: dict[tuple[Labels, str], Target] = {}
        dropped: list[DroppedTarget] = []
        for group in groups:
            for t in group.targets:
                disc = discovered_labels(self.cfg, t, group.labels)
                try:
                    final = populate_labels(self.cfg, disc)
                except TargetError as e:
                    log.warning(
                        "Creating target failed in scrape pool %s: %s (labels %s)", self.name, e, disc
                    )
                    continue
                if final is None:
                    if not self.cfg.keep_dropped_targets or len(dropped) < self.cfg.keep_dropped_targets:
                        dropped.append(DroppedTarget(self.name, Labels(disc)))
                    continue
                target = Target(self.name, Labels(final), Labels(disc), self.cfg.params)
                wanted.setdefault(target.key, target)
        self.dropped = dropped
        limit = self.cfg.target_limit
        if limit and len(wanted) > limit:
            self.forced_error = f"target_limit exceeded (number of targets: {len(wanted)}, limit: {limit})"
            if self.metrics is not None:
                self.metrics.scrapes_exceeded_target_limit.inc()
        else:
            self.forced_error = None
        for key in list(self.loops):
            if key not in wanted:
                self._retire(self.loops.pop(key), stale=True)
        for key, target in wanted.items():
            if key not in self.loops:
                self.loops[key] = self._new_loop(target)
        if self.metrics is not None:
            self.metrics.target_pool_targets.labels(scrape_job=self.name).set(len(self.loops))
            self.metrics.target_sync_length.labels(scrape_job=self.name).observe(self.clock.now() - start)

    def reload(self, cfg: ScrapeConfig, transport: Transport) -> None:
        """Restart every loop with the new settings; surviving targets keep their staleness state."""
        old = self.loops
        self.cfg, self.transport, self.loops = cfg, transport, {}
        for lp in old.values():
            self._retire(lp, stale=False)
        self.sync(self.groups)
        for key, lp in old.items():
            if key in self.loops:
                self.loops[key].prev_series = lp.prev_series
            else:
                lp.stop(stale=True)
                self._retired.append(lp)

    def stop(self, stale: bool = False) -> None:
        for lp in self.loops.values():
            self._retire(lp, stale=stale)
        self.loops = {}
        if not stale:
            for lp in self._retired:
                lp.cancel_staleness()

    def tasks(self) -> list[asyncio.Task]:
        return [t for lp in [*self.loops.values(), *self._retired] for t in lp.tasks()]

    def _new_loop(self, target: Target) -> ScrapeLoop:
        lp = ScrapeLoop(
            target,
            self.cfg,
            storage=self.storage,
            transport=self.transport,
            clock=self.clock,
            metrics=self.metrics,
            seed=self.seed,
            forced_error=lambda: self.forced_error,
        )
        lp.start()
        return lp

    def _retire(self, lp: ScrapeLoop, stale: bool) -> None:
        lp.stop(stale=stale)
        self._retired = [r for r in self._retired if any(not t.done() for t in r.tasks())]
        if stale:
            self._retired.append(lp)


class ScrapeManager:
    """All scrape pools of a server; what the targets page and ``/api/v1/targets`` read."""

    def __init__(
        self, storage: Any, *, clock: Clock, transport: Transport | None = None, metrics: Any = None
    ):
        self.storage = storage
        self.clock = clock
        self.transport = transport or HttpTransport()
        self.metrics = metrics
        self.pools: dict[str, ScrapePool] = {}
        self.discoveries: dict[str, Discovery] = {}
        self.config: PrometheusConfig | None = None
        self._own_transports: dict[str, Transport] = {}

    async def apply_config(self, config: PrometheusConfig) -> None:
        """Start, restart or stop pools so that they match ``config``; unchanged jobs are untouched."""
        seed = fnv1a64(repr(config.global_.external_labels).encode())
        wanted = {c.job_name: c for c in config.scrape_configs}
        for name in list(self.pools):
            if name not in wanted:
                await self._stop_discovery(name)
                self.pools.pop(name).stop(stale=True)
                if self.metrics is not None:
                    self.metrics.target_pool_targets.remove(name)
        for name, cfg in wanted.items():
            pool = self.pools.get(name)
            if pool is None:
                pool = self.pools[name] = ScrapePool(
                    cfg,
                    storage=self.storage,
                    transport=self._transport_for(cfg),
                    clock=self.clock,
                    metrics=self.metrics,
                    seed=seed,
                )
                if self.metrics is not None:
                    self.metrics.target_scrape_pools.inc()
                self._start_discovery(pool)
            elif pool.cfg != cfg or pool.seed != seed:
                sd_changed = (pool.cfg.static_configs, pool.cfg.file_sd_configs) != (
                    cfg.static_configs,
                    cfg.file_sd_configs,
                )
                pool.seed = seed
                pool.reload(cfg, self._transport_for(cfg))
                if sd_changed:
                    await self._stop_discovery(name)
                    self._start_discovery(pool)
        self.config = config

    async def stop(self) -> None:
        """Shut down: no end-of-run stale markers, as upstream on process exit."""
        for name in list(self.discoveries):
            await self._stop_discovery(name)
        tasks = []
        for pool in self.pools.values():
            pool.stop(stale=False)
            tasks += pool.tasks()
        await cancel_and_wait(*tasks)
        self.pools = {}
        for tr in {*self._own_transports.values(), self.transport}:
            await tr.close()
        self._own_transports = {}

    # --- what the API shows ----------------------------------------------------------------
    def active_targets(self) -> list[Target]:
        return [t for pool in self.pools.values() for t in pool.targets()]

    def dropped_targets(self) -> list[DroppedTarget]:
        return [t for pool in self.pools.values() for t in pool.dropped]

    # --- helpers ---------------------------------------------------------------------------
    def _start_discovery(self, pool: ScrapePool) -> None:
        d = Discovery(
            pool.name,
            pool.cfg.static_configs,
            pool.cfg.file_sd_configs,
            self.clock,
            on_update=lambda groups, p=pool: self._on_discovered(p, groups),
            metrics=self.metrics,
        )
        self.discoveries[pool.name] = d
        d.start()

    def _on_discovered(self, pool: ScrapePool, groups: list[TargetGroup]) -> None:
        if self.metrics is not None:
            n = sum(len(g.targets) for g in groups)
            self.metrics.sd_discovered_targets.labels(config=pool.name, name="scrape").set(n)
        pool.sync(groups)

    async def _stop_discovery(self, name: str) -> None:
        d = self.discoveries.pop(name, None)
        if d is not None:
            await d.stop()

    def _transport_for(self, cfg: ScrapeConfig) -> Transport:
        """The shared transport, or a job's own HTTP client when it needs TLS or redirect settings."""
        http = cfg.http
        if not isinstance(self.transport, HttpTransport) or (
            http.tls_config is None and http.follow_redirects
        ):
            return self.transport
        ctx: ssl.SSLContext | bool | None = None
        tls = http.tls_config
        if tls is not None:
            ctx = ssl.create_default_context(cafile=tls.ca_file or None)
            if tls.cert_file:
                ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
            if tls.insecure_skip_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
        tr = self._own_transports.get(cfg.job_name)
        if tr is not None:
            asyncio.ensure_future(tr.close())
        tr = self._own_transports[cfg.job_name] = HttpTransport(
            ssl_context=ctx, follow_redirects=http.follow_redirects
        )
        return tr
