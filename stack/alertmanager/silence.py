"""Silences: "mute anything matching these labels from then until then" (upstream ``silence/``).

A silence acts at flush time: silenced alerts stay in their groups (and in ``GET /api/v2/alerts``
as ``suppressed``) but are left out of notifications, so when the silence ends the next tick
notifies them as new. Silences outlive restarts: every change rewrites ``silences.json`` in the
storage folder atomically (write a temporary file, then rename over the old one), so a crash
mid-write never leaves a half-written file. Expired silences are kept for ``data.retention``
(120h) so ``amtool silence query --expired`` can still show them.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from stack.alertmanager import matchers as m
from stack.alertmanager.alerts import format_api_time
from stack.model import MATCH_EQUAL, MATCH_REGEXP, Labels, Matcher

DEFAULT_RETENTION = 120 * 3600.0  # --data.retention default (120h)
STATE_FILE = "silences.json"


class SilenceError(ValueError):
    """A silence failed validation (API answers 400 with this message)."""


class StateError(ValueError):
    """A state file in the storage folder cannot be read back."""


class SilenceNotFound(KeyError):
    """No silence with that id (API answers 404)."""


@dataclass
class Silence:
    id: str
    matchers: list[Matcher]
    starts_at: float
    ends_at: float
    updated_at: float
    created_by: str = ""
    comment: str = ""
    annotations: dict[str, str] = field(default_factory=dict)

    def state(self, now: float) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def matches(self, labels: Labels) -> bool:
        return m.matches(self.matchers, labels)

    def to_api(self, now: float) -> dict:
        d = {"id": self.id, "status": {"state": self.state(now)},
             "updatedAt": format_api_time(self.updated_at),
             "matchers": [m.matcher_to_api(x) for x in self.matchers],
             "startsAt": format_api_time(self.starts_at), "endsAt": format_api_time(self.ends_at),
             "createdBy": self.created_by, "comment": self.comment}
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d

    def to_state(self) -> dict:
        return {"id": self.id, "matchers": [m.matcher_to_api(x) for x in self.matchers],
                "startsAt": self.starts_at, "endsAt": self.ends_at, "updatedAt": self.updated_at,
                "createdBy": self.created_by, "comment": self.comment, "annotations": self.annotations}

    @classmethod
    def from_state(cls, d: dict) -> Silence:
        return cls(d["id"], [m.matcher_from_api(x) for x in d["matchers"]], d["startsAt"], d["endsAt"],
                   d["updatedAt"], d.get("createdBy", ""), d.get("comment", ""), d.get("annotations") or {})


class Silences:
    """All silences, their persistence and the create/update/expire rules of the API."""

    def __init__(self, clock, storage_path: str | os.PathLike | None = None,
                 retention: float = DEFAULT_RETENTION):
        self.clock = clock
        self.retention = retention
        self.path = Path(storage_path) / STATE_FILE if storage_path else None
        self._by_id: dict[str, Silence] = {}
        if self.path and self.path.exists():
            self._load()

    # --- API operations -------------------------------------------------------------------------
    def set(self, matchers: list[Matcher], starts_at: float, ends_at: float, created_by: str = "",
            comment: str = "", silence_id: str | None = None, annotations: dict | None = None) -> str:
        """Create, or update the silence ``silence_id``; returns the id now in force."""
        now = self.clock.now()
        validate(matchers, starts_at, ends_at, now)
        old = None
        if silence_id:
            old = self._by_id.get(silence_id)
            if old is None:
                raise SilenceNotFound(silence_id)
        if old is not None and self._can_update(old, matchers, starts_at, ends_at, now):
            old.ends_at, old.created_by, old.comment, old.updated_at = ends_at, created_by, comment, now
            if old.state(now) == "pending":
                old.starts_at = starts_at
            if annotations is not None:
                old.annotations = dict(annotations)
            self._save()
            return old.id
        if old is not None:
            self._expire(old, now)
        new = Silence(str(uuid.uuid4()), list(matchers), max(starts_at, now), ends_at, now, created_by,
                      comment, dict(annotations or {}))
        self._by_id[new.id] = new
        self._save()
        return new.id

    def expire(self, silence_id: str) -> None:
        s = self._by_id.get(silence_id)
        if s is None:
            raise SilenceNotFound(silence_id)
        self._expire(s, self.clock.now())
        self._save()

    def get(self, silence_id: str) -> Silence:
        s = self._by_id.get(silence_id)
        if s is None:
            raise SilenceNotFound(silence_id)
        return s

    def query(self, filters: list[Matcher] = (), states: set[str] | None = None) -> list[Silence]:
        """Silences whose matchers include each filter (same name, operator, value), API order."""
        now = self.clock.now()
        out = [s for s in self._by_id.values()
               if all(any(f.name == x.name and f.type == x.type and f.value == x.value for x in s.matchers)
                      for f in filters)
               and (states is None or s.state(now) in states)]
        order = {"active": 0, "pending": 1, "expired": 2}

        def key(s: Silence):
            st = s.state(now)
            when = s.ends_at if st == "active" else s.starts_at if st == "pending" else -s.ends_at
            return (order[st], when)
        return sorted(out, key=key)

    def silenced_by(self, labels: Labels, now: float | None = None) -> list[str]:
        now = self.clock.now() if now is None else now
        return [s.id for s in self._by_id.values() if s.state(now) == "active" and s.matches(labels)]

    def counts(self) -> dict[str, int]:
        now = self.clock.now()
        out = {"active": 0, "pending": 0, "expired": 0}
        for s in self._by_id.values():
            out[s.state(now)] += 1
        return out

    def gc(self) -> int:
        """Forget silences expired longer than the retention ago."""
        now = self.clock.now()
        gone = [i for i, s in self._by_id.items() if s.ends_at + self.retention <= now]
        for i in gone:
            del self._by_id[i]
        if gone:
            self._save()
        return len(gone)

    # --- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _can_update(old: Silence, matchers, starts_at: float, ends_at: float, now: float) -> bool:
        if [str(x) for x in old.matchers] != [str(x) for x in matchers]:
            return False
        state = old.state(now)
        if state == "active":
            return int(old.starts_at) == int(starts_at) and ends_at >= now
        if state == "pending":
            return starts_at >= now
        return False

    @staticmethod
    def _expire(s: Silence, now: float) -> None:
        state = s.state(now)
        if state == "active":
            s.ends_at, s.updated_at = now, now
        elif state == "pending":
            s.starts_at = s.ends_at = s.updated_at = now

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([s.to_state() for s in self._by_id.values()], indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def _load(self) -> None:
        try:
            for d in json.loads(self.path.read_text(encoding="utf-8")):
                s = Silence.from_state(d)
                self._by_id[s.id] = s
        except (ValueError, KeyError, TypeError) as e:
            raise StateError(f"{self.path}: cannot read the saved silences ({e}); move the file away "
                             "to start without them") from None


def validate(matchers: list[Matcher], starts_at: float, ends_at: float, now: float) -> None:
    """The semantic checks of upstream ``silence.validateSilence`` (API answers 400)."""
    if not matchers:
        raise SilenceError("at least one matcher required")
    for x in matchers:
        if not m.LABEL_NAME_RE.match(x.name):
            raise SilenceError(f'invalid label name "{x.name}"')
    if all(_empty_matching(x) for x in matchers):
        raise SilenceError("at least one matcher must not match the empty string")
    if ends_at <= starts_at:
        raise SilenceError("start time must be before end time")
    if ends_at < now:
        raise SilenceError("end time can't be in the past")


def _empty_matching(x: Matcher) -> bool:
    """Only ``=""`` and regexes matching "" count; ``!=`` and ``!~`` never do (upstream)."""
    return (x.type == MATCH_EQUAL and x.value == "") or (x.type == MATCH_REGEXP and x.matches(""))
