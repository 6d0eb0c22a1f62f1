"""Errors and annotations a query can produce, typed the way the HTTP API reports them.

The web API answers a failed query with ``{"status": "error", "errorType": ..., "error": ...}``;
``errorType`` is taken straight from :attr:`QueryError.error_type`, so the engine decides once what
kind of failure it is (the user's query is wrong: ``bad_data``; it is right but cannot be computed:
``execution``; it ran out of time: ``timeout``) instead of every caller guessing from the text.

Annotations are the non-fatal side channel (upstream ``util/annotations``): warnings and infos that
travel with a successful result, e.g. "sort is ineffective for range queries".
"""

from __future__ import annotations

import math

WARNING_PREFIX = "PromQL warning: "  # upstream annotations.PromQLWarning
INFO_PREFIX = "PromQL info: "  # upstream annotations.PromQLInfo


class QueryError(Exception):
    """Base of every error a query raises; ``error_type`` is the HTTP API's ``errorType``."""

    error_type = "execution"

    def __init__(self, message: str, pos: int | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos

    def __str__(self) -> str:
        return self.message


class BadDataError(QueryError):
    """The query cannot be run as written (wrong types, bad arguments, range query of a matrix)."""

    error_type = "bad_data"


class ExecutionError(QueryError):
    """The query is valid but its evaluation failed (e.g. duplicate label sets, many-to-many)."""

    error_type = "execution"


class TooManySamplesError(ExecutionError):
    """The query would hold more samples in memory than ``max_samples`` allows."""


class QueryTimeoutError(QueryError):
    error_type = "timeout"


class QueryCanceledError(QueryError):
    error_type = "canceled"


class InternalError(QueryError):
    error_type = "internal"


class Annotations:
    """Warnings and infos collected while evaluating one query, de-duplicated by text, in order."""

    def __init__(self):
        self.warnings: dict[str, None] = {}
        self.infos: dict[str, None] = {}

    def warn(self, text: str) -> None:
        self.warnings.setdefault(WARNING_PREFIX + text)

    def info(self, text: str) -> None:
        self.infos.setdefault(INFO_PREFIX + text)

    def invalid_quantile(self, qs) -> None:
        """Warn once about the first quantile outside [0, 1] (upstream NewInvalidQuantileWarning)."""
        for q in qs:
            q = float(q)
            if math.isnan(q) or q < 0 or q > 1:
                self.warn(f"quantile value should be between 0 and 1, got {format_g(q)}")
                return

    def as_lists(self) -> tuple[list[str], list[str]]:
        return list(self.warnings), list(self.infos)


def format_g(x: float) -> str:
    """Go's ``%g`` as upstream messages print numbers (``NaN``, ``+Inf``, ``1.1``)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return f"{x:g}"
