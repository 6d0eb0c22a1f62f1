"""Recording rules: store the result of an expression under a new metric name.

The output of ``sum by (job) (rate(http_requests_total[5m]))`` recorded as
``job:http_requests:rate5m`` is what makes dashboards cheap; the rules for naming the output,
applying static labels and rejecting collisions are upstream's (spec rules.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stack.model import METRIC_NAME, Labels
from stack.promql.value import Sample
from stack.rules.alerting import RuleEvalError
from stack.rules.rulefile import RuleSpec


@dataclass
class RecordingRule:
    spec: RuleSpec
    group_labels: dict[str, str] = field(default_factory=dict)
    limit: int = 0

    def __post_init__(self):
        self.name = self.spec.record or ""
        # Group labels first, the rule's own override; not templated for recording rules.
        self.static_labels = {**self.group_labels, **self.spec.labels}

    def evaluate(self, samples: list[Sample]) -> list[tuple[Labels, float]]:
        """The series to write for this result (§5.1, §5.2)."""
        out: dict[Labels, float] = {}
        for s in samples:
            labels = s.labels.merge({**{METRIC_NAME: self.name}, **self.static_labels})
            if labels in out:
                raise RuleEvalError(
                    "vector contains metrics with the same labelset after applying rule labels"
                )
            out[labels] = s.v
        if self.limit and len(out) > self.limit:
            raise RuleEvalError(f"exceeded limit of {self.limit} with {len(out)} series")
        return list(out.items())
