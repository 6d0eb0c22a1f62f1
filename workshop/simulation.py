"""``Simulation``: the live demo, on a virtual clock, inside a notebook.

Participants should not wait half an hour for half an hour of data. A Simulation builds the same
demo ``workshop demo`` runs -- three instrumented toy services with staggered outages under the
oscillating load generator, scraped every 5 s by the stack's Prometheus -- but on a
:class:`~stack.clock.VirtualClock` and with an in-process transport: the load generator calls the
services' ``handle`` directly and the scraper fetches their ``/metrics`` the same way. The code that
runs is the live code; only the clock and the transport differ. An hour of traffic then takes
seconds, and the same seed gives the same samples, so a notebook's numbers can be checked::

    from workshop import Simulation
    sim = Simulation(seed=1).run("1h")
    sim.query_range('sum by (instance) (rate(http_requests_total[1m]))', "30m", step="15s").wide().plot()

Queries return the same long ``ResultFrame`` as :class:`workshop.client.PrometheusClient`, so what
participants learn on the simulation works unchanged against the live stack, and raise the same
``QueryError`` (with ``.caret()``) for a malformed query.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
import weakref

import numpy as np
from tqdm.auto import tqdm

from stack.clock import VirtualClock
from stack.config.prometheus import parse_config_text
from stack.prometheus import PrometheusServer
from stack.promql import ParseError
from stack.promql import QueryError as EngineQueryError
from stack.scrape.transport import InProcessTransport, ScrapeResponse
from stack.web.codec import result_json
from toyservice.instrumented import InstrumentedToyService
from toyservice.loadgen import LoadGenerator
from toyservice.model import OUTAGE_STAGGER, ModelConfig
from workshop.client import QueryError, ResultFrame, parse_duration, parse_time, result_frame

# 2026-01-01T00:00:00Z: a fixed start, so that a seed also fixes every timestamp.
DEFAULT_START = 1_767_225_600.0
# The live demo's addresses (stack/prometheus.yml), so that instance labels and queries carry over.
TOY_TARGETS = ("127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082")
SCRAPE_INTERVAL = "5s"  # as stack/prometheus.yml
DEFAULT_QUERY_RANGE = 3600.0  # query_range without a start: the last hour, as the HTTP client does
MAX_POINTS = 11_000  # upstream web/api/v1: a range query may return at most this many steps
# Requests/s per toy service. The live demo sends 20; in a simulation every request is an asyncio
# task on the virtual loop (~130 us of CPU each), so a quarter of that keeps an hour of traffic to
# seconds while rates, error ratios and latency quantiles stay smooth enough to read.
SIMULATION_RATE = 5.0
PROGRESS_DELAY = 1.0  # seconds of real time before a run shows a progress bar

_CONFIG = """
global:
  scrape_interval: {interval}
  evaluation_interval: {interval}
scrape_configs:
  - job_name: toyservice
    static_configs:
      - targets: [{targets}]
"""


class Simulation:
    """The demo stack on a virtual clock: ``run`` advances time, ``query``/``query_range`` read it."""

    def __init__(self, seed: int = 0, *, start: float = DEFAULT_START, rate: float = SIMULATION_RATE,
                 instances: int = 3, scrape_interval: str = SCRAPE_INTERVAL,
                 progress: bool = True):  # fmt: skip
        if not 1 <= instances <= len(TOY_TARGETS):
            raise ValueError(f"instances must be between 1 and {len(TOY_TARGETS)}, got {instances}")
        self.seed = seed
        self.progress = progress
        self.clock = VirtualClock(start=start)
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(instances + 1)]
        self.services: dict[str, InstrumentedToyService] = {
            address: InstrumentedToyService(
                name=f"toyservice-{i + 1}", seed=seeds[i], clock=self.clock, enable_faults=True,
                config=ModelConfig(outage_offset=i * OUTAGE_STAGGER),
            )
            for i, address in enumerate(TOY_TARGETS[:instances])
        }  # fmt: skip
        self.load = LoadGenerator(list(self.services), self._send, clock=self.clock, rate=rate,
                                  seed=seeds[-1])  # fmt: skip
        targets = ", ".join(f"'{a}'" for a in self.services)
        config = parse_config_text(_CONFIG.format(interval=scrape_interval, targets=targets))
        transport = InProcessTransport({a: self._scrape_handler(s) for a, s in self.services.items()})
        self.prometheus = PrometheusServer(config=config, clock=self.clock, transport=transport,
                                           listen_address=None)  # fmt: skip
        self._closed = False
        parts = (self.prometheus, list(self.services.values()), self.load)
        _outside_running_loop(self.clock.run, _start(*parts))
        # A notebook cell that builds a new Simulation drops the old one: stop its tasks and loop then.
        self._finalizer = weakref.finalize(self, _shutdown, self.clock, parts)

    def __repr__(self) -> str:
        return f"<Simulation seed={self.seed} at {self.time.isoformat()} ({len(self.services)} toy services)>"

    # --- time -------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """The simulation's current time, Unix seconds."""
        return self.clock.now()

    @property
    def time(self):
        """The simulation's current time as a UTC ``pandas.Timestamp``."""
        import pandas as pd

        return pd.Timestamp(self.now, unit="s", tz="UTC")

    def run(self, duration: str | float) -> Simulation:
        """Advance virtual time by ``duration`` ("90s", "1h", or seconds); returns the simulation."""
        self._check_open()
        seconds = parse_duration(duration)
        if not seconds > 0:
            raise ValueError(f"duration must be positive, got {duration!r}")
        start = self.now
        with tqdm(total=round(seconds), unit="s", desc="simulating", delay=PROGRESS_DELAY,
                  disable=not self.progress, leave=False) as bar:  # fmt: skip

            def progress(t: float) -> None:
                bar.update(round(t - start) - bar.n)

            _outside_running_loop(self.clock.advance, seconds, progress)
        return self

    # --- queries ----------------------------------------------------------------------------
    def query(self, expr: str, time=None) -> ResultFrame:
        """Instant query at ``time`` (default: the simulation's now; "now-5m", datetimes, Unix seconds)."""
        t = self.now if time is None else parse_time(time, self.now)
        return self._evaluate(expr, lambda engine: engine.instant(expr, round(t * 1000)))

    def query_range(self, expr: str, start=None, end=None, step=None) -> ResultFrame:
        """Range query. ``start`` may be a duration ("30m": the 30 minutes before ``end``, default now)."""
        end_s = self.now if end is None else parse_time(end, self.now)
        if start is None:
            start_s = end_s - DEFAULT_QUERY_RANGE
        elif isinstance(start, str) and _is_duration(start):
            start_s = end_s - parse_duration(start)
        else:
            start_s = parse_time(start, self.now)
        step_s = parse_duration(step) if step is not None else max(1.0, math.ceil((end_s - start_s) / 250))
        if end_s < start_s or not step_s > 0 or (end_s - start_s) / step_s > MAX_POINTS:
            raise QueryError("bad_data", "end before start, step not positive, or more than "
                             f"{MAX_POINTS} points per series: use a larger step", expr)  # fmt: skip
        ms = (round(start_s * 1000), round(end_s * 1000), round(step_s * 1000))
        return self._evaluate(expr, lambda engine: engine.range(expr, *ms))

    def _evaluate(self, expr: str, evaluate) -> ResultFrame:
        self._check_open()
        try:
            value = evaluate(self.prometheus.engine)
        except ParseError as e:
            raise QueryError(e.error_type, str(e), expr) from None
        except EngineQueryError as e:
            raise QueryError(e.error_type, str(e), expr) from None
        return result_frame(json.loads(result_json(value)))

    # --- the instructor's levers ------------------------------------------------------------
    def fault(self, kind: str, duration: str | float = "2m", instance: str = TOY_TARGETS[0]) -> None:
        """Inject a fault (``latency``, ``errors`` or ``down``) into one toy service, from now on."""
        if instance not in self.services:
            raise ValueError(f"no toy service {instance!r}; the simulation has {', '.join(self.services)}")
        self.services[instance].model.inject(kind, parse_duration(duration))

    # --- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every component and release the virtual event loop."""
        self._closed = True
        self._finalizer()

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this simulation is closed; create a new Simulation(...)")

    # --- the in-process transport's two directions -----------------------------------------------
    async def _send(self, target: str, method: str, path: str) -> int:
        return (await self.services[target].handle(method, path)).status

    @staticmethod
    def _scrape_handler(service: InstrumentedToyService):
        async def handler(path: str, headers: dict[str, str]) -> ScrapeResponse:
            reply = await service.handle("GET", path.split("?", 1)[0], accept=headers.get("Accept", ""))
            return ScrapeResponse(reply.status, reply.headers.get("Content-Type", ""), reply.body)

        return handler


async def _start(prometheus: PrometheusServer, services: list[InstrumentedToyService],
                 load: LoadGenerator) -> None:  # fmt: skip
    await prometheus.start()
    for service in services:
        await service.start()
    await load.start()


async def _stop(prometheus: PrometheusServer, services: list[InstrumentedToyService],
                load: LoadGenerator) -> None:  # fmt: skip
    await load.stop()
    for service in services:
        await service.stop()
    await prometheus.stop()


def _shutdown(clock: VirtualClock, parts: tuple) -> None:
    def stop_and_close() -> None:
        clock.run(_stop(*parts))
        clock.close()

    if not clock.loop.is_closed():
        _outside_running_loop(stop_and_close)


def _is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return not text.strip().replace(".", "", 1).isdigit()  # a bare number is a timestamp


def _outside_running_loop(fn, *args):
    """Call ``fn`` here, or in a helper thread when this thread already runs an event loop.

    A Jupyter kernel runs its own asyncio loop in the main thread, and an asyncio loop cannot be
    run from inside another; the virtual loop then runs in a short-lived thread while the cell waits.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulation") as pool:
        return pool.submit(fn, *args).result()
