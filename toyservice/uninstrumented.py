"""The toy service as participants first meet it: it works, but nobody can see how well.

It answers ``GET`` and ``POST`` on ``/api/foo`` and ``/api/bar``, takes a while to do so, sometimes
fails with a 500, has a recurring outage, and runs a batch job in the background. Everything about
*how* it behaves comes from :mod:`toyservice.model`; this file is only the service around it.

Your exercise is to make it observable with ``prometheus_client``: count requests, measure their
latency, track requests in flight and the batch job's last success. The places to do that are
marked ``# Instrument here``. ``toyservice/instrumented.py`` is one reference solution.

The HTTP server (aiohttp) is a thin adapter around :meth:`ToyService.handle`, which takes a method
and a path and returns a :class:`Reply`. The simulation calls ``handle`` directly, without sockets,
so the same code answers live requests and simulated ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from aiohttp import web

from stack.clock import Clock, WallClock, cancel_and_wait
from toyservice import faults
from toyservice.model import BatchOutcome, ModelConfig, ServiceModel

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


@dataclass
class Reply:
    """An HTTP answer, independent of any HTTP library."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain; charset=utf-8"})

    @classmethod
    def text(cls, status: int, text: str) -> Reply:
        return cls(status, (text + "\n").encode())

    @classmethod
    def json(cls, status: int, data: object) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


class ToyService:
    """One instance of the toy service: its API, its batch job, and (optionally) an HTTP listener."""

    def __init__(
        self,
        *,
        name: str = "toyservice",
        seed: int | None = 0,
        clock: Clock | None = None,
        config: ModelConfig | None = None,
        enable_faults: bool = False,
    ):
        self.name = name
        self.clock = clock or WallClock()
        self.model = ServiceModel(self.clock, seed, config)
        self.enable_faults = enable_faults
        self._runner: web.AppRunner | None = None
        self._batch_task: asyncio.Task | None = None

    # --- answering requests -----------------------------------------------------------------
    async def handle(self, method: str, path: str, body: bytes = b"", accept: str = "") -> Reply:
        """Answer one request. The admin API keeps working while the service is "down"."""
        if path == faults.ADMIN_PATH:
            status, data = faults.handle_admin(self.model, method, body, enabled=self.enable_faults)
            return Reply.json(status, data)
        if self.model.fault_active("down"):
            return Reply.text(503, "service unavailable (injected fault)")
        return await self.route(method, path, accept)

    async def route(self, method: str, path: str, accept: str = "") -> Reply:
        """Send a request to the code for its path: 404 for unknown paths, 405 for other methods."""
        if path == HEALTH_PATH:
            return Reply.text(200, "ok")
        if self.model.route(method, path) is None:
            if path not in self.model.config.paths:
                return Reply.text(404, f"no such path: {path}")
            return Reply.text(405, f"method {method} not allowed on {path}")
        return await self.api(method, path)

    async def api(self, method: str, path: str) -> Reply:
        """The actual work of /api/foo and /api/bar."""
        # Instrument here: requests in flight, requests by method/path/status, their latency.
        outcome = self.model.respond(method, path)
        await self.clock.sleep(outcome.latency)
        if outcome.status == 200:
            return Reply.text(200, f"{method} {path}: ok")
        return Reply.text(outcome.status, f"{method} {path}: failed")

    # --- the batch job ----------------------------------------------------------------------
    async def run_batch_job(self) -> BatchOutcome:
        """One run of the background batch job."""
        # Instrument here: when did it last succeed, how long did it take, how much did it do?
        outcome = self.model.batch_run()
        await self.clock.sleep(outcome.duration)
        log.info("%s: batch job %s", self.name, "succeeded" if outcome.success else "failed")
        return outcome

    async def _batch_loop(self) -> None:
        while True:
            await self.clock.sleep(self.model.config.batch_interval)
            await self.run_batch_job()

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self, host: str | None = None, port: int | None = None) -> None:
        """Start the batch job and, given an address, the HTTP listener.

        Without an address the service runs without sockets (a simulation calls :meth:`handle`).
        """
        self._batch_task = asyncio.ensure_future(self._batch_loop())
        if host is not None and port is not None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._serve_http)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        await cancel_and_wait(self._batch_task)
        self._batch_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve_http(self, request: web.Request) -> web.Response:
        body = await request.read() if request.can_read_body else b""
        reply = await self.handle(request.method, request.path, body, request.headers.get("Accept", ""))
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
