"""Chapter 2, instrumenting: the participant's service is run on a free port and scraped over HTTP.

Why run it for real: instrumentation is right when the numbers on ``/metrics`` are right, so the
check starts the participant's class as a real aiohttp service on 127.0.0.1 (a free port, in a
background event loop, stopped afterwards -- re-running is always safe), sends it a known set of
requests, runs its batch job once, scrapes ``/metrics`` and parses the text with the stack's own
exposition parser. Families, types, label names, units and the counted values are then compared
with what was sent.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections import Counter

from stack.clock import LoopThread
from stack.exposition import parse_text
from toyservice.model import ModelConfig
from workshop.exercises import Exercise, Incorrect

ROUTES = (("GET", "/api/foo"), ("POST", "/api/foo"), ("GET", "/api/bar"), ("POST", "/api/bar"))
REQUESTS_PER_ROUTE = 3
REQUIRED = {  # family -> (type, label names that must be there)
    "http_requests_total": ("counter", {"method", "path", "status"}),
    "http_request_duration_seconds": ("histogram", {"method", "path"}),
    "http_requests_in_flight": ("gauge", set()),
    "batch_job_last_success_timestamp_seconds": ("gauge", set()),
}
# A quick, calm service for checking: no outage cycle, a batch job that takes 0.1 s and succeeds.
CHECK_MODEL = dict(outage_for=0.0, batch_interval=3600.0, batch_mean_duration=0.05, batch_success_ratio=1.0)
HTTP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningService:
    """A toy service class running on 127.0.0.1:<free port> in a background loop until ``stop()``."""

    def __init__(self, service_class, seed: int = 1, **model):
        self.service = service_class(name="my-toyservice", seed=seed, config=ModelConfig(**model))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = LoopThread(name="toyservice-under-test")
        try:
            self._loop.submit(self.service.start("127.0.0.1", self.port), timeout=HTTP_TIMEOUT)
        except BaseException:
            self._loop.stop()
            raise

    def request(self, method: str, path: str) -> tuple[int, str]:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def run_batch_job(self):
        return self._loop.submit(self.service.run_batch_job(), timeout=HTTP_TIMEOUT)

    def stop(self) -> None:
        try:
            self._loop.submit(self.service.stop(), timeout=HTTP_TIMEOUT)
        finally:
            self._loop.stop()

    def __enter__(self) -> RunningService:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


SOLUTION = """\
# in __init__, after self.registry = CollectorRegistry():
labels = ["method", "path", "status"]
self.requests = Counter("http_requests_total", "HTTP requests handled.", labels, registry=self.registry)
self.duration = Histogram("http_request_duration_seconds", "Time spent answering HTTP requests.",
                          labels, registry=self.registry)
self.in_flight = Gauge("http_requests_in_flight", "HTTP requests being answered.", registry=self.registry)
self.last_success = Gauge("batch_job_last_success_timestamp_seconds",
                          "When the batch job last succeeded (Unix time).", registry=self.registry)

# api():
self.in_flight.inc()
start = self.clock.now()
try:
    reply = await super().api(method, path)
finally:
    self.in_flight.dec()
self.requests.labels(method, path, str(reply.status)).inc()
self.duration.labels(method, path, str(reply.status)).observe(self.clock.now() - start)
return reply

# run_batch_job(), after outcome = await super().run_batch_job():
if outcome.success:
    self.last_success.set(self.clock.now())

# and then: instrumented_service = MyToyService   (toyservice/instrumented.py is the full reference)"""


def check_instrumented(service_class) -> str:
    if not isinstance(service_class, type):
        raise Incorrect("set `instrumented_service` to your class itself (MyToyService), not an instance.")
    with RunningService(service_class, **CHECK_MODEL) as svc:
        sent = Counter()
        statuses = Counter()
        for method, path in ROUTES:
            for _ in range(REQUESTS_PER_ROUTE):
                status, _body = svc.request(method, path)
                sent[(method, path)] += 1
                statuses[(method, path, str(status))] += 1
        svc.run_batch_job()
        status, text = svc.request("GET", "/metrics")
    if status != 200:
        raise Incorrect(f"GET /metrics answered {status}: serve the registry there (see `route`).")
    families = {f.name: f for f in parse_text(text)}
    for name, (kind, labels) in REQUIRED.items():
        fam = families.get(name)
        if fam is None:
            have = ", ".join(sorted(families)) or "nothing"
            raise Incorrect(f"/metrics has no `{name}` ({kind}); it has: {have}.")
        if fam.type != kind:
            raise Incorrect(f"`{name}` is a {fam.type}, it should be a {kind}.")
        for m in fam.metrics:
            if missing := labels - set(m.labels):
                raise Incorrect(f"`{name}` lacks the label(s) {', '.join(sorted(missing))}.")
    for name in families:
        if name.endswith(("_ms", "_milliseconds")) or "millisecond" in name:
            raise Incorrect(f"`{name}`: use base units, seconds, as Prometheus does (`..._seconds`).")
    counted = Counter()
    for m in families["http_requests_total"].metrics:
        counted[(m.labels["method"], m.labels["path"], m.labels["status"])] += m.value
    if counted != statuses:
        want = ", ".join(f"{k[0]} {k[1]} {k[2]}: {v:g}" for k, v in sorted(statuses.items()))
        got = ", ".join(f"{k[0]} {k[1]} {k[2]}: {v:g}" for k, v in sorted(counted.items())) or "nothing"
        raise Incorrect(f"http_requests_total counted {got}; the check sent {want}.")
    hist = families["http_request_duration_seconds"]
    observed = sum(m.count for m in hist.metrics)
    if observed != sum(sent.values()):
        raise Incorrect(f"http_request_duration_seconds observed {observed:g} requests, the check sent "
                        f"{sum(sent.values())}.")  # fmt: skip
    mean = sum(m.sum for m in hist.metrics) / observed
    if not 0.005 < mean < 2.0:
        raise Incorrect(f"the mean observed latency is {mean:g} s; the service takes ~0.03-0.15 s: "
                        "observe seconds (clock.now() after minus before).")  # fmt: skip
    (in_flight,) = families["http_requests_in_flight"].metrics
    if in_flight.value != 0:
        raise Incorrect(f"http_requests_in_flight is {in_flight.value:g} with no request running: "
                        "decrement it when a request ends (also when it fails).")  # fmt: skip
    (last,) = families["batch_job_last_success_timestamp_seconds"].metrics
    if abs(last.value - time.time()) > 60:
        raise Incorrect(f"batch_job_last_success_timestamp_seconds is {last.value:g} right after a "
                        "successful run; set it to self.clock.now() (Unix time) when the job succeeds.")
    return (f"{len(families)} families; {sum(sent.values())} requests counted and timed, "
            "in-flight back to 0, batch success time set.")  # fmt: skip


q1 = Exercise(
    "q1", check_instrumented, variable="instrumented_service",
    hint="In __init__: Counter/Histogram with labels [method, path, status], a Gauge for in-flight and one "
         "for the batch job's last success, all with registry=self.registry. In api(): inc in-flight, "
         "time super().api(), dec in a finally, then count and observe with the reply's status.",
    solution=SOLUTION,
)  # fmt: skip


SCRAPE_CONFIG = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: my-toyservice
    static_configs:
      - targets: ['127.0.0.1:{port}']
"""
WATCH_TIMEOUT = 30.0  # seconds to wait for two scrapes that show the requests


def scrape_with_prometheus(service_class, requests: int = 8, query: str = "sum by (path, status) "
                           "(http_requests_total)"):  # fmt: skip
    """Run the class on a free port, let the stack's Prometheus scrape it live (every 1 s), and query.

    Wall-clock: sends ``requests`` requests, waits (polling) until a scrape has counted them all,
    returns ``query``'s result as a DataFrame, and stops both.
    """
    import json

    from stack.clock import WallClock
    from stack.config.prometheus import parse_config_text
    from stack.prometheus import PrometheusServer
    from stack.web.codec import result_json
    from workshop.client import result_frame

    with RunningService(service_class, **CHECK_MODEL) as svc:
        config = parse_config_text(SCRAPE_CONFIG.format(port=svc.port))
        prometheus = PrometheusServer(config=config, clock=WallClock(), listen_address=None)
        loop = LoopThread(name="prometheus")
        try:
            loop.submit(prometheus.start(), timeout=HTTP_TIMEOUT)
            for i in range(requests):
                svc.request(*ROUTES[i % len(ROUTES)])
            deadline = time.monotonic() + WATCH_TIMEOUT
            while True:
                counted = prometheus.engine.instant("sum(http_requests_total)", round(time.time() * 1000))
                data = json.loads(result_json(counted))["result"]
                if data and float(data[0]["value"][1]) >= requests:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError("no scrape showed the requests within "
                                       f"{WATCH_TIMEOUT:g} s: is /metrics served?")  # fmt: skip
                time.sleep(0.2)  # polling the next 1s scrape, not guessing its time
            value = prometheus.engine.instant(query, round(time.time() * 1000))
            return result_frame(json.loads(result_json(value)))
        finally:
            try:
                loop.submit(prometheus.stop(), timeout=HTTP_TIMEOUT)
            finally:
                loop.stop()
