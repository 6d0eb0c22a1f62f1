"""Fault injection: make a running toy service misbehave on cue, for a while.

An instructor showing an alert firing should not have to wait for the next scheduled outage. Each
toy service has a small admin API (off unless started with ``--enable-faults``; the demo supervisor
turns it on, and like everything else it binds 127.0.0.1)::

    POST   /admin/fault  {"kind": "latency"|"errors"|"down", "for": "2m"}   start (or extend) a fault
    DELETE /admin/fault  [{"kind": "..."}]                                  end one fault, or all
    GET    /admin/fault                                                     the active faults

``latency`` makes every request 10x slower, ``errors`` makes half of them fail with 500, and ``down``
makes the service answer 503 to everything (its ``/metrics`` too, so Prometheus records ``up == 0``)
except this admin API, so that the fault can still be cleared. A fault ends by itself after its time.

``workshop fault latency|errors|down|clear --target 127.0.0.1:8080 [--target ...] [--for 2m]`` is
the client.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

from toyservice.durations import parse_duration
from toyservice.model import FAULT_KINDS, ServiceModel

ADMIN_PATH = "/admin/fault"
DEFAULT_FAULT_DURATION = "2m"


def handle_admin(model: ServiceModel, method: str, body: bytes, *, enabled: bool) -> tuple[int, dict]:
    """The server side of the admin API: (HTTP status, JSON-able answer)."""
    if not enabled:
        return 403, {"error": "fault injection is disabled; start the service with --enable-faults"}
    if method == "GET":
        return 200, {"active": model.active_faults()}
    try:
        request = json.loads(body) if body.strip() else {}
        if not isinstance(request, dict):
            raise ValueError("expected a JSON object")
    except ValueError as e:
        return 400, {"error": f"request body is not a JSON object: {e}"}
    kind = request.get("kind")
    if method == "DELETE":
        if kind is not None and kind not in FAULT_KINDS:
            return 400, {"error": f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"}
        model.clear(kind)
        return 200, {"active": model.active_faults()}
    if method != "POST":
        return 405, {"error": f"method {method} not allowed on {ADMIN_PATH}"}
    try:
        seconds = parse_duration(str(request.get("for", DEFAULT_FAULT_DURATION)))
        model.inject(str(kind), seconds)
    except ValueError as e:
        return 400, {"error": str(e)}
    return 200, {"active": model.active_faults()}


# --- the client ---------------------------------------------------------------------------------
def send(target: str, method: str, payload: dict | None = None, timeout: float = 5.0) -> dict:
    """Call one service's admin API; raises RuntimeError with the service's own error message."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        f"http://{target}{ADMIN_PATH}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        try:
            message = json.load(e).get("error", e.reason)
        except ValueError:
            message = e.reason
        raise RuntimeError(f"{target}: {message}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise RuntimeError(f"{target}: cannot reach the toy service ({reason})") from None


def inject(target: str, kind: str, duration: str | float = DEFAULT_FAULT_DURATION) -> dict:
    return send(target, "POST", {"kind": kind, "for": str(duration)})


def clear(target: str, kind: str | None = None) -> dict:
    return send(target, "DELETE", {"kind": kind} if kind else {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workshop fault", description="Inject a fault into toy services.")
    parser.add_argument("kind", choices=[*FAULT_KINDS, "clear", "status"])
    parser.add_argument("--target", action="append", help="host:port of a toy service (repeatable)")
    parser.add_argument("--for", dest="duration", default=DEFAULT_FAULT_DURATION, help="e.g. 30s, 2m")
    args = parser.parse_args(argv)
    targets = args.target or ["127.0.0.1:8080"]
    try:
        parse_duration(args.duration)
    except ValueError as e:
        parser.error(f"--for: {e}")
    failed = False
    for target in targets:
        try:
            if args.kind == "clear":
                answer = clear(target)
            elif args.kind == "status":
                answer = send(target, "GET")
            else:
                answer = inject(target, args.kind, args.duration)
        except RuntimeError as e:
            print(f"workshop fault: {e}", file=sys.stderr)
            failed = True
            continue
        active = ", ".join(f"{k} ({left:.0f}s left)" for k, left in answer["active"].items()) or "none"
        print(f"{target}: active faults: {active}")
    return 1 if failed else 0
