"""Chapter 0, welcome: one warm-up question, to see how a check answers."""

from __future__ import annotations

from workshop.checks._common import query_exercise

q1 = query_exercise(
    "q1", "up",
    "Type the name of the metric Prometheus writes for every target it scrapes: two letters.",
)  # fmt: skip
