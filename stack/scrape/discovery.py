"""Service discovery: where the target groups of a job come from (static lists and files).

Upstream has dozens of mechanisms behind one interface: each produces *target groups* (a list of
``__address__`` entries plus common labels, under a source name), and the manager forwards the
latest groups to the scrape pool. We keep that shape with the two mechanisms a laptop workshop
needs: ``static_configs`` (fixed at load time) and ``file_sd_configs``, which is how people wire
their own discovery to Prometheus ("write a JSON file, Prometheus picks it up").

Files are re-read when their modification time or size changes — checked every
:data:`FILE_SD_POLL_INTERVAL_S` on the stack's clock, instead of upstream's inotify, so the same
code works in virtual time — and at least every ``refresh_interval``. A file that fails to parse
keeps the targets it had, and the error is logged and counted, as upstream does.

:class:`Discovery` takes the two config lists, not a scrape config, so the notifier can discover
Alertmanagers with it too.
"""

from __future__ import annotations

import asyncio
import glob
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stack.clock import Clock, cancel_and_wait
from stack.config.yamlutil import ConfigError, load_yaml
from stack.scrape.relabel import LABEL_NAME_RE

log = logging.getLogger("stack.scrape.discovery")

# How often file_sd files are checked for changes (upstream reacts to inotify events at once
# and batches discovery updates every 5s; polling at that period gives the same latency).
FILE_SD_POLL_INTERVAL_S = 5.0
FILEPATH_LABEL = "__meta_filepath"


@dataclass
class TargetGroup:
    """Targets sharing labels, as one SD source reported them."""

    source: str
    targets: list[dict[str, str]]
    labels: dict[str, str] = field(default_factory=dict)


class Discovery:
    """Runs the discoverers of one job and calls ``on_update(groups)`` whenever its groups change."""

    def __init__(
        self,
        name: str,
        static_configs: Sequence[Any],
        file_sd_configs: Sequence[Any],
        clock: Clock,
        on_update: Callable[[list[TargetGroup]], None],
        metrics: Any = None,
    ):
        self.name = name
        self.clock = clock
        self.on_update = on_update
        self.metrics = metrics
        self.static_groups = [
            TargetGroup(f"{i}", [{"__address__": t} for t in sc.targets], dict(sc.labels))
            for i, sc in enumerate(static_configs)
        ]
        self.file_sds = [FileDiscoverer(f, metrics) for f in file_sd_configs]
        self._task: asyncio.Task | None = None

    def groups(self) -> list[TargetGroup]:
        out = list(self.static_groups)
        for f in self.file_sds:
            out += f.groups()
        return out

    def start(self) -> None:
        """Read everything once (so targets exist right away), then watch files in the background."""
        for f in self.file_sds:
            f.refresh(self.clock.now())
        self.on_update(self.groups())
        if self.file_sds:
            self._task = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _watch(self) -> None:
        while True:
            await self.clock.sleep(FILE_SD_POLL_INTERVAL_S)
            now = self.clock.now()
            changed = False
            for f in self.file_sds:
                changed |= f.poll(now)
            if changed:
                self.on_update(self.groups())


class FileDiscoverer:
    """One ``file_sd_configs`` entry: its globs, the groups each file gave, and when it last looked."""

    def __init__(self, cfg: Any, metrics: Any = None):
        self.patterns = cfg.files
        self.refresh_s = cfg.refresh_interval_ms / 1000.0
        self.metrics = metrics
        self._stamps: dict[str, tuple[float, int]] = {}
        self._groups: dict[str, list[TargetGroup]] = {}
        self._last_refresh = 0.0

    def groups(self) -> list[TargetGroup]:
        return [g for path in sorted(self._groups) for g in self._groups[path]]

    def poll(self, now: float) -> bool:
        """Re-read files whose stamp changed (or all, when refresh_interval has passed)."""
        if now - self._last_refresh >= self.refresh_s:
            return self.refresh(now)
        current = self._scan()
        if current == self._stamps:
            return False
        return self.refresh(now, current)

    def refresh(self, now: float, current: dict[str, tuple[float, int]] | None = None) -> bool:
        current = self._scan() if current is None else current
        before = self.groups()
        for path in list(self._groups):
            if path not in current:  # file deleted: its targets go away
                del self._groups[path]
        for path, stamp in current.items():
            if (
                stamp == self._stamps.get(path)
                and path in self._groups
                and now - self._last_refresh < self.refresh_s
            ):
                continue
            try:
                self._groups[path] = read_target_file(path)
            except ConfigError as e:
                log.error("Error reading file, keeping its last good targets: %s", e)
                if self.metrics is not None:
                    self.metrics.sd_file_read_errors.inc()
        self._stamps = current
        self._last_refresh = now
        return self.groups() != before

    def _scan(self) -> dict[str, tuple[float, int]]:
        out = {}
        for pattern in self.patterns:
            for path in glob.glob(pattern):
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                out[path] = (st.st_mtime, st.st_size)
        return out


def read_target_file(path: str) -> list[TargetGroup]:
    """Parse a JSON or YAML list of ``{targets: [...], labels: {...}}``; ConfigError with the place."""
    if path.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as e:
            raise ConfigError(f"cannot read file: {e.strerror}", path) from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"invalid JSON: {e.msg}", path, e.lineno) from None
    else:
        data = load_yaml(path)
        if data == {}:
            data = []
    if not isinstance(data, list):
        raise ConfigError("expected a list of target groups", path, getattr(data, "line", None))
    groups = []
    for i, item in enumerate(data):
        line = getattr(data, "line_of", lambda _i: None)(i)
        if not isinstance(item, dict) or set(item) - {"targets", "labels"}:
            raise ConfigError("each target group needs only 'targets' and 'labels'", path, line)
        targets = item.get("targets") or []
        labels = item.get("labels") or {}
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ConfigError("'targets' must be a list of host:port strings", path, line)
        if not isinstance(labels, dict):
            raise ConfigError("'labels' must be a mapping", path, line)
        for name in labels:
            if not isinstance(name, str) or not LABEL_NAME_RE.match(name):
                raise ConfigError(f'"{name}" is not a valid label name', path, line)
        group_labels = {k: "" if v is None else str(v) for k, v in labels.items()}
        group_labels[FILEPATH_LABEL] = path
        groups.append(TargetGroup(f"{path}:{i}", [{"__address__": t} for t in targets], group_labels))
    return groups
