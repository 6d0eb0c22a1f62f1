"""Helpers for the Alertmanager tests: an in-process webhook recorder and time shorthands."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from stack.clock import VirtualClock

DAY = "2024-05-01"


def virtual_clock(start: float) -> VirtualClock:
    """A VirtualClock starting at ``start`` (epoch seconds)."""
    return VirtualClock(start=start)


def t(hms: str) -> float:
    """``"10:00:30"`` on the test day, as epoch seconds."""
    return datetime.fromisoformat(f"{DAY}T{hms}+00:00").timestamp()


def iso(hms: str) -> str:
    return f"{DAY}T{hms}Z"


def hms(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M:%S")


@dataclass
class Recorder:
    """A webhook transport for the virtual clock: records every POST and answers a status code.

    ``fail_first`` makes the first N requests answer ``fail_status`` (a receiver that is down).
    """

    clock: object
    fail_first: int = 0
    fail_status: int = 500
    calls: list = field(default_factory=list)      # every attempt: (time, url, payload)
    received: list = field(default_factory=list)   # successful deliveries only

    async def __call__(self, url: str, body: bytes, headers: dict, timeout) -> int:
        payload = json.loads(body)
        self.calls.append((self.clock.now(), url, payload))
        if len(self.calls) <= self.fail_first:
            return self.fail_status
        self.received.append((self.clock.now(), url, payload))
        return 200

    def summary(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """[(time, [(alert label 'n', status), ...]), ...] of successful deliveries."""
        return [(hms(when), [(a["labels"].get("n", a["labels"]["alertname"]), a["status"])
                             for a in p["alerts"]])
                for when, _url, p in self.received]
