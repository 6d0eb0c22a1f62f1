"""Request parameters and API errors: how a request's words become times, durations and limits.

Upstream accepts parameters from the URL and, for form-encoded POSTs, from the body; clients rely
on both (Grafana POSTs a form, prometheus-api-client POSTs with parameters in the URL and no body).
Every malformed parameter becomes an :class:`ApiError` naming the parameter, phrased as upstream
phrases it, so a user sees *which* input was wrong and a client can match the message.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from stack.config import parse_duration_ms

# errorType -> HTTP status (upstream web/api/v1/api.go respondError).
ERROR_STATUS = {
    "bad_data": 400,
    "execution": 422,
    "canceled": 499,
    "timeout": 503,
    "internal": 500,
    "not_found": 404,
    "not_acceptable": 406,
    "unavailable": 500,
}

# Upstream's "no bound" times for optional start/end (web/api/v1 MinTime/MaxTime, in ms).
MIN_TIME_MS = -(2**63) // 1_000_000
MAX_TIME_MS = (2**63 - 1) // 1_000_000

_FLOAT_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class ApiError(Exception):
    """An error the API reports in its JSON envelope: ``errorType`` plus message."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    @property
    def status(self) -> int:
        return ERROR_STATUS.get(self.error_type, 500)


def bad_param(name: str, detail: str) -> ApiError:
    return ApiError("bad_data", f'invalid parameter "{name}": {detail}')


class Params:
    """Single values: a form body wins over the URL; repeated values (``match[]``): both combined."""

    def __init__(self, query: MultiDictProxy, form: MultiDict | MultiDictProxy | None = None):
        self._query = query
        self._form = form if form is not None else MultiDict()

    @classmethod
    async def of(cls, request: web.Request) -> Params:
        form = None
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
        return cls(request.query, form)

    def get(self, name: str, default: str = "") -> str:
        if name in self._form:
            return str(self._form[name])
        return self._query.get(name, default)

    def has(self, name: str) -> bool:
        return name in self._form or name in self._query

    def getall(self, name: str) -> list[str]:
        return list(self._query.getall(name, [])) + [str(v) for v in self._form.getall(name, [])]


def parse_time_ms(text: str) -> int:
    """Unix seconds (``1714557600.5``) or RFC 3339 to milliseconds; ValueError if neither."""
    if _FLOAT_RE.match(text):
        f = float(text)
        if not math.isfinite(f):
            raise ValueError(text)
        return round(f * 1000)  # upstream rounds the fraction to milliseconds
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(text) from None
    if dt.tzinfo is None or "T" not in text.upper():
        raise ValueError(text)  # RFC 3339 requires a zone offset and the date/time separator
    return round(dt.timestamp() * 1000)


def time_param(params: Params, name: str) -> int:
    """A required timestamp (``start``/``end`` of query_range)."""
    v = params.get(name)
    try:
        return parse_time_ms(v)
    except ValueError:
        raise bad_param(name, f'cannot parse "{v}" to a valid timestamp') from None


def optional_time_param(params: Params, name: str, default_ms: int) -> int:
    """An optional timestamp; its errors carry upstream's extra "invalid time value" layer."""
    if not params.get(name):
        return default_ms
    v = params.get(name)
    try:
        return parse_time_ms(v)
    except ValueError:
        raise bad_param(
            name, f"invalid time value for '{name}': cannot parse \"{v}\" to a valid timestamp"
        ) from None


def parse_duration_param_ms(text: str) -> int:
    """Seconds as a decimal (``15``, ``0.5``) or a duration string (``1m30s``) to milliseconds."""
    if _FLOAT_RE.match(text):
        f = float(text)
        if not math.isfinite(f) or abs(f) * 1000 > MAX_TIME_MS:
            raise ValueError(text)
        return round(f * 1000)
    return parse_duration_ms(text)


def duration_param(params: Params, name: str) -> int | None:
    v = params.get(name)
    if v == "":
        return None
    try:
        return parse_duration_param_ms(v)
    except ValueError:
        raise bad_param(name, f'cannot parse "{v}" to a valid duration') from None


def timeout_param(params: Params) -> float | None:
    """``timeout`` in seconds, kept to the nanosecond as upstream's time.Duration is."""
    v = params.get("timeout")
    if v == "":
        return None
    try:
        if _FLOAT_RE.match(v):
            f = float(v)
            if not math.isfinite(f) or f < 0:
                raise ValueError(v)
            return f
        return parse_duration_ms(v) / 1000
    except ValueError:
        raise bad_param("timeout", f'cannot parse "{v}" to a valid duration') from None


def limit_param(params: Params) -> int:
    """``limit``: 0 or absent means unlimited; negative or not an integer is a bad request."""
    v = params.get("limit")
    if v == "":
        return 0
    try:
        n = int(v)
    except ValueError:
        raise bad_param("limit", f'cannot parse "{v}" to a valid limit') from None
    if n < 0:
        raise bad_param("limit", "limit must be non-negative")
    return n
