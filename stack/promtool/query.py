"""``workshop promtool query instant|range URL EXPR``: run a query against any Prometheus from a shell.

Mirrors the real promtool's ``query`` commands and output so that the upstream docs and the
workshop's exercises read the same with either tool::

    up{instance="localhost:9100", job="node"} => 1 @[1714557600]

``-o json`` prints the API's ``data`` unchanged, for piping into jq. It speaks only HTTP API v1
(over urllib), so it works against ours, a real Prometheus, or anything compatible.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Real promtool's default range when --start/--end are not given: the last 5 minutes.
DEFAULT_RANGE_S = 300
TIMEOUT_S = 60


def instant(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="workshop promtool query instant", description="Run an instant query.")
    p.add_argument("server", help="Prometheus server to query, e.g. http://127.0.0.1:9090")
    p.add_argument("expr", help="PromQL query expression")
    p.add_argument("--time", help="query evaluation time (RFC 3339 or Unix seconds); default: now")
    p.add_argument("-o", "--format", choices=("promql", "json"), default="promql", help="output format")
    args = p.parse_args(argv)
    params = {"query": args.expr}
    if args.time:
        params["time"] = args.time
    return _run(args.server, "/api/v1/query", params, args.format)


def range_(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="workshop promtool query range", description="Run a range query.")
    p.add_argument("server", help="Prometheus server to query, e.g. http://127.0.0.1:9090")
    p.add_argument("expr", help="PromQL query expression")
    p.add_argument("--start", help="query range start (RFC 3339 or Unix seconds); default: 5 minutes ago")
    p.add_argument("--end", help="query range end (RFC 3339 or Unix seconds); default: now")
    p.add_argument("--step", help="query step (duration or seconds); default: range / 250, at least 1s")
    p.add_argument("-o", "--format", choices=("promql", "json"), default="promql", help="output format")
    args = p.parse_args(argv)
    now = time.time()
    end = args.end or f"{now:.3f}"
    start = args.start or f"{now - DEFAULT_RANGE_S:.3f}"
    step = args.step or str(max(1, DEFAULT_RANGE_S // 250))
    return _run(args.server, "/api/v1/query_range",
                {"query": args.expr, "start": start, "end": end, "step": step}, args.format)


def _run(server: str, path: str, params: dict, fmt: str) -> int:
    body = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(server.rstrip("/") + path, data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
            raw = r.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
    except (urllib.error.URLError, OSError) as e:
        print(f"query error: cannot reach {server}: {getattr(e, 'reason', e)}", file=sys.stderr)
        return 1
    try:
        doc = json.loads(raw)
    except ValueError:
        print(f"query error: not an API answer: {raw[:200]!r}", file=sys.stderr)
        return 1
    if doc.get("status") != "success":
        print(f"query error: {doc.get('errorType')}: {doc.get('error')}", file=sys.stderr)
        return 1
    for w in doc.get("warnings") or []:
        print(f"warning: {w}", file=sys.stderr)
    data = doc["data"]
    print(json.dumps(data) if fmt == "json" else format_result(data))
    return 0


def format_result(data: dict) -> str:
    """Text as the real promtool prints it (its output is the Go model's String())."""
    kind, result = data["resultType"], data["result"]
    if kind == "vector":
        return "\n".join(f"{_series(s['metric'])} => {s['value'][1]} @[{s['value'][0]}]" for s in result)
    if kind == "matrix":
        return "\n".join(f"{_series(s['metric'])} =>\n" + "\n".join(f"{v} @[{t}]" for t, v in s["values"])
                         for s in result)
    if kind == "scalar":
        return f"scalar: {result[1]} @[{result[0]}]"
    return f"{result[1]} @[{result[0]}]"


def _series(metric: dict) -> str:
    name = metric.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}"
