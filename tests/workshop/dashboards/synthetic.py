"""A seeded, synthetic toy-service history in a TSDB Head, for pictures that must not move.

The golden image must change only when *drawing* changes, not when the toy service's traffic
model is tuned, so it is rendered from this generator rather than from a Simulation: the toy
service's metric names and labels, numbers from ``numpy.random.default_rng(seed)``, written
into ``stack.tsdb.Head`` and read back through ``stack.promql.Engine``.
"""

from __future__ import annotations

import numpy as np

from stack.model import Labels
from stack.promql import Engine
from stack.tsdb import Head
from workshop.dashboards import EngineDataSource

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
STEP_S = 5
INSTANCES = ("127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082")
PATHS = {"/api/foo": 0.04, "/api/bar": 0.12}  # median latency per route, seconds
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # prometheus_client's defaults


class FixedClock:
    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


def toy_history(seed: int = 1, minutes: float = 10, step_s: float = STEP_S) -> EngineDataSource:
    """``minutes`` of scrapes (every ``step_s``) of three toy service instances; now is the last scrape."""
    rng = np.random.default_rng(seed)
    head = Head()
    steps = int(minutes * 60 // step_s) + 1
    times = START + step_s * np.arange(steps)
    app = head.appender()
    for instance in INSTANCES:
        base = {"instance": instance, "job": "toyservice"}
        for path, median in PATHS.items():
            wave = 3 + 2 * np.sin(np.arange(steps) / 20 + rng.uniform(0, 6))
            requests = rng.poisson(wave * step_s)
            errors = rng.binomial(requests, 0.03)
            for status, counts in (("200", requests - errors), ("500", errors)):
                labels = {**base, "method": "GET", "path": path, "status": status}
                _counter(app, {"__name__": "http_requests_total", **labels}, times, counts)
                # each step's requests spread over the buckets of a log-normal latency (sigma 0.8)
                cdf = 0.5 * (1 + _erf(np.log(np.array(BUCKETS) / median) / (0.8 * np.sqrt(2))))
                shares = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
                per_bucket = np.cumsum(rng.multinomial(counts, shares), axis=1)[:, :-1]
                for i, le in enumerate(BUCKETS):
                    name = {"__name__": "http_request_duration_seconds_bucket", **labels, "le": repr(le)}
                    _counter(app, name, times, per_bucket[:, i])
                inf = {"__name__": "http_request_duration_seconds_bucket", **labels, "le": "+Inf"}
                _counter(app, inf, times, counts)
        in_flight = rng.poisson(1.0, steps)
        for t, v in zip(times, in_flight, strict=True):
            app.append(Labels({"__name__": "http_requests_in_flight", **base}), int(t * 1000), float(v))
        last_success = START - 30 + 60 * np.floor(np.arange(steps) * step_s / 60)
        for t, v in zip(times, last_success, strict=True):
            labels = Labels({"__name__": "batch_job_last_success_timestamp_seconds", **base})
            app.append(labels, int(t * 1000), float(v))
    app.commit()
    return EngineDataSource(Engine(head), FixedClock(float(times[-1])))


def _erf(x: np.ndarray) -> np.ndarray:
    from math import erf

    return np.vectorize(erf)(x)


def _counter(app, labels: dict, times: np.ndarray, increments: np.ndarray) -> None:
    series = Labels(labels)
    for t, v in zip(times, np.cumsum(increments), strict=True):
        app.append(series, int(t * 1000), float(v))
