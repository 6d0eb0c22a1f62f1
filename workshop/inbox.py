"""The notification inbox: where the workshop's alerts end up, so participants can see them arrive.

An Alertmanager webhook receiver (``workshop inbox --listen 127.0.0.1:5001``) that keeps every
notification it gets — in memory and, with ``--state-dir``, appended to a JSON-lines file so a
restart loses nothing — and shows them three ways: a self-refreshing web page at ``/``, JSON at
``GET /api/notifications``, and in a notebook as a pandas frame (:meth:`Inbox.frame`) or a live
widget (:meth:`Inbox.widget`).

The same class also works without HTTP: an Alertmanager on a virtual clock can be given
``inbox.deliver`` as its webhook transport, and ``Inbox.connect(url)`` reads a running inbox
process from a notebook.

    workshop inbox --listen 127.0.0.1:5001 [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

DEFAULT_LISTEN = "127.0.0.1:5001"  # the inbox port the workshop's alertmanager.yml points at
STATE_FILE = "notifications.jsonl"
PAGE_REFRESH_SECONDS = 3
FRAME_COLUMNS = ["received_at", "receiver", "status", "alertname", "severity", "instance", "labels",
                 "summary", "startsAt", "endsAt", "groupKey", "path"]


class InboxView:
    """What both a local inbox and a connection to a running one offer: a frame and a widget."""

    def notifications(self, since: int = 0) -> list[dict]:
        raise NotImplementedError

    def frame(self):
        """One row per alert per notification, oldest first (times are tz-aware UTC)."""
        import pandas as pd

        rows = []
        for n in self.notifications():
            p = n["payload"]
            for a in p.get("alerts") or []:
                labels = a.get("labels") or {}
                rows.append({
                    "received_at": pd.Timestamp(n["received_at"]).tz_convert("UTC"),
                    "receiver": p.get("receiver", ""), "status": a.get("status", ""),
                    "alertname": labels.get("alertname", ""), "severity": labels.get("severity", ""),
                    "instance": labels.get("instance", ""), "labels": labels,
                    "summary": (a.get("annotations") or {}).get("summary", ""),
                    "startsAt": _go_time(a.get("startsAt")), "endsAt": _go_time(a.get("endsAt")),
                    "groupKey": p.get("groupKey", ""), "path": n.get("path", "/")})
        df = pd.DataFrame(rows, columns=FRAME_COLUMNS)
        for col in ("received_at", "startsAt", "endsAt"):
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
        return df

    def html_table(self, limit: int = 50) -> str:
        """The newest notifications as an HTML table (used by the web page and the widget)."""
        rows = []
        for n in reversed(self.notifications()[-limit:]):
            p = n["payload"]
            for a in p.get("alerts") or []:
                labels = a.get("labels") or {}
                cells = [n["received_at"][:19].replace("T", " "), p.get("receiver", ""), a.get("status", ""),
                         labels.get("alertname", ""), labels.get("severity", ""), labels.get("instance", ""),
                         (a.get("annotations") or {}).get("summary", "")]
                colour = "#fdd" if a.get("status") == "firing" else "#dfd"
                rows.append(f'<tr style="background:{colour}">'
                            + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("received (UTC)", "receiver", "status", "alertname",
                                                 "severity", "instance", "summary"))
        body = "".join(rows) or '<tr><td colspan="7">no notifications yet</td></tr>'
        style = 'border="1" cellpadding="4" style="border-collapse:collapse"'
        return f"<table {style}><tr>{head}</tr>{body}</table>"

    def widget(self, interval: float = 2.0):
        """A live-updating table. Re-running the cell replaces the previous poller (no thread leak)."""
        import ipywidgets

        view = ipywidgets.HTML(value=self.html_table())
        _start_poller(self, view, interval)
        return view


class Inbox(InboxView):
    """Keeps notifications; ``app()`` serves them, ``deliver`` takes them in-process."""

    def __init__(self, state_dir: str | Path | None = None, clock=None):
        self.clock = clock
        self.path = Path(state_dir) / STATE_FILE if state_dir else None
        self._lock = threading.Lock()
        self._items: list[dict] = []
        self._runner: web.AppRunner | None = None
        self._thread = None
        if self.path and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    self._items.append(json.loads(line))
                except ValueError:  # a line cut short by a crash mid-write: skip it
                    continue

    @classmethod
    def connect(cls, url: str = "http://127.0.0.1:5001") -> RemoteInbox:
        return RemoteInbox(url)

    # --- taking notifications in ---------------------------------------------------------------
    def record(self, payload: dict, path: str = "/") -> dict:
        now = self.clock.now() if self.clock is not None else time.time()
        received_at = datetime.fromtimestamp(now, tz=UTC).isoformat()
        item = {"received_at": received_at, "path": path, "payload": payload}
        with self._lock:
            self._items.append(item)
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(item) + "\n")
        return item

    async def deliver(self, url: str, body: bytes, headers: dict, timeout: float | None) -> int:
        """An Alertmanager webhook transport that needs no sockets (for the virtual clock)."""
        self.record(json.loads(body), urllib.parse.urlparse(url).path or "/")
        return 200

    def notifications(self, since: int = 0) -> list[dict]:
        with self._lock:
            return list(self._items[since:])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            if self.path and self.path.exists():
                self.path.unlink()

    # --- serving --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/api/notifications", self._api)
        app.router.add_post("/{path:.*}", self._webhook)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 5001) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_background(self, host: str = "127.0.0.1", port: int = 5001) -> str:
        """Serve from a background thread (a notebook's own loop is busy running the kernel) and
        return the URL. An inbox already served on that address from this process — say by the
        previous run of the same cell — is stopped first, so re-running never hits "address in use"."""
        from stack.clock import LoopThread

        with _BACKGROUND_LOCK:
            previous = _BACKGROUND.pop((host, port), None)
        if previous is not None:
            previous.stop_background()
        self._thread = LoopThread(name="inbox-server")
        try:
            self._thread.submit(self.start(host, port), timeout=10)
        except BaseException:
            self._thread.stop()
            self._thread = None
            raise
        with _BACKGROUND_LOCK:
            _BACKGROUND[(host, port)] = self
        return f"http://{host}:{port}"

    def stop_background(self) -> None:
        if self._thread is None:
            return
        try:
            self._thread.submit(self.stop(), timeout=10)
        finally:
            self._thread.stop()
            self._thread = None

    async def _webhook(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except ValueError as e:
            return web.Response(status=400, text=f"body is not JSON: {e}\n")
        if not isinstance(payload, dict) or "alerts" not in payload:
            return web.Response(status=400, text="not an Alertmanager webhook message (no 'alerts')\n")
        self.record(payload, request.path)
        return web.Response(status=200)

    async def _api(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return web.Response(status=400, text="since must be an integer\n")
        return web.json_response(self.notifications(since))

    async def _page(self, request: web.Request) -> web.Response:
        n = len(self.notifications())
        page = (f'<!doctype html><html><head><meta charset="utf-8">'
                f'<meta http-equiv="refresh" content="{PAGE_REFRESH_SECONDS}">'
                f"<title>Inbox ({n})</title></head>"
                f'<body style="font-family:sans-serif"><h1>Notification inbox</h1>'
                f"<p>{n} notifications received. This page refreshes every {PAGE_REFRESH_SECONDS} s.</p>"
                f"{self.html_table()}</body></html>")
        return web.Response(text=page, content_type="text/html")


class RemoteInbox(InboxView):
    """A running inbox process, read over HTTP (``Inbox.connect("http://127.0.0.1:5001")``)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def notifications(self, since: int = 0) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/notifications?since={since}", timeout=5) as r:
            return json.loads(r.read())


def _go_time(text: str | None):
    """Webhook times; Go's zero time (a firing alert's endsAt) becomes None (NaT in the frame)."""
    if not text or text.startswith("0001-01-01"):
        return None
    return text


# --- the widget's background refresh ----------------------------------------------------------------

_BACKGROUND: dict[tuple[str, int], Inbox] = {}
_BACKGROUND_LOCK = threading.Lock()
_POLLERS: dict[int, threading.Event] = {}
_POLLERS_LOCK = threading.Lock()


def _start_poller(source: InboxView, view, interval: float) -> None:
    """Refresh ``view`` from ``source`` every ``interval`` s in a daemon thread; a new widget for the
    same source (a re-run cell) stops the previous thread."""
    key = id(source) if not isinstance(source, RemoteInbox) else hash(source.url)
    stop = threading.Event()
    with _POLLERS_LOCK:
        old = _POLLERS.pop(key, None)
        if old is not None:
            old.set()
        _POLLERS[key] = stop

    def run() -> None:
        while not stop.wait(interval):
            try:
                view.value = source.html_table()
            except OSError:  # a remote inbox that went away: keep the last table
                continue

    threading.Thread(target=run, name="inbox-widget", daemon=True).start()


def stop_pollers() -> None:
    with _POLLERS_LOCK:
        for ev in _POLLERS.values():
            ev.set()
        _POLLERS.clear()


# --- command line ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="workshop inbox", description="notification inbox (webhook receiver)")
    p.add_argument("--listen", default=DEFAULT_LISTEN, help="HOST:PORT (default %(default)s)")
    p.add_argument("--state-dir", default=None, help="keep notifications in DIR/notifications.jsonl")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    host, _, port = args.listen.rpartition(":")
    try:
        port_n = int(port)
    except ValueError:
        print(f"inbox: --listen must be HOST:PORT, got {args.listen!r}", file=sys.stderr)
        return 2
    inbox = Inbox(args.state_dir)

    async def run() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await inbox.start(host or "127.0.0.1", port_n)
        print(f"inbox listening on http://{host or '127.0.0.1'}:{port_n}/", flush=True)
        try:
            await stop.wait()
        finally:
            await inbox.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    except OSError as e:
        print(f"inbox: cannot listen on {args.listen}: {e.strerror}", file=sys.stderr)
        return 1
    return 0
