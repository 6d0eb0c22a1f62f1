"""Chapter 3, PromQL: each answer is a query, judged by its result on the shared simulation."""

from __future__ import annotations

from workshop.checks._common import query_exercise

REQUEST_RATE = "sum by (instance) (rate(http_requests_total[5m]))"
ERROR_RATIO = (
    'sum by (path) (rate(http_requests_total{status=~"5.."}[5m]))\n'
    "  /\nsum by (path) (rate(http_requests_total[5m]))"
)
P99 = "histogram_quantile(0.99, sum by (le, path) (rate(http_request_duration_seconds_bucket[5m])))"
CHANGE = "sum(rate(http_requests_total[5m])) - sum(rate(http_requests_total[5m] offset 10m))"
WORST_MINUTE = (
    'max_over_time((sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m])))'
    "[10m:30s])"
)


q1 = query_exercise(
    "q1", REQUEST_RATE,
    "rate() the counter over 5m first, then sum by (instance): rate, then sum -- never sum, then rate.",
)  # fmt: skip
q2 = query_exercise(
    "q2", ERROR_RATIO,
    'Divide the rate of requests with status=~"5.." by the rate of all requests, both summed by (path).',
)  # fmt: skip
q3 = query_exercise(
    "q3", P99,
    "histogram_quantile(0.99, ...) over the rate of the _bucket series; keep the le label when you sum.",
)  # fmt: skip
q4 = query_exercise(
    "q4", CHANGE,
    "The same total request rate twice, the second with `offset 10m` right after the range selector.",
)  # fmt: skip
q5 = query_exercise(
    "q5", WORST_MINUTE,
    "Wrap the 1m error ratio of the whole service in ( ... )[10m:30s] and take max_over_time of that.",
)  # fmt: skip
