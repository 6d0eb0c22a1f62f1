"""The rule manager's own metrics, under upstream's names, for the self-monitoring dashboard.

A collector reads the groups' bookkeeping at scrape time instead of mirroring it in separate metric
objects, so the numbers /metrics shows are the ones /api/v1/rules shows. The evaluation-duration
summary keeps upstream's quantiles (0.5, 0.9, 0.99) over the most recent rule evaluations.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import numpy as np
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily

QUANTILES = (0.5, 0.9, 0.99)  # upstream prometheus_rule_evaluation_duration_seconds objectives
RECENT_EVALUATIONS = 1000  # the window the quantiles are computed over


class RuleDurations:
    """Recent rule evaluation durations, plus their running count and sum."""

    def __init__(self):
        self.recent: deque[float] = deque(maxlen=RECENT_EVALUATIONS)
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.recent.append(seconds)
        self.count += 1
        self.sum += seconds


class RuleManagerCollector:
    """prometheus_client collector over ``groups()`` (a callable returning the current groups)."""

    def __init__(self, groups: Callable[[], Iterable], durations: RuleDurations):
        self._groups = groups
        self._durations = durations

    def collect(self) -> Iterable[Metric]:
        d = self._durations
        summary = SummaryMetricFamily(
            "prometheus_rule_evaluation_duration_seconds",
            "The duration for a rule to execute.",
            count_value=d.count,
            sum_value=d.sum,
        )
        if d.recent:
            values = np.quantile(np.fromiter(d.recent, float), QUANTILES)
            for q, v in zip(QUANTILES, values, strict=True):
                summary.add_sample(
                    "prometheus_rule_evaluation_duration_seconds", {"quantile": str(q)}, float(v)
                )
        yield summary
        families = {
            "evaluations": CounterMetricFamily(
                "prometheus_rule_evaluations", "The total number of rule evaluations.", labels=["rule_group"]
            ),
            "failures": CounterMetricFamily(
                "prometheus_rule_evaluation_failures",
                "The total number of rule evaluation failures.",
                labels=["rule_group"],
            ),
            "iterations": CounterMetricFamily(
                "prometheus_rule_group_iterations",
                "The total number of scheduled rule group evaluations.",
                labels=["rule_group"],
            ),
            "missed": CounterMetricFamily(
                "prometheus_rule_group_iterations_missed",
                "The total number of rule group evaluations missed due to slow evaluation.",
                labels=["rule_group"],
            ),
            "interval": GaugeMetricFamily(
                "prometheus_rule_group_interval_seconds",
                "The interval of a rule group.",
                labels=["rule_group"],
            ),
            "last_duration": GaugeMetricFamily(
                "prometheus_rule_group_last_duration_seconds",
                "The duration of the last rule group evaluation.",
                labels=["rule_group"],
            ),
            "rules": GaugeMetricFamily(
                "prometheus_rule_group_rules", "The number of rules.", labels=["rule_group"]
            ),
        }
        for g in self._groups():
            key = [f"{g.file};{g.name}"]  # upstream's rule_group label: "<file>;<group>"
            families["evaluations"].add_metric(key, g.rule_evaluations)
            families["failures"].add_metric(key, g.rule_failures)
            families["iterations"].add_metric(key, g.iterations)
            families["missed"].add_metric(key, g.iterations_missed)
            families["interval"].add_metric(key, g.interval_ms / 1000)
            families["last_duration"].add_metric(key, g.evaluation_time)
            families["rules"].add_metric(key, len(g.rules))
        yield from families.values()
