"""Chapter 1, concepts: selecting series by name and labels, and counting what a histogram costs."""

from __future__ import annotations

from workshop.checks._common import query_exercise

FAILED_BAR_WRITES = 'http_requests_total{method="POST", path="/api/bar", status="500"}'
BUCKET_SERIES = 'count(http_request_duration_seconds_bucket{instance="127.0.0.1:8080"})'

q1 = query_exercise(
    "q1", FAILED_BAR_WRITES,
    'A metric name followed by label matchers in braces: {method="POST", ...}; three matchers.',
)  # fmt: skip
q2 = query_exercise(
    "q2", BUCKET_SERIES,
    "count(...) of the _bucket series of http_request_duration_seconds, for instance 127.0.0.1:8080.",
)  # fmt: skip
