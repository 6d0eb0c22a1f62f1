"""Alerting rules: the inactive -> pending -> firing state machine, and the ALERTS series.

An alerting rule turns each sample its expression returns into an *alert instance* identified by
its labels. The instance must stay present for ``for`` before it fires, may be kept firing for
``keep_firing_for`` after the condition clears, and once resolved is remembered for 15 minutes so
the resolution keeps being re-sent to Alertmanager. The exact rules (spec rules.md §6, §8) matter
to a workshop: participants watch an alert go pending and fire, and count the minutes.

Times here are milliseconds; ``ts`` is the group's slot time (not wall-clock time).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from enum import StrEnum

from stack.model import METRIC_NAME, Labels
from stack.promql.value import Sample
from stack.rules.rulefile import RuleSpec
from stack.rules.template import Template
from stack.rules.template_funcs import TemplateError

RESOLVED_RETENTION_MS = 15 * 60_000  # upstream resolvedRetention: resolved alerts re-sent for 15m
DEFAULT_RESEND_DELAY_MS = 60_000  # --rules.alert.resend-delay


class AlertState(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass
class Alert:
    """One alert instance (upstream rules.Alert)."""

    labels: Labels
    annotations: dict[str, str]
    value: float
    active_at: int
    state: AlertState = AlertState.PENDING
    fired_at: int | None = None
    resolved_at: int | None = None
    last_sent_at: int | None = None
    valid_until: int | None = None
    keep_firing_since: int | None = None

    def needs_sending(self, ts: int, resend_delay_ms: int) -> bool:
        if self.state == AlertState.PENDING:
            return False
        if self.resolved_at is not None and (
            self.last_sent_at is None or self.resolved_at > self.last_sent_at
        ):
            return True
        return self.last_sent_at is None or self.last_sent_at + resend_delay_ms < ts


class RuleEvalError(Exception):
    """An evaluation failed: health becomes "err", nothing is written or sent."""


@dataclass
class AlertingRule:
    spec: RuleSpec
    group_labels: dict[str, str] = field(default_factory=dict)
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    limit: int = 0
    active: dict[Labels, Alert] = field(default_factory=dict)

    def __post_init__(self):
        self.name = self.spec.alert or ""
        # group labels first, the rule's own labels override (spec §1.1)
        self.static_labels = {**self.group_labels, **self.spec.labels}
        self._label_tpls = {k: Template(v, f"__alert_{self.name}") for k, v in self.static_labels.items()}
        self._annotation_tpls = {
            k: Template(v, f"__alert_{self.name}") for k, v in self.spec.annotations.items()
        }

    # --- evaluation ------------------------------------------------------------------------
    def evaluate(self, samples: list[Sample], ts: int, funcs: dict) -> None:
        """Advance the state machine with this evaluation's result (spec §6.3)."""
        seen: dict[Labels, tuple[dict[str, str], float]] = {}
        for s in samples:
            data = {
                "Labels": s.labels.to_dict(),
                "Value": s.v,
                "ExternalLabels": self.external_labels,
                "ExternalURL": self.external_url,
            }
            identity = dict(s.labels.without(METRIC_NAME).pairs)
            for k, tpl in self._label_tpls.items():
                identity[k] = _render(tpl, data, funcs)
            identity["alertname"] = self.name
            labels = Labels(identity)
            if labels in seen:
                raise RuleEvalError(
                    "vector contains metrics with the same labelset after applying alert labels"
                )
            seen[labels] = ({k: _render(t, data, funcs) for k, t in self._annotation_tpls.items()}, s.v)

        for labels, (rendered, value) in seen.items():
            alert = self.active.get(labels)
            if alert is not None and alert.state != AlertState.INACTIVE:
                alert.value, alert.annotations = value, rendered
            else:
                self.active[labels] = Alert(labels, rendered, value, active_at=ts)

        for labels, alert in list(self.active.items()):
            if labels in seen:
                alert.keep_firing_since = None
                continue
            keep_firing = False
            if alert.state == AlertState.FIRING and self.spec.keep_firing_for_ms > 0:
                if alert.keep_firing_since is None:
                    alert.keep_firing_since = ts
                keep_firing = ts - alert.keep_firing_since < self.spec.keep_firing_for_ms
            if alert.state == AlertState.PENDING:
                del self.active[labels]  # never sent, so nothing to resolve
                continue
            if alert.resolved_at is not None and ts - alert.resolved_at > RESOLVED_RETENTION_MS:
                del self.active[labels]
                continue
            if alert.state != AlertState.INACTIVE and not keep_firing:
                alert.state, alert.resolved_at = AlertState.INACTIVE, ts

        live = [a for a in self.active.values() if a.state != AlertState.INACTIVE]
        if self.limit and len(live) > self.limit:
            self.active.clear()
            raise RuleEvalError(f"exceeded limit of {self.limit} with {len(live)} alerts")
        for alert in live:
            held = ts - alert.active_at
            if alert.state == AlertState.PENDING and held >= self.spec.for_ms:
                alert.state, alert.fired_at = AlertState.FIRING, ts
            elif alert.state == AlertState.FIRING and held < self.spec.for_ms:
                alert.state, alert.fired_at = AlertState.PENDING, None
                alert.last_sent_at = alert.keep_firing_since = None

    def series(self) -> list[tuple[Labels, float]]:
        """The ALERTS and ALERTS_FOR_STATE samples for every pending or firing instance (§6.7)."""
        out = []
        for alert in self.active.values():
            if alert.state == AlertState.INACTIVE:
                continue
            out.append((alert.labels.merge({METRIC_NAME: "ALERTS", "alertstate": alert.state.value}), 1.0))
            out.append(
                (alert.labels.merge({METRIC_NAME: "ALERTS_FOR_STATE"}), float(alert.active_at // 1000))
            )
        return out

    def alerts_to_send(self, ts: int, interval_ms: int, resend_delay_ms: int) -> list[Alert]:
        """Instances due for (re)sending; marks them sent (§8.1)."""
        due = []
        for alert in self.active.values():
            if alert.needs_sending(ts, resend_delay_ms):
                alert.last_sent_at = ts
                alert.valid_until = ts + 4 * max(interval_ms, resend_delay_ms)
                due.append(alert)
        return due

    def generator_url(self, canonical_expr: str) -> str:
        query = urllib.parse.quote_plus(canonical_expr)
        return f"{self.external_url.rstrip('/')}/graph?g0.expr={query}&g0.tab=1"

    # --- views for the API -----------------------------------------------------------------
    def current_alerts(self) -> list[Alert]:
        """Pending and firing instances (resolved ones are not shown by /api/v1/alerts)."""
        return [a for a in self.active.values() if a.state != AlertState.INACTIVE]

    @property
    def state(self) -> AlertState:
        states = {a.state for a in self.current_alerts()}
        if AlertState.FIRING in states:
            return AlertState.FIRING
        return AlertState.PENDING if states else AlertState.INACTIVE

    def restore_from(self, other: AlertingRule) -> None:
        """Carry active alerts over a reload that changed the group but kept this rule."""
        self.active = other.active


def _render(tpl: Template, data: dict, funcs: dict) -> str:
    try:
        return tpl.execute(data, funcs)
    except TemplateError as e:
        return f"<error expanding template: {e}>"
