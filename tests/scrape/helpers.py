"""A scrape manager on a virtual clock with in-process exporters, for the scrape tests."""

from __future__ import annotations

import os

from stack.clock import VirtualClock
from stack.config.prometheus import parse_config_text
from stack.model import STALE_NAN_BITS, Labels, Matcher
from stack.scrape import InProcessTransport, ScrapeManager, ScrapeResponse, ServerMetrics
from stack.tsdb import Head

# Not a 2020s epoch: at ~1.7e9 s a float's resolution is coarser than asyncio's 1 ns timer
# resolution and the virtual loop spins on a due timer (reported to the lead for stack/clock.py).
T0 = 1_000_000.0
TEXT = "text/plain; version=0.0.4; charset=utf-8"
STALE = "stale"


class Exporter:
    """An in-process target whose answer a test changes between scrapes."""

    def __init__(self, body: str = "", *, status: int = 200, content_type: str = TEXT, delay: float = 0.0):
        self.body, self.status, self.content_type, self.delay = body, status, content_type, delay
        self.requests: list[tuple[str, dict]] = []
        self.clock: VirtualClock | None = None

    async def __call__(self, path: str, headers: dict) -> ScrapeResponse:
        self.requests.append((path, headers))
        if self.delay:
            await self.clock.sleep(self.delay)
        return ScrapeResponse(self.status, self.content_type, self.body.encode())


class Sim:
    def __init__(self, config_text: str, exporters: dict[str, Exporter] | None = None, base_dir: str = "."):
        self.clock = VirtualClock(start=T0)
        self.head = Head()
        self.exporters = exporters or {}
        for e in self.exporters.values():
            e.clock = self.clock
        self.transport = InProcessTransport(self.exporters)
        self.metrics = ServerMetrics()
        self.manager = ScrapeManager(
            self.head, clock=self.clock, transport=self.transport, metrics=self.metrics
        )
        self.apply(config_text, base_dir)

    def apply(self, config_text: str, base_dir: str = ".") -> None:
        cfg = parse_config_text(
            config_text, filename=os.path.join(base_dir, "prometheus.yml"), base_dir=base_dir
        )
        self.clock.run(self.manager.apply_config(cfg))

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def close(self) -> None:
        self.clock.run(self.manager.stop())
        self.clock.close()

    def targets(self, job: str | None = None):
        return [t for t in self.manager.active_targets() if job is None or t.scrape_pool == job]

    def series(self, name: str, **labels) -> dict[Labels, list]:
        matchers = [Matcher("=", "__name__", name)] + [Matcher("=", k, v) for k, v in labels.items()]
        return {
            sd.labels: [(int(t), _val(v)) for t, v in zip(sd.t, sd.v, strict=True)]
            for sd in self.head.select(matchers, 0, 2**62)
        }

    def values(self, name: str, **labels) -> list:
        """Values of the one series matching; stale markers as the string "stale"."""
        found = self.series(name, **labels)
        assert len(found) == 1, f"expected one series {name}{labels}, got {list(found)}"
        return [v for _, v in next(iter(found.values()))]

    def times(self, name: str, **labels) -> list[int]:
        found = self.series(name, **labels)
        assert len(found) == 1, f"expected one series {name}{labels}, got {list(found)}"
        return [t for t, _ in next(iter(found.values()))]


def _val(v):
    import struct

    v = float(v)
    if struct.unpack("<Q", struct.pack("<d", v))[0] == STALE_NAN_BITS:
        return STALE
    return v


def job(name: str = "app", targets=("a:1",), extra: str = "", interval: str = "15s") -> str:
    quoted = ", ".join(f"'{t}'" for t in targets)
    return (
        f"scrape_configs:\n  - job_name: {name}\n    scrape_interval: {interval}\n"
        f"    static_configs: [{{targets: [{quoted}]}}]\n"
        + "".join(f"    {line}\n" for line in extra.splitlines())
    )
