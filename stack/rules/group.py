"""A rule group: its rules evaluated one after another, at fixed slots on the stack clock.

Why slots: every group evaluates at times ``t ≡ H(file, name) (mod interval)``, so groups are
spread over the interval yet each lands on the same phase after a restart, and every rule of one
iteration sees the same evaluation time ``ts``. Rules run sequentially and each rule's output is
committed before the next rule runs, so a rule may read what an earlier rule of the same group
wrote in this very iteration (spec rules.md §2).

The loop is plain asyncio on the stack clock, so it runs unchanged live and in a simulation; the
evaluation itself (:meth:`Group.evaluate`) is synchronous and is what ``promtool test rules``
drives directly.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from stack.clock import Clock, cancel_and_wait
from stack.model import EMPTY_LABELS, STALE_NAN, Labels
from stack.promql import ast
from stack.promql.parser import parse_expr
from stack.promql.value import Sample, Scalar, Vector
from stack.rules.alerting import DEFAULT_RESEND_DELAY_MS, Alert, AlertingRule, RuleEvalError
from stack.rules.recording import RecordingRule
from stack.rules.rulefile import GroupSpec
from stack.rules.template_funcs import QuerySample, runtime_functions

log = logging.getLogger(__name__)

Rule = RecordingRule | AlertingRule


@dataclass
class RuleStatus:
    """What /api/v1/rules shows about one rule's last evaluation."""

    health: str = "unknown"
    last_error: str = ""
    last_evaluation: float | None = None  # wall-clock seconds of the evaluation's start
    evaluation_time: float = 0.0  # seconds the evaluation took
    written: set[Labels] = field(default_factory=set)  # series written last time (for staleness)


class Group:
    def __init__(
        self,
        spec: GroupSpec,
        *,
        interval_ms: int,
        query_offset_ms: int,
        engine,
        storage,
        clock: Clock,
        notify: Callable[[list[dict]], None] | None = None,
        external_labels: dict[str, str] | None = None,
        external_url: str = "",
        resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS,
    ):
        self.spec, self.name, self.file = spec, spec.name, spec.file
        self.interval_ms, self.query_offset_ms = interval_ms, query_offset_ms
        self.engine, self.storage, self.clock = engine, storage, clock
        self.notify = notify
        self.resend_delay_ms = resend_delay_ms
        self.external_labels = external_labels or {}
        self.rules: list[Rule] = []
        self.exprs: list[ast.Expr] = []
        for rs in spec.rules:
            if rs.alert:
                self.rules.append(
                    AlertingRule(rs, spec.labels, self.external_labels, external_url, spec.limit)
                )
            else:
                self.rules.append(RecordingRule(rs, spec.labels, spec.limit))
            self.exprs.append(parse_expr(rs.expr))
        self.status = [RuleStatus() for _ in self.rules]
        self.last_evaluation: float | None = None
        self.evaluation_time = 0.0
        self.iterations_missed = 0
        self.iterations = 0  # scheduled evaluations, missed ones included (upstream counts both)
        self.rule_evaluations = 0
        self.rule_failures = 0
        self.durations = None  # a stack.rules.metrics.RuleDurations, set by the manager
        self.orphaned: set[Labels] = set()  # series of rules dropped by a reload, to mark stale
        self._task: asyncio.Task | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.file, self.name)

    # --- scheduling ----------------------------------------------------------------------
    def slot_offset_ms(self) -> int:
        # Upstream hashes the full file path; we hash the file's name, so that the same rules land on
        # the same phase in every clone and on every laptop (simulations must repeat exactly).
        digest = hashlib.sha256(f"{os.path.basename(self.file)};{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.interval_ms

    def next_slot_after(self, now_ms: int) -> int:
        """The first slot strictly after ``now_ms`` (a full interval when now is a slot)."""
        return now_ms - ((now_ms - self.slot_offset_ms()) % self.interval_ms) + self.interval_ms

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        ts = self.next_slot_after(self.clock.now_ms())
        while True:
            await self.clock.sleep_until(ts / 1000)
            self.evaluate(ts)
            missed = (self.clock.now_ms() - ts) // self.interval_ms - 1
            self.iterations += 1
            if missed > 0:  # an overrun skips slots instead of queueing evaluations
                self.iterations_missed += missed
                self.iterations += missed
            ts += (max(missed, 0) + 1) * self.interval_ms

    # --- one iteration ---------------------------------------------------------------------
    def evaluate(self, ts: int) -> None:
        """Evaluate every rule at slot time ``ts`` (ms), writing and sending as upstream does."""
        started = self.clock.monotonic()
        self.last_evaluation = self.clock.now()
        query_ts = ts - self.query_offset_ms
        to_send: list[dict] = []
        for rule, expr, status in zip(self.rules, self.exprs, self.status, strict=True):
            rule_started = self.clock.monotonic()
            status.last_evaluation = self.clock.now()
            try:
                samples = self._instant(expr, query_ts)
                if isinstance(rule, RecordingRule):
                    series = rule.evaluate(samples)
                else:
                    rule.evaluate(samples, ts, self._template_funcs(ts))
                    series = rule.series()
                    for alert in rule.alerts_to_send(ts, self.interval_ms, self.resend_delay_ms):
                        to_send.append(self._alert_payload(rule, alert))
                self._write(series, status, query_ts)
                status.health, status.last_error = "ok", ""
            except RuleEvalError as e:
                status.health, status.last_error = "err", str(e)
            except Exception as e:  # a query error (timeout, too many samples...) fails only this rule
                status.health, status.last_error = "err", str(e)
                log.warning("rule %s in group %s failed: %s", rule.name, self.name, e)
            status.evaluation_time = self.clock.monotonic() - rule_started
            self.rule_evaluations += 1
            self.rule_failures += status.health == "err"
            if self.durations is not None:
                self.durations.observe(status.evaluation_time)
        if self.orphaned:
            self._write([], RuleStatus(written=self.orphaned), query_ts)
            self.orphaned = set()
        self.evaluation_time = self.clock.monotonic() - started
        if to_send and self.notify is not None:
            self.notify(to_send)

    def _instant(self, expr: ast.Expr, t_ms: int) -> list[Sample]:
        result = self.engine.instant(expr, t_ms)
        if isinstance(result, Vector):
            return result.samples
        if isinstance(result, Scalar):
            return [Sample(EMPTY_LABELS, t_ms, result.v)]
        raise RuleEvalError("rule result is not a vector or scalar")

    def _write(self, series: list[tuple[Labels, float]], status: RuleStatus, t_ms: int) -> None:
        app = self.storage.appender()
        for labels, v in series:
            app.append(labels, t_ms, v)
        current = {labels for labels, _ in series}
        for gone in status.written - current:
            app.append(gone, t_ms, STALE_NAN)
        app.commit()
        status.written = current

    def _template_funcs(self, ts: int) -> dict:
        def query(q: str) -> list[QuerySample]:
            return [QuerySample(s.labels.to_dict(), s.v) for s in self._instant(parse_expr(q), ts)]

        return runtime_functions(query, now=ts / 1000, external_url=self._external_url())

    def _external_url(self) -> str:
        rule = next((r for r in self.rules if isinstance(r, AlertingRule)), None)
        return rule.external_url if rule else ""

    def _alert_payload(self, rule: AlertingRule, alert: Alert) -> dict:
        ends = alert.resolved_at if alert.resolved_at is not None else alert.valid_until
        payload = {
            "labels": alert.labels.to_dict(),
            "annotations": dict(alert.annotations),
            "startsAt": format_rfc3339_ms(alert.fired_at or alert.active_at),
            "endsAt": format_rfc3339_ms(ends or 0),
            "generatorURL": rule.generator_url(canonical(rule.spec.expr)),
        }
        return payload

    def stale_all(self, t_ms: int) -> None:
        """Mark every series this group wrote as stale (the group was removed by a reload)."""
        app = self.storage.appender()
        for status in self.status:
            for labels in status.written:
                app.append(labels, t_ms, STALE_NAN)
            status.written = set()
        app.commit()

    def equals(self, other: GroupSpec, interval_ms: int, query_offset_ms: int) -> bool:
        """Unchanged on reload: keep the running group, timers and state untouched (§1.3)."""
        return (
            self.interval_ms == interval_ms
            and self.query_offset_ms == query_offset_ms
            and self.spec.limit == other.limit
            and self.spec.labels == other.labels
            and [r.canonical() for r in self.spec.rules] == [r.canonical() for r in other.rules]
        )


@functools.lru_cache(maxsize=1024)  # every alert sent, every evaluation, asks for its rule's
def canonical(expr: str) -> str:
    """The expression re-printed in canonical PromQL (``up==0`` -> ``up == 0``) for generatorURL."""
    try:
        from stack.promql.printer import format_expr
    except ImportError:  # pragma: no cover - the printer ships with the parser
        return expr
    return format_expr(parse_expr(expr))


def format_rfc3339_ms(ms: int) -> str:
    """RFC 3339 with exactly three fractional digits and Z, as the notifier sends times."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
