"""Query any Prometheus-compatible server from a notebook and get pandas DataFrames back.

    from workshop.client import PrometheusClient
    prom = PrometheusClient("http://127.0.0.1:9090")
    prom.query('up')                                        # one row per series
    prom.query_range('rate(http_requests_total[1m])', "1h", step="15s").wide()

It speaks only HTTP API v1, so the same calls work against the workshop's stack, a real
Prometheus, Thanos, Mimir or VictoriaMetrics. Results are *long* frames (one row per sample: a
column per label, a tz-aware UTC ``timestamp`` and ``value``) because that is what pandas groups,
filters and plots best; ``.wide()`` pivots to one column per series for a quick ``.plot()``.

Why two clients: notebooks want plain calls (``PrometheusClient``, built on ``urllib`` so it works
whether or not an event loop is already running, as in Jupyter), and async code wants
``await`` (``AsyncPrometheusClient``, built on aiohttp). Both build the same requests and decode the
same answers with the functions below; only the transport differs.

Every failure, whether the server rejected the query, could not be reached, or answered something
that is not the API, is one exception type, :class:`QueryError`, with the server's ``errorType``
and message, and for parse errors a caret under the offending place of the query.
"""

from __future__ import annotations

import json
import math
import re
import time as _time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

DEFAULT_URL = "http://127.0.0.1:9090"
DEFAULT_RANGE_S = 3600  # "the last hour", when query_range is given no start
# Aim for about 250 points per series when no step is given (as the Prometheus UI's graph does).
TARGET_POINTS = 250
DEFAULT_TIMEOUT_S = 30.0

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_POSITION_RE = re.compile(r"(\d+):(\d+): parse error")
_NOW_RE = re.compile(r"^now\s*(?:([+-])\s*(.+))?$")


class QueryError(Exception):
    """The server (or the way to it) refused a request. ``error_type`` is the API's ``errorType``.

    ``position`` is the 0-based character offset in ``query`` of a parse error, when the server
    reported one as ``line:col``; ``caret()`` draws it under the query, and notebooks show that form.
    """

    def __init__(self, error_type: str, message: str, query: str | None = None, status: int | None = None):
        self.error_type = error_type
        self.message = message
        self.query = query
        self.status = status
        self.position = _position(message, query)
        super().__init__(f"{error_type}: {message}")

    def caret(self) -> str:
        if self.query is None or self.position is None:
            return str(self)
        line_start = self.query.rfind("\n", 0, self.position) + 1
        line_end = self.query.find("\n", self.position)
        line = self.query[line_start : None if line_end < 0 else line_end]
        return f"{line}\n{' ' * (self.position - line_start)}^\n{self}"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.caret())


def _position(message: str, query: str | None) -> int | None:
    m = _POSITION_RE.search(message)
    if not m or query is None:
        return None
    line, col = int(m[1]), int(m[2])
    offset = 0
    for _ in range(line - 1):
        nl = query.find("\n", offset)
        if nl < 0:
            return None
        offset = nl + 1
    return min(offset + col - 1, len(query))


# --- times and durations --------------------------------------------------------------------------

def parse_duration(value) -> float:
    """Seconds from ``"15s"``, ``"1m30s"``, ``"1.5h"``, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta | pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_RE.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {value!r} (use e.g. 15s, 5m, 1h30m or seconds)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def parse_time(value, now: float | None = None) -> float:
    """Unix seconds from a datetime/Timestamp (naive = UTC), a number, ``"now"``, ``"now-1h"`` or ISO text."""
    now = _time.time() if now is None else now
    if isinstance(value, pd.Timestamp | datetime):
        ts = pd.Timestamp(value)
        if ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        return ts.timestamp()
    if isinstance(value, date):
        return pd.Timestamp(value, tz="UTC").timestamp()
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip()
    m = _NOW_RE.match(text)
    if m:
        if not m[1]:
            return now
        delta = parse_duration(m[2])
        return now - delta if m[1] == "-" else now + delta
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_time(pd.Timestamp(text), now)
    except ValueError:
        raise ValueError(f"invalid time {value!r} (use a datetime, unix seconds, 'now-1h' or ISO 8601)") \
            from None


def _fmt_time(seconds: float) -> str:
    return f"{seconds:.3f}"


def _auto_step(range_s: float) -> float:
    return max(1.0, math.ceil(range_s / TARGET_POINTS))


# --- requests and answers: shared by both clients -------------------------------------------------

@dataclass
class Call:
    """One API request and how to turn its ``data`` into the caller's result."""

    method: str
    path: str
    params: list[tuple[str, str]]
    decode: object  # callable: data -> result
    query: str | None = None


def check_response(status: int, body: bytes, query: str | None = None):
    """The ``data`` of a successful envelope; QueryError for anything else."""
    if status == 204:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        text = body.decode(errors="replace").strip()[:300]
        raise QueryError("http", f"HTTP {status}: {text}", query, status) from None
    if not isinstance(doc, dict) or doc.get("status") != "success":
        if isinstance(doc, dict) and "error" in doc:
            raise QueryError(doc.get("errorType") or "unknown", str(doc["error"]), query, status)
        raise QueryError("http", f"HTTP {status}: unexpected answer {str(doc)[:200]}", query, status)
    return doc.get("data")


class ResultFrame(pd.DataFrame):
    """A long-form query result (one row per sample) that can pivot itself with ``.wide()``."""

    _metadata = ["label_columns"]

    @property
    def _constructor(self):
        return ResultFrame

    def wide(self, labels: str | list[str] | None = None) -> pd.DataFrame:
        """One column per series, indexed by timestamp.

        Columns are named by ``labels`` (one name or a list); by default by the labels whose values
        differ between the series, so ``rate(x[1m])`` over three instances gives three columns
        named after the instances.
        """
        return wide(self, labels)


def wide(frame: pd.DataFrame, labels: str | list[str] | None = None) -> pd.DataFrame:
    label_cols = list(getattr(frame, "label_columns", None) or
                      [c for c in frame.columns if c not in ("timestamp", "value")])
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
    if labels is None:
        varying = [c for c in label_cols if frame[c].nunique(dropna=False) > 1]
        labels = varying or label_cols
    elif isinstance(labels, str):
        labels = [labels]
    if not labels:
        key = pd.Series("value", index=frame.index)
    elif len(labels) == 1:
        key = frame[labels[0]].fillna("").astype(str)
    else:
        parts = [frame[c].fillna("").astype(str) for c in labels]
        key = parts[0].radd(f'{labels[0]}="') + '"'
        for name, part in zip(labels[1:], parts[1:], strict=True):
            key = key + f', {name}="' + part + '"'
    out = pd.DataFrame({"timestamp": frame["timestamp"].to_numpy(), "series": key.to_numpy(),
                        "value": frame["value"].to_numpy()})
    result = out.pivot_table(index="timestamp", columns="series", values="value", aggfunc="last", sort=True)
    result.columns.name = None
    return result


def result_frame(data) -> ResultFrame:
    """Decode ``{"resultType", "result"}`` of /query or /query_range into a long frame."""
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        t, v = result
        frame = ResultFrame({"timestamp": pd.to_datetime([float(t)], unit="s", utc=True),
                             "value": [float(v) if kind == "scalar" else v]})
        frame.label_columns = []
        return frame
    label_names = sorted({k for s in result for k in s["metric"]}, key=lambda k: (k != "__name__", k))
    ts_parts, v_parts, label_parts = [], [], {k: [] for k in label_names}
    for s in result:
        points = s["values"] if kind == "matrix" else [s["value"]]
        n = len(points)
        arr = np.array(points, dtype=object).reshape(n, 2) if n else np.empty((0, 2), dtype=object)
        ts_parts.append(arr[:, 0].astype(np.float64))
        v_parts.append(arr[:, 1].astype(np.float64))
        for k in label_names:
            label_parts[k].append(np.full(n, s["metric"].get(k), dtype=object))
    ts = np.concatenate(ts_parts) if ts_parts else np.empty(0)
    columns = {k: (np.concatenate(v) if v else np.empty(0, dtype=object)) for k, v in label_parts.items()}
    columns["timestamp"] = pd.to_datetime(np.round(ts * 1000).astype(np.int64), unit="ms", utc=True)
    columns["value"] = np.concatenate(v_parts) if v_parts else np.empty(0)
    frame = ResultFrame(columns)
    frame.label_columns = label_names
    return frame


def _labels_frame(items: list[dict]) -> pd.DataFrame:
    names = sorted({k for d in items for k in d}, key=lambda k: (k != "__name__", k))
    return pd.DataFrame([{k: d.get(k) for k in names} for d in items], columns=names)


def _utc(text: str | None):
    if not text or text.startswith("0001-01-01"):
        return pd.NaT
    return pd.Timestamp(text).tz_convert("UTC")


def _targets_frame(data) -> pd.DataFrame:
    rows = []
    for state, key in (("active", "activeTargets"), ("dropped", "droppedTargets")):
        for t in data.get(key) or []:
            labels = t.get("labels") or {}
            rows.append({
                "scrapePool": t.get("scrapePool"), "state": state, "job": labels.get("job"),
                "instance": labels.get("instance"), "health": t.get("health"),
                "scrapeUrl": t.get("scrapeUrl"), "lastError": t.get("lastError"),
                "lastScrape": _utc(t.get("lastScrape")), "lastScrapeDuration": t.get("lastScrapeDuration"),
                "labels": labels, "discoveredLabels": t.get("discoveredLabels") or {},
            })
    return pd.DataFrame(rows, columns=["scrapePool", "state", "job", "instance", "health", "scrapeUrl",
                                       "lastError", "lastScrape", "lastScrapeDuration", "labels",
                                       "discoveredLabels"])


def _alert_row(a: dict) -> dict:
    value = a.get("value")
    return {"alertname": (a.get("labels") or {}).get("alertname"), "state": a.get("state"),
            "activeAt": _utc(a.get("activeAt")), "value": float(value) if value is not None else math.nan,
            "labels": a.get("labels") or {}, "annotations": a.get("annotations") or {}}


_ALERT_COLUMNS = ["alertname", "state", "activeAt", "value", "labels", "annotations"]


def _alerts_frame(data) -> pd.DataFrame:
    return pd.DataFrame([_alert_row(a) for a in data.get("alerts") or []], columns=_ALERT_COLUMNS)


def _rules_frame(data) -> pd.DataFrame:
    rows = []
    for g in data.get("groups") or []:
        for r in g.get("rules") or []:
            rows.append({"group": g.get("name"), "file": g.get("file"), "name": r.get("name"),
                         "type": r.get("type"), "query": r.get("query"), "health": r.get("health"),
                         "state": r.get("state"), "lastError": r.get("lastError", ""),
                         "lastEvaluation": _utc(r.get("lastEvaluation")),
                         "alerts": len(r.get("alerts") or []), "labels": r.get("labels") or {}})
    return pd.DataFrame(rows, columns=["group", "file", "name", "type", "query", "health", "state",
                                       "lastError", "lastEvaluation", "alerts", "labels"])


class _Calls:
    """Builds the request for each API method; shared by the sync and async clients."""

    @staticmethod
    def query(expr: str, time=None) -> Call:
        params = [("query", expr)]
        if time is not None:
            params.append(("time", _fmt_time(parse_time(time))))
        return Call("POST", "/api/v1/query", params, result_frame, expr)

    @staticmethod
    def query_range(expr: str, start=None, end=None, step=None) -> Call:
        now = _time.time()
        end_s = now if end is None else parse_time(end, now)
        if start is None:
            start_s = end_s - DEFAULT_RANGE_S
        elif isinstance(start, str) and not _NOW_RE.match(start.strip()) and looks_like_duration(start):
            start_s = end_s - parse_duration(start)  # query_range(expr, "1h"): the last hour
        elif isinstance(start, timedelta | pd.Timedelta):
            start_s = end_s - start.total_seconds()
        else:
            start_s = parse_time(start, now)
        step_s = _auto_step(end_s - start_s) if step is None else parse_duration(step)
        params = [("query", expr), ("start", _fmt_time(start_s)), ("end", _fmt_time(end_s)),
                  ("step", f"{step_s:g}")]
        return Call("POST", "/api/v1/query_range", params, result_frame, expr)

    @staticmethod
    def series(match: str | list[str], start=None, end=None) -> Call:
        return Call("POST", "/api/v1/series", _match(match) + _range(start, end), _labels_frame)

    @staticmethod
    def labels(match: str | list[str] | None = None, start=None, end=None) -> Call:
        return Call("POST", "/api/v1/labels", _match(match) + _range(start, end), list)

    @staticmethod
    def label_values(name: str, match: str | list[str] | None = None, start=None, end=None) -> Call:
        path = f"/api/v1/label/{urllib.parse.quote(name, safe='')}/values"
        return Call("GET", path, _match(match) + _range(start, end), list)

    @staticmethod
    def targets(state: str = "any") -> Call:
        return Call("GET", "/api/v1/targets", [("state", state)], _targets_frame)

    @staticmethod
    def alerts() -> Call:
        return Call("GET", "/api/v1/alerts", [], _alerts_frame)

    @staticmethod
    def rules(type: str | None = None) -> Call:  # noqa: A002 - the API's parameter name
        return Call("GET", "/api/v1/rules", [("type", type)] if type else [], _rules_frame)

    @staticmethod
    def buildinfo() -> Call:
        return Call("GET", "/api/v1/status/buildinfo", [], dict)


def looks_like_duration(text: str) -> bool:
    """``"30m"`` or ``"1h30m"``, as opposed to a timestamp (a bare number counts as one)."""
    try:
        parse_duration(text)
    except ValueError:
        return False
    return not text.strip().replace(".", "", 1).isdigit()  # a bare number is a timestamp


def _match(match) -> list[tuple[str, str]]:
    if match is None:
        return []
    return [("match[]", m) for m in ([match] if isinstance(match, str) else match)]


def _range(start, end) -> list[tuple[str, str]]:
    out = []
    if start is not None:
        out.append(("start", _fmt_time(parse_time(start))))
    if end is not None:
        out.append(("end", _fmt_time(parse_time(end))))
    return out


def _request_parts(base: str, call: Call) -> tuple[str, bytes | None, dict]:
    encoded = urllib.parse.urlencode(call.params)
    url = base.rstrip("/") + call.path
    if call.method == "POST":
        return url, encoded.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    return (url + "?" + encoded if encoded else url), None, {}


# --- the clients --------------------------------------------------------------------------------------

class PrometheusClient:
    """Blocking client; safe to call from a Jupyter cell (it never needs the running event loop).

    ``transport`` (optional) replaces HTTP: a callable taking ``(method, path, params)`` and
    returning ``(status, body)``; :meth:`in_process` builds one for a server without a listener.
    """

    def __init__(self, url: str = DEFAULT_URL, timeout: float = DEFAULT_TIMEOUT_S,
                 headers: dict | None = None, transport=None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._transport = transport

    @classmethod
    def in_process(cls, server, run) -> PrometheusClient:
        """Query a ``stack.prometheus.PrometheusServer`` without HTTP (simulations on a virtual clock).

        ``run`` executes a coroutine where the server lives and returns its result: ``clock.run``
        for a paused virtual clock, ``LoopThread.submit`` for a background loop. The answers are
        the HTTP API's own (same handlers, same JSON), so frames and errors are identical.
        """
        from stack.web.api import API

        api = API(server)
        return cls(f"in-process:{type(server).__name__}",
                   transport=lambda method, path, params: run(api.request(method, path, params)))

    def __repr__(self) -> str:
        return f"PrometheusClient({self.url!r})"

    def query(self, expr: str, time=None) -> ResultFrame:
        """Instant query at ``time`` (default: the server's now)."""
        return self._do(_Calls.query(expr, time))

    def query_range(self, expr: str, start=None, end=None, step=None) -> ResultFrame:
        """Range query; ``start`` may be a duration ("1h": the hour before ``end``); ``end``: now."""
        return self._do(_Calls.query_range(expr, start, end, step))

    def series(self, match, start=None, end=None) -> pd.DataFrame:
        return self._do(_Calls.series(match, start, end))

    def labels(self, match=None, start=None, end=None) -> list[str]:
        return self._do(_Calls.labels(match, start, end))

    def label_values(self, name: str, match=None, start=None, end=None) -> list[str]:
        return self._do(_Calls.label_values(name, match, start, end))

    def targets(self, state: str = "any") -> pd.DataFrame:
        return self._do(_Calls.targets(state))

    def alerts(self) -> pd.DataFrame:
        return self._do(_Calls.alerts())

    def rules(self, type: str | None = None) -> pd.DataFrame:  # noqa: A002
        return self._do(_Calls.rules(type))

    def buildinfo(self) -> dict:
        return self._do(_Calls.buildinfo())

    def _do(self, call: Call):
        if self._transport is not None:
            status, text = self._transport(call.method, call.path, call.params)
            return call.decode(check_response(status, (text or "").encode(), call.query))
        url, body, headers = _request_parts(self.url, call)
        req = urllib.request.Request(url, data=body, method=call.method, headers={**self.headers, **headers})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise QueryError("unavailable", f"cannot reach {self.url}: {reason}", call.query) from None
        return call.decode(check_response(status, payload, call.query))


class AsyncPrometheusClient:
    """The same API for ``await``; one aiohttp session, closed by ``close()`` or ``async with``."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = DEFAULT_TIMEOUT_S,
                 headers: dict | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._session = None

    async def __aenter__(self) -> AsyncPrometheusClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def query(self, expr: str, time=None) -> ResultFrame:
        return await self._do(_Calls.query(expr, time))

    async def query_range(self, expr: str, start=None, end=None, step=None) -> ResultFrame:
        return await self._do(_Calls.query_range(expr, start, end, step))

    async def series(self, match, start=None, end=None) -> pd.DataFrame:
        return await self._do(_Calls.series(match, start, end))

    async def labels(self, match=None, start=None, end=None) -> list[str]:
        return await self._do(_Calls.labels(match, start, end))

    async def label_values(self, name: str, match=None, start=None, end=None) -> list[str]:
        return await self._do(_Calls.label_values(name, match, start, end))

    async def targets(self, state: str = "any") -> pd.DataFrame:
        return await self._do(_Calls.targets(state))

    async def alerts(self) -> pd.DataFrame:
        return await self._do(_Calls.alerts())

    async def rules(self, type: str | None = None) -> pd.DataFrame:  # noqa: A002
        return await self._do(_Calls.rules(type))

    async def buildinfo(self) -> dict:
        return await self._do(_Calls.buildinfo())

    async def _do(self, call: Call):
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        url, body, headers = _request_parts(self.url, call)
        try:
            async with self._session.request(call.method, url, data=body,
                                             headers={**self.headers, **headers}) as resp:
                status, payload = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise QueryError("unavailable", f"cannot reach {self.url}: {e}", call.query) from None
        return call.decode(check_response(status, payload, call.query))


# --- module-level helpers for notebooks ----------------------------------------------------------

_default = PrometheusClient()


def set_url(url: str) -> PrometheusClient:
    """Point the module-level helpers at another server; returns the client they now use."""
    global _default
    _default = PrometheusClient(url)
    return _default


def query(expr: str, time=None) -> ResultFrame:
    return _default.query(expr, time)


def query_range(expr: str, start=None, end=None, step=None) -> ResultFrame:
    return _default.query_range(expr, start, end, step)


def series(match, start=None, end=None) -> pd.DataFrame:
    return _default.series(match, start, end)


def labels(match=None, start=None, end=None) -> list[str]:
    return _default.labels(match, start, end)


def label_values(name: str, match=None, start=None, end=None) -> list[str]:
    return _default.label_values(name, match, start, end)


def targets(state: str = "any") -> pd.DataFrame:
    return _default.targets(state)


def alerts() -> pd.DataFrame:
    return _default.alerts()


def rules(type: str | None = None) -> pd.DataFrame:  # noqa: A002
    return _default.rules(type)


__all__ = ["AsyncPrometheusClient", "PrometheusClient", "QueryError", "ResultFrame", "alerts", "label_values",
           "labels", "parse_duration", "parse_time", "query", "query_range", "rules", "series", "set_url",
           "targets", "wide"]
