"""Inhibition: a firing "source" alert mutes matching "target" alerts (upstream ``inhibit/``).

The classic use is "the whole cluster is down (critical) — don't also page for each service on
it (warning)". The check runs at flush time and on API reads, never at ingestion, so an
inhibition that ends lets the target through at the group's next tick.

We scan every firing alert as a possible source, as Alertmanager 0.25 does (newer versions index
one source per ``equal`` combination, which can miss a qualifying source); stores in a workshop
hold a few hundred alerts at most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stack.alertmanager import matchers as m
from stack.model import Labels, Matcher


@dataclass(frozen=True)
class InhibitRule:
    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    name: str = ""

    def source_matches(self, labels: Labels) -> bool:
        return m.matches(self.source_matchers, labels)

    def target_matches(self, labels: Labels) -> bool:
        return m.matches(self.target_matchers, labels)

    def equal_labels(self, a: Labels, b: Labels) -> bool:
        return all(a.get(n) == b.get(n) for n in self.equal)


class Inhibitor:
    """Answers "is this alert inhibited, and by which source?" against the current alert store."""

    def __init__(self, rules: Iterable[InhibitRule], alerts):
        self.rules = list(rules)
        self._alerts = alerts  # the AlertStore

    def inhibited_by(self, labels: Labels, now: float) -> list[str]:
        """Fingerprints of firing source alerts that inhibit an alert with ``labels``."""
        out: list[str] = []
        for rule in self.rules:
            if not rule.target_matches(labels):
                continue
            target_is_source = rule.source_matches(labels)
            for src in self._alerts.firing(now):
                if src.labels == labels or not rule.source_matches(src.labels):
                    continue
                if not rule.equal_labels(src.labels, labels):
                    continue
                # Mutual-inhibition guard: an alert that is both source and target can only be
                # inhibited by a source that is not itself a target (upstream inhibit.go).
                if target_is_source and rule.target_matches(src.labels):
                    continue
                if src.fingerprint not in out:
                    out.append(src.fingerprint)
                break
        return out

    def is_inhibited(self, labels: Labels, now: float) -> bool:
        return bool(self.inhibited_by(labels, now))
