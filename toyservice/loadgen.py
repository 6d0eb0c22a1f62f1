"""The load generator: oscillating traffic over the toy services' routes, live or simulated.

A flat request rate makes for flat graphs. The workshop's load rises and falls on a sine wave
(``rate x (1 + amplitude x sin(2 pi t / period))`` requests per second per target), so that
``rate()`` over different windows, ``irate`` versus ``rate`` and capacity questions have something
to show. Requests arrive as a Poisson process (exponential gaps), spread over the targets and over
the routes with fixed weights: mostly reads, some writes.

The core, :class:`LoadGenerator`, takes a clock and a ``send(target, method, path) -> status``
coroutine. Live, ``send`` is an HTTP request (:func:`http_sender`); in a simulation it calls the
service in-process. Either way the same loop decides what to send and when.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import math
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
import numpy as np

from stack.clock import Clock, WallClock, cancel_and_wait
from toyservice.durations import parse_duration
from toyservice.model import GET, POST

log = logging.getLogger(__name__)

Send = Callable[[str, str, str], Awaitable[int]]

# Share of traffic per (method, path): mostly reads, some writes.
ROUTE_WEIGHTS: dict[tuple[str, str], float] = {
    (GET, "/api/foo"): 0.4,
    (GET, "/api/bar"): 0.3,
    (POST, "/api/foo"): 0.15,
    (POST, "/api/bar"): 0.15,
}
DEFAULT_RATE = 20.0  # mean requests per second, per target
DEFAULT_PERIOD = 120.0  # seconds for one rise and fall of the load
DEFAULT_AMPLITUDE = 0.5  # the rate swings between 50% and 150% of the mean
MAX_IN_FLIGHT = 2000  # beyond this, new requests are dropped rather than piling up on a dead target
SCHEDULE_AHEAD = 1.0  # seconds of arrivals planned at a time
STATUS_CONNECTION_FAILED = 0  # recorded when no HTTP status came back at all


def check_shape(targets: Sequence[str], rate: float, period: float, amplitude: float) -> None:
    """Raise ValueError naming the first parameter that cannot describe a load."""
    if not targets:
        raise ValueError("the load generator needs at least one target")
    if not rate > 0:
        raise ValueError(f"rate must be > 0 requests/s, got {rate}")
    if not period > 0:
        raise ValueError(f"period must be > 0 s, got {period}")
    if not 0 <= amplitude < 1:
        raise ValueError(f"amplitude must be in [0, 1), got {amplitude}")


class LoadGenerator:
    """Sends requests to ``targets`` at a sine-modulated Poisson rate until stopped."""

    def __init__(
        self,
        targets: Sequence[str],
        send: Send,
        *,
        clock: Clock | None = None,
        rate: float = DEFAULT_RATE,
        period: float = DEFAULT_PERIOD,
        amplitude: float = DEFAULT_AMPLITUDE,
        seed: int | None = 0,
        routes: dict[tuple[str, str], float] | None = None,
    ):
        check_shape(targets, rate, period, amplitude)
        self.targets = list(targets)
        self.send = send
        self.clock = clock or WallClock()
        self.rate, self.period, self.amplitude = rate, period, amplitude
        weights = routes or ROUTE_WEIGHTS
        self._routes = list(weights)
        self._weights = np.array(list(weights.values()), dtype=float) / sum(weights.values())
        self._rng = np.random.default_rng(seed)
        self.statuses: collections.Counter[int] = collections.Counter()
        self.dropped = 0
        self._in_flight: dict[int, asyncio.Task] = {}  # request number -> its task
        self._fired = 0
        self._planned: list[asyncio.TimerHandle] = []
        self._gaps: list[float] = []
        self._target_idx: list[int] = []
        self._route_idx: list[int] = []
        self._drawn = 0
        self._task: asyncio.Task | None = None

    def rate_at(self, t: float) -> float:
        """Requests per second per target at time ``t``."""
        return self.rate * (1 + self.amplitude * math.sin(2 * math.pi * t / self.period))

    async def run(self) -> None:
        """Generate load until cancelled.

        Arrivals are planned one second ahead and handed to the event loop as timers
        (``call_at``) rather than awaited one by one: the same Poisson process (memoryless, so the
        arrival drawn past the horizon can be dropped), with fewer event-loop turns per request,
        which matters when a simulation sends hundreds of thousands of them. On a virtual clock the
        loop's time *is* the clock, so the timers fire in virtual time.
        """
        loop = asyncio.get_running_loop()
        n_targets = len(self.targets)
        t = self.clock.now()
        while True:
            horizon = t + SCHEDULE_AHEAD
            now, loop_now = self.clock.now(), loop.time()
            while True:
                gap, target, (method, path) = self._next_draw()
                # An exponential gap of mean 1, scaled to the total rate at that moment.
                t += gap / (self.rate_at(t) * n_targets)
                if t >= horizon:
                    break
                self._planned.append(loop.call_at(loop_now + (t - now), self._fire, target, method, path))
            await self.clock.sleep_until(horizon)
            self._planned.clear()  # all fired by now
            t = horizon

    def _next_draw(self) -> tuple[float, str, tuple[str, str]]:
        # Draw in blocks: three numpy calls per 1024 requests instead of three per request.
        if self._drawn >= len(self._gaps):
            n, rng = 1024, self._rng
            self._gaps = rng.exponential(1.0, n).tolist()
            self._target_idx = rng.integers(0, len(self.targets), n).tolist()
            self._route_idx = rng.choice(len(self._routes), n, p=self._weights).tolist()
            self._drawn = 0
        i = self._drawn
        self._drawn += 1
        return self._gaps[i], self.targets[self._target_idx[i]], self._routes[self._route_idx[i]]

    def _fire(self, target: str, method: str, path: str) -> None:
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            self.dropped += 1
            return
        self._fired += 1
        # A task starts no earlier than the next loop turn, so it is registered before it can finish.
        self._in_flight[self._fired] = asyncio.get_running_loop().create_task(
            self._send_one(self._fired, target, method, path))

    async def _send_one(self, number: int, target: str, method: str, path: str) -> None:
        try:
            status = await self.send(target, method, path)
        except (TimeoutError, aiohttp.ClientError, OSError):
            status = STATUS_CONNECTION_FAILED
        finally:
            # Removing itself here rather than in a done callback saves an event-loop turn per request.
            self._in_flight.pop(number, None)
        self.statuses[status] += 1

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.ensure_future(self.run())

    async def stop(self) -> None:
        for handle in self._planned:
            handle.cancel()
        self._planned.clear()
        await cancel_and_wait(self._task, *self._in_flight.values())
        self._in_flight.clear()  # tasks cancelled before their first step never removed themselves
        self._task = None


def http_sender(session: aiohttp.ClientSession, timeout: float = 10.0) -> Send:
    """A ``send`` that makes real HTTP requests with ``session``."""
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(target: str, method: str, path: str) -> int:
        async with session.request(method, f"http://{target}{path}", timeout=client_timeout) as response:
            await response.read()
            return response.status

    return send


# --- the command --------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="workshop load", description="Drive oscillating load at toy services.")
    p.add_argument("--target", action="append", help="host:port of a toy service (repeatable)")
    p.add_argument("--rate", type=float, default=DEFAULT_RATE, help="mean requests/s per target")
    p.add_argument("--period", default=f"{DEFAULT_PERIOD:g}s", help="period of the oscillation, e.g. 2m")
    p.add_argument("--amplitude", type=float, default=DEFAULT_AMPLITUDE, help="0 (flat) .. <1")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        period = parse_duration(args.period)
        targets = args.target or ["127.0.0.1:8080"]
        check_shape(targets, args.rate, period, args.amplitude)
    except ValueError as e:
        p.error(str(e))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s loadgen %(levelname)s %(message)s")
    asyncio.run(_run(targets, args.rate, period, args.amplitude, args.seed))
    return 0


async def _run(targets: list[str], rate: float, period: float, amplitude: float, seed: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:
        gen = LoadGenerator(
            targets, http_sender(session), rate=rate, period=period, amplitude=amplitude, seed=seed
        )
        await gen.start()
        log.info("sending ~%g requests/s to each of %s", rate, ", ".join(targets))
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=30)
                except TimeoutError:
                    summary = ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(gen.statuses.items()))
                    log.info("responses so far: %s; dropped: %d", summary or "none", gen.dropped)
        finally:
            await gen.stop()
    print("load generator stopped", file=sys.stderr)
