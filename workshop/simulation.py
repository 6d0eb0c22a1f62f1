"""``Simulation``: the live demo, on a virtual clock, inside a notebook.

Participants should not wait half an hour for half an hour of data. A Simulation builds the same
demo ``workshop demo`` runs, from the same ``stack/prometheus.yml``, ``stack/rules/`` and
``stack/alertmanager.yml``: three instrumented toy services with staggered outages under the
oscillating load generator, their batch jobs pushing to a Pushgateway, a (simulated) host behind a
node exporter, Prometheus scraping all of them every 5 s and evaluating the shipped rules, and the
alerts going through Alertmanager to a notification inbox. It runs on a
:class:`~stack.clock.VirtualClock` with an in-process transport: the load generator calls the
services' ``handle`` directly, the scraper fetches ``/metrics`` the same way, the notifier posts to
the Alertmanager object and Alertmanager's webhooks land in :attr:`Simulation.inbox`. The code that
runs is the live code; only the clock and the transport differ. An hour of traffic then takes
seconds, and the same seed gives the same samples, so a notebook's numbers can be checked::

    from workshop import Simulation
    sim = Simulation(seed=1).run("1h")
    sim.query_range('sum by (instance) (rate(http_requests_total[1m]))', "30m", step="15s").wide().plot()
    sim.alerts()           # what the rules say right now
    sim.inbox.frame()      # the notifications that reached the inbox

Job names and instance addresses are those of the live demo (``127.0.0.1:8080`` ...), so queries
carry over. Queries return the same long ``ResultFrame`` as
:class:`workshop.client.PrometheusClient` and raise the same ``QueryError`` (with ``.caret()``).
"""

from __future__ import annotations

import json
import math
import weakref
from pathlib import Path

import numpy as np
import yaml
from tqdm.auto import tqdm

import stack
from stack.alertmanager.alertmanager import Alertmanager
from stack.clock import VirtualClock, outside_running_loop
from stack.config.prometheus import parse_config_text
from stack.exposition import CONTENT_TYPE_TEXT
from stack.node_exporter import SimulatedHost
from stack.prometheus import PrometheusServer
from stack.promql import ParseError
from stack.promql import QueryError as EngineQueryError
from stack.pushgateway import Pushgateway
from stack.scrape.transport import InProcessTransport, ScrapeResponse
from stack.web.codec import result_json
from toyservice.exposition import ExpositionCache
from toyservice.instrumented import InstrumentedToyService
from toyservice.loadgen import LoadGenerator
from toyservice.model import OUTAGE_STAGGER, ModelConfig
from toyservice.push import in_process_pusher
from workshop.client import (
    QueryError,
    ResultFrame,
    looks_like_duration,
    parse_duration,
    parse_time,
    result_frame,
)
from workshop.inbox import Inbox

# 2026-01-01T00:00:00Z: a fixed start, so that a seed also fixes every timestamp.
DEFAULT_START = 1_767_225_600.0
# The live demo's configuration files, used as they are.
STACK_DIR = Path(stack.__file__).resolve().parent
PROMETHEUS_YML = STACK_DIR / "prometheus.yml"
LOCAL_TARGETS = STACK_DIR.parent / "deploy" / "targets" / "local.yml"  # the live demo's addresses
ALERTMANAGER_YML = STACK_DIR / "alertmanager.yml"
# The live demo's addresses (stack/prometheus.yml), so that instance labels and queries carry over.
TOY_TARGETS = ("127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082")
PROMETHEUS_ADDRESS = "127.0.0.1:9090"
PUSHGATEWAY_ADDRESS = "127.0.0.1:9091"
NODE_EXPORTER_ADDRESS = "127.0.0.1:9100"
EXTERNAL_URL = f"http://{PROMETHEUS_ADDRESS}"  # alerts' generatorURL, as in the live demo
DEFAULT_QUERY_RANGE = 3600.0  # query_range without a start: the last hour, as the HTTP client does
MAX_POINTS = 11_000  # upstream web/api/v1: a range query may return at most this many steps
# Requests/s per toy service. The live demo sends 20; a quarter of that keeps an hour of the whole
# demo to seconds while rates, error ratios and latency quantiles stay smooth enough to read.
SIMULATION_RATE = 5.0
PROGRESS_DELAY = 1.0  # seconds of real time before a run shows a progress bar


class Simulation:
    """The demo stack on a virtual clock: ``run`` advances time, ``query``/``query_range`` read it."""

    def __init__(self, seed: int = 0, *, start: float = DEFAULT_START, rate: float = SIMULATION_RATE,
                 instances: int = 3, scrape_interval: str | None = None,
                 progress: bool = True):  # fmt: skip
        if not 1 <= instances <= len(TOY_TARGETS):
            raise ValueError(f"instances must be between 1 and {len(TOY_TARGETS)}, got {instances}")
        self.seed = seed
        self.progress = progress
        self.clock = clock = VirtualClock(start=start)
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(instances + 1)]
        # The alerting chain: rules -> notifier -> Alertmanager -> inbox, all in-process.
        self.inbox = Inbox(clock=clock)
        self.alertmanager = Alertmanager(ALERTMANAGER_YML, clock=clock, sender=self.inbox.deliver, seed=seed)
        # What the toy services' batch jobs push to, and the host the node exporter describes.
        self.pushgateway = Pushgateway(clock=clock, process_metrics=False)
        self.host = SimulatedHost(clock, seed=seed)
        pusher = in_process_pusher(self.pushgateway.push)
        self.services: dict[str, InstrumentedToyService] = {
            address: InstrumentedToyService(
                name=f"toyservice-{i + 1}", seed=seeds[i], clock=clock, enable_faults=True,
                config=ModelConfig(outage_offset=i * OUTAGE_STAGGER), pusher=pusher,
            )
            for i, address in enumerate(TOY_TARGETS[:instances])
        }  # fmt: skip
        self.load = LoadGenerator(list(self.services), self._send, clock=clock, rate=rate,
                                  seed=seeds[-1])  # fmt: skip
        handlers = {a: self._scrape_handler(s) for a, s in self.services.items()}
        handlers[PUSHGATEWAY_ADDRESS] = self._serve_pushgateway
        handlers[NODE_EXPORTER_ADDRESS] = self._collector_handler(self.host)
        transport = InProcessTransport(handlers)
        self.prometheus = PrometheusServer(
            config=demo_config(list(self.services), scrape_interval), clock=clock,
            transport=transport, listen_address=None,
            alert_poster=self.alertmanager.post_alerts, external_url=EXTERNAL_URL,
        )  # fmt: skip
        transport.handlers[PROMETHEUS_ADDRESS] = self._collector_handler(self.prometheus.registry)
        self._closed = False
        parts = (self.alertmanager, self.prometheus, list(self.services.values()), self.load)
        outside_running_loop(clock.run, _start(*parts))
        # A notebook cell that builds a new Simulation drops the old one: stop its tasks and loop then.
        self._finalizer = weakref.finalize(self, _shutdown, clock, parts)

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

            outside_running_loop(self.clock.advance, seconds, progress)
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
        elif isinstance(start, str) and looks_like_duration(start):
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

    def alerts(self):
        """The alerts the rules hold right now (pending and firing), one row each, as a DataFrame."""
        import pandas as pd

        rows = []
        for rule in self.prometheus.rule_manager.alerting_rules():
            for alert in rule.current_alerts():
                labels = alert.labels.to_dict()
                rows.append({
                    "alertname": labels.get("alertname", rule.name), "state": alert.state.value,
                    "instance": labels.get("instance", ""), "severity": labels.get("severity", ""),
                    "active_since": pd.Timestamp(alert.active_at, unit="ms", tz="UTC"),
                    "value": alert.value, "summary": alert.annotations.get("summary", ""), "labels": labels,
                })  # fmt: skip
        columns = ["alertname", "state", "instance", "severity", "active_since", "value", "summary", "labels"]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.sort_values(["alertname", "instance"], ignore_index=True)

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

    def _serve_pushgateway(self, path: str, headers: dict[str, str]) -> ScrapeResponse:
        return ScrapeResponse(200, CONTENT_TYPE_TEXT, self.pushgateway.metrics_text().encode())

    @staticmethod
    def _collector_handler(collector):
        """Serve a prometheus_client collector's /metrics (Prometheus' own, the simulated host's)."""
        cache = ExpositionCache(collector)

        def handler(path: str, headers: dict[str, str]) -> ScrapeResponse:
            content_type, body = cache.render(headers.get("Accept", ""))
            return ScrapeResponse(200, content_type, body)

        return handler

    @staticmethod
    def _scrape_handler(service: InstrumentedToyService):
        async def handler(path: str, headers: dict[str, str]) -> ScrapeResponse:
            reply = await service.handle("GET", path.split("?", 1)[0], accept=headers.get("Accept", ""))
            return ScrapeResponse(reply.status, reply.headers.get("Content-Type", ""), reply.body)

        return handler


def demo_config(toy_targets: list[str], scrape_interval: str | None = None):
    """``stack/prometheus.yml`` for a simulation: its toy service targets cut to those simulated, and
    optionally another scrape (and evaluation) interval. Everything else is the live demo's."""
    doc = yaml.safe_load(PROMETHEUS_YML.read_text())
    if scrape_interval is not None:
        doc["global"]["scrape_interval"] = doc["global"]["evaluation_interval"] = scrape_interval
    # The live config reads its addresses from deploy/targets/local.yml (file_sd); a simulation has
    # no files to watch, so each job gets its own group from that file as static targets.
    groups = yaml.safe_load(LOCAL_TARGETS.read_text()) or []
    by_job = {g["labels"]["job"]: g["targets"] for g in groups}
    sections = [*doc["scrape_configs"], *doc.get("alerting", {}).get("alertmanagers", [])]
    for section in sections:
        job = section.get("job_name", "alertmanager")
        if section.pop("file_sd_configs", None) is not None:
            section.pop("relabel_configs", None)  # it only kept this job's group of the shared file
            section["static_configs"] = [{"targets": list(by_job.get(job, []))}]
        if job == "toyservice":
            section["static_configs"] = [{"targets": list(toy_targets)}]
    return parse_config_text(yaml.safe_dump(doc, sort_keys=False), filename=str(PROMETHEUS_YML),
                             base_dir=str(PROMETHEUS_YML.parent))  # fmt: skip


async def _start(alertmanager: Alertmanager, prometheus: PrometheusServer,
                 services: list[InstrumentedToyService], load: LoadGenerator) -> None:  # fmt: skip
    await alertmanager.start()
    await prometheus.start()
    for service in services:
        await service.start()
    await load.start()


async def _stop(alertmanager: Alertmanager, prometheus: PrometheusServer,
                services: list[InstrumentedToyService], load: LoadGenerator) -> None:  # fmt: skip
    await load.stop()
    for service in services:
        await service.stop()
    await prometheus.stop()
    await alertmanager.stop()


def _shutdown(clock: VirtualClock, parts: tuple) -> None:
    def stop_and_close() -> None:
        clock.run(_stop(*parts))
        clock.close()

    if not clock.loop.is_closed():
        outside_running_loop(stop_and_close)


