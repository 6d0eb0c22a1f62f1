"""The notification log: what each integration last told each group's receiver, and when.

This is how Alertmanager avoids re-sending an unchanged group every ``group_interval``
(upstream ``nflog/``): after a successful send the firing and resolved alert hashes are written
here, and the next tick's dedup stage compares against them. Entries live for
``min(data.retention, 2 x repeat_interval)``; expiry is applied by the periodic GC, not at lookup,
as upstream does. With a storage folder the log is kept in ``nflog.json`` (rewritten atomically
after each entry), so a restarted Alertmanager does not re-send every group as "first
notification".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from stack.alertmanager.silence import StateError

DEFAULT_RETENTION = 120 * 3600.0  # --data.retention (120h), shared with silences
STATE_FILE = "nflog.json"


@dataclass(frozen=True)
class Entry:
    firing: frozenset[str]
    resolved: frozenset[str]
    timestamp: float
    expires_at: float


class NotificationLog:
    def __init__(self, clock, retention: float = DEFAULT_RETENTION,
                 storage_path: str | os.PathLike | None = None):
        self.clock = clock
        self.retention = retention
        self.path = Path(storage_path) / STATE_FILE if storage_path else None
        self._entries: dict[tuple[str, str, str], Entry] = {}
        if self.path and self.path.exists():
            try:
                for row in json.loads(self.path.read_text(encoding="utf-8")):
                    self._entries[tuple(row["key"])] = Entry(frozenset(row["firing"]),
                                                             frozenset(row["resolved"]),
                                                             row["timestamp"], row["expires_at"])
            except (ValueError, KeyError, TypeError) as e:
                raise StateError(f"{self.path}: cannot read the notification log ({e}); move the file "
                                 "away to start without it") from None

    def query(self, group_key: str, receiver: str, integration: str) -> Entry | None:
        return self._entries.get((group_key, receiver, integration))

    def log(self, group_key: str, receiver: str, integration: str, firing, resolved,
            repeat_interval: float) -> None:
        now = self.clock.now()
        ttl = min(self.retention, 2 * repeat_interval)
        self._entries[(group_key, receiver, integration)] = Entry(frozenset(firing), frozenset(resolved),
                                                                   now, now + ttl)
        self._save()

    def gc(self) -> int:
        now = self.clock.now()
        gone = [k for k, e in self._entries.items() if e.expires_at <= now]
        for k in gone:
            del self._entries[k]
        if gone:
            self._save()
        return len(gone)

    def _save(self) -> None:
        if self.path is None:
            return
        rows = [{"key": list(k), "firing": sorted(e.firing), "resolved": sorted(e.resolved),
                 "timestamp": e.timestamp, "expires_at": e.expires_at} for k, e in self._entries.items()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows), encoding="utf-8")
        os.replace(tmp, self.path)

    def __len__(self) -> int:
        return len(self._entries)


def needs_update(entry: Entry | None, firing: set[str], resolved: set[str], now: float,
                 repeat_interval: float, send_resolved: bool) -> str:
    """The dedup decision of upstream ``DedupStage``; returns the reason to notify, or ""."""
    if entry is None:
        return "first notification" if firing else ""
    if not firing <= entry.firing:
        return "first notification" if not entry.firing else "new alerts added"
    if not firing:
        return "all alerts resolved" if entry.firing else ""
    if send_resolved and not resolved <= entry.resolved:
        return "some alerts resolved"
    if entry.timestamp < now - repeat_interval:
        return "repeat interval elapsed"
    return ""
