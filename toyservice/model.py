"""The toy service's behaviour: how slow each request is, whether it fails, and when things go wrong.

The classic Prometheus workshop service (the 2015 "Service instrumentation, monitoring and alerting
with Prometheus" tutorial's Go demo) answered ``/api/foo`` and ``/api/bar`` with a roughly normal
latency around a per-route base, a small per-route share of HTTP 500s, and a recurring outage during
which everything got slower and failed more often. That gives participants something worth graphing
(latency quantiles, error ratios) and something worth alerting on (the outage), without any real work.

All of it lives here, apart from HTTP, so that the live service and the simulation draw from the
same model: the time comes from a :class:`stack.clock.Clock` and every random draw from a seeded
numpy ``Generator``. With a virtual clock and the same seed, the same requests get the same answers.

Three things can make the service misbehave, and they multiply:

* the **outage cycle**: for ``outage_for`` seconds out of every ``outage_every``, latency x3 and
  error ratio x10 (the shape of the original demo's periodic outage);
* an injected **fault** (``latency``, ``errors`` or ``down``) that an instructor triggers on cue
  and that expires on its own after a given time;
* plain bad luck: the per-route error ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stack.clock import Clock

GET, POST = "GET", "POST"
METHODS = (GET, POST)

# What the outage cycle does to the service (the original demo: "latency x3, errors x10").
OUTAGE_LATENCY_FACTOR = 3.0
OUTAGE_ERROR_FACTOR = 10.0

# The demo shifts instance i's outage cycle by i x this, so that the instances do not fail together.
OUTAGE_STAGGER = 200.0

# What injected faults do. "down" answers 503 to everything but the admin API.
FAULT_KINDS = ("latency", "errors", "down")
FAULT_LATENCY_FACTOR = 10.0
FAULT_ERROR_RATIO = 0.5

# Latency is normal around the route's base with this relative spread, and never below the floor.
LATENCY_SPREAD = 0.25
LATENCY_FLOOR_SECONDS = 0.001
DRAW_BLOCK = 1024  # random numbers drawn per numpy call


@dataclass(frozen=True)
class Route:
    """One endpoint's normal behaviour: its typical latency and how often it fails."""

    base_latency: float  # seconds
    error_ratio: float  # share of requests answered 500


# The default routes: bar is the slow, slightly flakier write path, foo the quick read path.
DEFAULT_ROUTES: dict[tuple[str, str], Route] = {
    (GET, "/api/foo"): Route(base_latency=0.030, error_ratio=0.01),
    (POST, "/api/foo"): Route(base_latency=0.080, error_ratio=0.01),
    (GET, "/api/bar"): Route(base_latency=0.050, error_ratio=0.02),
    (POST, "/api/bar"): Route(base_latency=0.150, error_ratio=0.03),
}


@dataclass
class ModelConfig:
    """Everything tunable about the toy service's behaviour (times in seconds)."""

    routes: dict[tuple[str, str], Route] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    outage_every: float = 600.0  # an outage starts every 10 minutes ...
    outage_for: float = 120.0  # ... and lasts 2 minutes (0 disables the cycle)
    outage_offset: float = 0.0  # shifts the cycle so that instances need not fail together
    batch_interval: float = 60.0  # the batch job starts this long after the previous run ended
    batch_mean_duration: float = 5.0
    batch_success_ratio: float = 0.9
    batch_mean_records: float = 1000.0

    @property
    def paths(self) -> list[str]:
        return sorted({path for _, path in self.routes})


@dataclass(frozen=True)
class Outcome:
    """The model's answer to one request: the status to send and how long to take."""

    status: int
    latency: float


@dataclass(frozen=True)
class BatchOutcome:
    """One run of the batch job."""

    success: bool
    duration: float
    records: int


class ServiceModel:
    """Decides each request's latency and status, the outage cycle, faults and the batch job.

    The model never waits: it only decides. The service awaits ``clock.sleep(outcome.latency)``,
    which is real waiting live and a jump in virtual time in a simulation.
    """

    def __init__(self, clock: Clock, seed: int | None = 0, config: ModelConfig | None = None):
        self.clock = clock
        self.config = config or ModelConfig()
        # Separate streams so that the batch job's draws do not shift the requests' sequence.
        request_seq, batch_seq = np.random.SeedSequence(seed).spawn(2)
        self._rng = np.random.default_rng(request_seq)
        self._batch_rng = np.random.default_rng(batch_seq)
        self._faults: dict[str, float] = {}  # kind -> expiry (epoch seconds)
        self._normals: list[float] = []
        self._uniforms: list[float] = []
        self._next = 0

    # --- requests ---------------------------------------------------------------------------
    def route(self, method: str, path: str) -> Route | None:
        return self.config.routes.get((method, path))

    def respond(self, method: str, path: str) -> Outcome:
        """Draw the outcome of one request to a known route (see :meth:`route`)."""
        route = self.config.routes[(method, path)]
        if self.fault_active("down"):
            return Outcome(503, LATENCY_FLOOR_SECONDS)
        latency_factor, error_ratio = 1.0, route.error_ratio
        if self.in_outage():
            latency_factor *= OUTAGE_LATENCY_FACTOR
            error_ratio *= OUTAGE_ERROR_FACTOR
        if self.fault_active("latency"):
            latency_factor *= FAULT_LATENCY_FACTOR
        if self.fault_active("errors"):
            error_ratio = max(error_ratio, FAULT_ERROR_RATIO)
        normal, uniform = self._draw()
        base = route.base_latency * latency_factor
        latency = max(LATENCY_FLOOR_SECONDS, base + base * LATENCY_SPREAD * normal)
        status = 500 if uniform < min(error_ratio, 1.0) else 200
        return Outcome(status, latency)

    def _draw(self) -> tuple[float, float]:
        """The next (standard normal, uniform) pair of the request stream.

        Drawn from numpy in blocks, because one numpy call per request would cost more than the rest
        of the request in a simulation; the sequence depends only on the seed either way.
        """
        if self._next >= len(self._normals):
            self._normals = self._rng.standard_normal(DRAW_BLOCK).tolist()
            self._uniforms = self._rng.random(DRAW_BLOCK).tolist()
            self._next = 0
        i = self._next
        self._next += 1
        return self._normals[i], self._uniforms[i]

    def in_outage(self, t: float | None = None) -> bool:
        """Whether time ``t`` (default: now) falls in the periodic outage window."""
        cfg = self.config
        if cfg.outage_for <= 0 or cfg.outage_every <= 0:
            return False
        t = self.clock.now() if t is None else t
        return (t - cfg.outage_offset) % cfg.outage_every < cfg.outage_for

    # --- faults -----------------------------------------------------------------------------
    def inject(self, kind: str, seconds: float) -> float:
        """Start fault ``kind`` for ``seconds``; returns its expiry time. Re-injecting extends it."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not seconds > 0:
            raise ValueError(f"fault duration must be positive, got {seconds!r}")
        self._faults[kind] = self.clock.now() + seconds
        return self._faults[kind]

    def clear(self, kind: str | None = None) -> None:
        """End one fault early, or all of them."""
        if kind is None:
            self._faults.clear()
        else:
            self._faults.pop(kind, None)

    def fault_active(self, kind: str) -> bool:
        expiry = self._faults.get(kind)
        if expiry is None:
            return False
        if self.clock.now() >= expiry:
            del self._faults[kind]
            return False
        return True

    def active_faults(self) -> dict[str, float]:
        """Active faults and the seconds each has left."""
        now = self.clock.now()
        return {kind: expiry - now for kind, expiry in list(self._faults.items()) if self.fault_active(kind)}

    # --- the batch job ----------------------------------------------------------------------
    def batch_run(self) -> BatchOutcome:
        """Draw one batch job run: most succeed; a failed run processes nothing it can report."""
        cfg, rng = self.config, self._batch_rng
        duration = max(0.1, float(rng.normal(cfg.batch_mean_duration, cfg.batch_mean_duration * 0.2)))
        success = bool(rng.random() < cfg.batch_success_ratio)
        records = int(rng.poisson(cfg.batch_mean_records)) if success else 0
        return BatchOutcome(success, duration, records)
