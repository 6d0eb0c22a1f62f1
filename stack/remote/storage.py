"""All configured ``remote_write`` endpoints of one server, kept in step with its config.

The server owns one ``WriteStorage``: ``start(config)`` when it starts, ``apply_config(config)`` on
every successful reload, ``stop()`` on shutdown. Each endpoint gets its own
:class:`~stack.remote.queue.QueueManager`, so a slow receiver never holds back another one. An
endpoint whose settings did not change keeps its queue (and its cursors) across a reload, so a
reload neither resends nor skips samples.
"""

from __future__ import annotations

from stack.clock import Clock, WallClock
from stack.remote.queue import QueueConfig, QueueManager


class WriteStorage:
    def __init__(self, tsdb, clock: Clock | None = None):
        self.tsdb = tsdb
        self.clock = clock or WallClock()
        # (remote_write config, external labels, queue); configs hold dicts, so compared, not hashed
        self._queues: list[tuple[object, dict, QueueManager]] = []

    @property
    def queues(self) -> list[QueueManager]:
        return [q for _, _, q in self._queues]

    async def start(self, config) -> None:
        await self.apply_config(config)

    async def apply_config(self, config) -> None:
        external = dict(getattr(getattr(config, "global_", None), "external_labels", ()) or ())
        wanted = list(getattr(config, "remote_write", ()) or ())
        kept = []
        for rw, ext, qm in self._queues:
            if ext == external and rw in wanted:
                wanted.remove(rw)
                kept.append((rw, ext, qm))
            else:
                await qm.stop()
        for rw in wanted:
            http = getattr(rw, "http", None)
            qm = QueueManager(
                self.tsdb, rw.url, clock=self.clock, queue=QueueConfig.from_mapping(rw.queue_config),
                external_labels=external, relabel=rw.write_relabel_configs,
                headers=http.auth_headers() if http is not None else None,
                timeout_ms=rw.remote_timeout_ms, name=rw.name,
            )
            await qm.start()
            kept.append((rw, external, qm))
        self._queues = kept

    async def flush(self) -> int:
        """Send everything committed so far to every endpoint now (tests, shutdown)."""
        return sum([await q.flush() for q in self.queues])

    async def stop(self) -> None:
        for q in self.queues:
            await q.stop()
        self._queues = []
