"""Targets: from a discovered ``host:port`` and a job's settings to the label set that is scraped.

A target's identity is its final label set (including the ``__`` labels that steer the scrape,
such as ``__scheme__`` and ``__metrics_path__``), not its address, exactly as upstream's
``PopulateLabels``: two entries that relabel to the same set are scraped once, and changing a
label in a file_sd file makes a *new* target (the old one's series go stale).

The :class:`Target` object is also what the targets page and ``/api/v1/targets`` show: health,
last error, last scrape time and duration are written here by the scrape loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from stack.config.duration import format_duration_ms, parse_duration_ms
from stack.model import Labels
from stack.scrape.relabel import process

if TYPE_CHECKING:  # config imports scrape.relabel; keep the runtime import graph one-way
    from stack.config.prometheus import ScrapeConfig

ADDRESS = "__address__"
SCHEME = "__scheme__"
METRICS_PATH = "__metrics_path__"
SCRAPE_INTERVAL = "__scrape_interval__"
SCRAPE_TIMEOUT = "__scrape_timeout__"
PARAM_PREFIX = "__param_"
META_PREFIX = "__meta_"
JOB = "job"
INSTANCE = "instance"

HEALTH_UNKNOWN, HEALTH_GOOD, HEALTH_BAD = "unknown", "up", "down"


class TargetError(ValueError):
    """A discovered target that cannot be scraped (no address, a URL instead of host:port...)."""


@dataclass(eq=False)
class Target:
    """One scrape target: its labels, where to scrape it, and how its last scrape went.

    ``all_labels`` includes the ``__`` labels that steer the scrape; ``labels`` are the public ones
    attached to every sample and shown by the API.
    """

    scrape_pool: str
    all_labels: Labels  # final labels after relabeling, including the __ ones
    discovered_labels: Labels
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()
    health: str = HEALTH_UNKNOWN
    last_error: str = ""
    last_scrape: float = 0.0  # seconds since the epoch, 0 = never
    last_scrape_duration: float = 0.0
    metadata: dict = field(default_factory=dict)  # family -> {"type", "help", "unit"} of the last scrape
    labels: Labels = field(init=False)

    def __post_init__(self):
        self.labels = Labels.from_sorted(tuple(p for p in self.all_labels.pairs if not p[0].startswith("__")))

    @property
    def scrape_interval(self) -> str:
        return self.all_labels.get(SCRAPE_INTERVAL)

    @property
    def scrape_timeout(self) -> str:
        return self.all_labels.get(SCRAPE_TIMEOUT)

    @property
    def interval_ms(self) -> int:
        return parse_duration_ms(self.all_labels.get(SCRAPE_INTERVAL))

    @property
    def timeout_ms(self) -> int:
        return parse_duration_ms(self.all_labels.get(SCRAPE_TIMEOUT))

    @property
    def scrape_url(self) -> str:
        """``<scheme>://<address><path>?<params>``, each ``__param_x`` replacing the first value of x."""
        params = {name: list(values) for name, values in self.params}
        for name, value in self.all_labels.pairs:
            if name.startswith(PARAM_PREFIX):
                key = name[len(PARAM_PREFIX) :]
                if key in params and params[key]:
                    params[key][0] = value
                else:
                    params[key] = [value]
        query = urlencode(sorted((k, v) for k, vs in params.items() for v in vs))
        lb = self.all_labels
        url = f"{lb.get(SCHEME)}://{lb.get(ADDRESS)}{lb.get(METRICS_PATH)}"
        return f"{url}?{query}" if query else url

    @property
    def key(self) -> tuple[Labels, str]:
        """What makes two targets the same target."""
        return (self.all_labels, self.scrape_url)

    def report(self, start: float, duration: float, error: str | None) -> None:
        self.last_scrape = start
        self.last_scrape_duration = duration
        self.health = HEALTH_BAD if error else HEALTH_GOOD
        self.last_error = error or ""


@dataclass(frozen=True)
class DroppedTarget:
    """A discovered target that relabeling dropped (listed under droppedTargets)."""

    scrape_pool: str
    discovered_labels: Labels


def discovered_labels(
    cfg: ScrapeConfig, target: dict[str, str], group_labels: dict[str, str]
) -> dict[str, str]:
    """Upstream's label defaults for one discovered target (spec §3.1): only set when unset/empty."""
    lb = {k: v for k, v in target.items() if v != ""}
    for k, v in group_labels.items():
        if not lb.get(k):
            lb[k] = v
    defaults = (
        (JOB, cfg.job_name),
        (SCRAPE_INTERVAL, format_duration_ms(cfg.scrape_interval_ms)),
        (SCRAPE_TIMEOUT, format_duration_ms(cfg.scrape_timeout_ms)),
        (METRICS_PATH, cfg.metrics_path),
        (SCHEME, cfg.scheme),
    )
    for k, v in defaults:
        if not lb.get(k):
            lb[k] = v
    for name, values in cfg.params:
        if values and not lb.get(PARAM_PREFIX + name):
            lb[PARAM_PREFIX + name] = values[0]
    return lb


def populate_labels(cfg: ScrapeConfig, discovered: dict[str, str]) -> dict[str, str] | None:
    """Relabel and finalise a discovered target (spec §3.2); None when a rule dropped it.

    Raises TargetError for a target that survives relabeling but cannot be scraped.
    """
    lb = process(discovered, cfg.relabel_configs)
    if lb is None:
        return None
    address = lb.get(ADDRESS, "")
    if not address:
        raise TargetError("no address")
    if "/" in address:
        raise TargetError(f'"{address}" is not a valid hostname')
    try:
        interval = parse_duration_ms(lb.get(SCRAPE_INTERVAL, ""))
        timeout = parse_duration_ms(lb.get(SCRAPE_TIMEOUT, ""))
    except ValueError as e:
        raise TargetError(f"error parsing scrape interval or timeout: {e}") from None
    if interval == 0:
        raise TargetError("scrape interval cannot be 0")
    if timeout == 0:
        raise TargetError("scrape timeout cannot be 0")
    if timeout > interval:
        raise TargetError(
            f"scrape timeout cannot be greater than scrape interval "
            f'("{lb[SCRAPE_TIMEOUT]}" > "{lb[SCRAPE_INTERVAL]}")'
        )
    for name in [n for n in lb if n.startswith(META_PREFIX)]:
        del lb[name]
    if not lb.get(INSTANCE):
        lb[INSTANCE] = address
    return lb


def fnv1a64(data: bytes) -> int:
    """FNV-1a 64-bit, the hash upstream uses to spread targets over the interval."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def scrape_offset_ms(target: Target, interval_ms: int, seed: int = 0) -> int:
    """Where in each interval this target is scraped: deterministic, stable, spread (spec §5.1)."""
    h = fnv1a64(f"{hash_labels(target.all_labels):016d}{target.scrape_url}".encode())
    return (h ^ seed) % interval_ms


def hash_labels(labels: Labels) -> int:
    """A label-set hash that is stable across processes (Python's hash() is salted per process)."""
    return fnv1a64("\xff".join(f"{k}\xff{v}" for k, v in labels.pairs).encode())
