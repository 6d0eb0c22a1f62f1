"""The rule manager: loads the rule files named by ``rule_files`` and keeps their groups running.

Reloading is where care is needed (spec rules.md §1.3): every file is loaded and validated before
anything changes, so one broken file keeps the whole previous rule set running; an unchanged group
keeps running untouched (its timers and pending alerts are not reset by an unrelated edit); a
changed group takes over the alert state of rules with the same name and labels; a removed group's
series get stale markers after two intervals so graphs end instead of lingering for 5 minutes.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
from collections.abc import Callable, Iterable

from stack.clock import Clock
from stack.rules.alerting import DEFAULT_RESEND_DELAY_MS, AlertingRule
from stack.rules.group import Group
from stack.rules.metrics import RuleDurations, RuleManagerCollector
from stack.rules.rulefile import GroupSpec, load_rule_file

log = logging.getLogger(__name__)

DEFAULT_EVALUATION_INTERVAL_MS = 60_000  # global.evaluation_interval


def expand_rule_files(patterns: Iterable[str], base_dir: str = ".") -> list[str]:
    """Resolve ``rule_files`` globs relative to the config file's folder, as upstream does."""
    files: list[str] = []
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
        files.extend(sorted(glob.glob(full)))
    return list(dict.fromkeys(files))


class RuleManager:
    def __init__(
        self,
        engine,
        storage,
        clock: Clock,
        notify: Callable[[list[dict]], None] | None = None,
        external_url: str = "",
        resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS,
    ):
        self.engine, self.storage, self.clock = engine, storage, clock
        self.notify = notify
        self.external_url = external_url
        self.resend_delay_ms = resend_delay_ms
        self.groups: dict[tuple[str, str], Group] = {}
        self._running = False
        self._pending_stale: set[asyncio.Task] = set()
        self.durations = RuleDurations()
        self.collector = RuleManagerCollector(lambda: list(self.groups.values()), self.durations)

    @staticmethod
    def load_files(files: Iterable[str]) -> list[GroupSpec]:
        """Load and validate every file; raises ConfigError on the first problem."""
        specs: list[GroupSpec] = []
        for f in files:
            specs.extend(load_rule_file(f))
        return specs

    def update(
        self,
        files: Iterable[str],
        *,
        evaluation_interval_ms: int = DEFAULT_EVALUATION_INTERVAL_MS,
        query_offset_ms: int = 0,
        external_labels: dict[str, str] | None = None,
    ) -> None:
        """Apply a new rule set. Raises ConfigError, with nothing changed, if any file is bad."""
        specs = self.load_files(files)
        old, new = self.groups, {}
        for spec in specs:
            interval = spec.interval_ms or evaluation_interval_ms
            offset = spec.query_offset_ms if spec.query_offset_ms is not None else query_offset_ms
            key = (spec.file, spec.name)
            running = old.get(key)
            if running is not None and running.equals(spec, interval, offset):
                new[key] = running
                continue
            group = Group(
                spec,
                interval_ms=interval,
                query_offset_ms=offset,
                engine=self.engine,
                storage=self.storage,
                clock=self.clock,
                notify=self.notify,
                external_labels=external_labels,
                external_url=self.external_url,
                resend_delay_ms=self.resend_delay_ms,
            )
            if running is not None:
                _carry_state(running, group)
            group.durations = self.durations
            new[key] = group
        for key, group in old.items():
            if new.get(key) is not group:
                self._retire(group, stale=key not in new)
        self.groups = new
        if self._running:
            for group in new.values():
                if group._task is None:
                    group.start()

    def start(self) -> None:
        self._running = True
        for group in self.groups.values():
            if group._task is None:
                group.start()

    async def stop(self) -> None:
        self._running = False
        for task in list(self._pending_stale):
            task.cancel()
        for group in self.groups.values():
            await group.stop()

    def _retire(self, group: Group, stale: bool) -> None:
        if not self._running:  # nothing scheduled yet (promtool, tests): nothing to stop or expire
            return

        async def retire() -> None:
            await group.stop()
            if stale:  # upstream waits 2 intervals before marking a removed group's series stale
                await self.clock.sleep(2 * group.interval_ms / 1000)
                group.stale_all(self.clock.now_ms())

        task = asyncio.ensure_future(retire())
        self._pending_stale.add(task)
        task.add_done_callback(self._pending_stale.discard)

    # --- views for the API ---------------------------------------------------------------
    def alerting_rules(self) -> list[AlertingRule]:
        return [r for g in self.groups.values() for r in g.rules if isinstance(r, AlertingRule)]


def _carry_state(old: Group, new: Group) -> None:
    """Match rules by name and static labels (in order) and carry alerts and written series."""
    pool: dict[tuple, list[int]] = {}
    for i, rule in enumerate(old.rules):
        pool.setdefault(_identity(rule), []).append(i)
    for j, rule in enumerate(new.rules):
        candidates = pool.get(_identity(rule))
        if not candidates:
            continue
        i = candidates.pop(0)
        new.status[j].written = old.status[i].written
        if isinstance(rule, AlertingRule) and isinstance(old.rules[i], AlertingRule):
            rule.restore_from(old.rules[i])
    # Series of old rules without a counterpart go stale at the new group's first evaluation.
    for leftover in pool.values():
        for i in leftover:
            new.orphaned |= old.status[i].written


def _identity(rule) -> tuple:
    return (type(rule).__name__, rule.name, tuple(sorted(rule.static_labels.items())))
