"""Data sources for dashboard tests: a Simulation of the toy services, and a simulated host lab.

Both are real stacks on a virtual clock: the stack's Prometheus scrapes real exporters through the
in-process transport. They are session-scoped because building minutes of history is the slow
part; tests only read from them.
"""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from stack.clock import VirtualClock
from stack.config.prometheus import parse_config_text
from stack.node_exporter.exporter import NodeExporter
from stack.node_exporter.simulated import SimulatedHost
from stack.prometheus import PrometheusServer
from stack.scrape.transport import InProcessTransport, ScrapeResponse
from workshop.dashboards import EngineDataSource
from workshop.simulation import DEFAULT_START, Simulation

SIM_SEED = 7
SIM_MINUTES = 6  # enough for every rate() window of the RED dashboard over a 5 m range
NODE = "127.0.0.1:9100"
SELF = "127.0.0.1:9090"

_HOST_CONFIG = f"""
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ['{NODE}']}}]
  - job_name: prometheus
    static_configs: [{{targets: ['{SELF}']}}]
"""


@pytest.fixture(scope="session")
def sim():
    simulation = Simulation(seed=SIM_SEED, rate=1.0, progress=False).run(f"{SIM_MINUTES}m")
    yield simulation
    simulation.close()


@pytest.fixture(scope="session")
def host_lab():
    """A node exporter on a SimulatedHost plus Prometheus scraping it and itself: 20 virtual minutes.

    Built here from the stack's parts (rather than taken from a Simulation) so that the engine
    adapter is tested on its own, with a host whose numbers the tests can predict.
    """
    clock = VirtualClock(start=DEFAULT_START)
    exporter = NodeExporter(collector=SimulatedHost(clock, seed=3), clock=clock)
    server: PrometheusServer | None = None

    async def node(path: str, headers: dict[str, str]) -> ScrapeResponse:
        return ScrapeResponse(200, "text/plain; version=0.0.4", exporter.metrics_text().encode())

    async def itself(path: str, headers: dict[str, str]) -> ScrapeResponse:
        return ScrapeResponse(200, "text/plain; version=0.0.4", generate_latest(server.registry))

    server = PrometheusServer(
        config=parse_config_text(_HOST_CONFIG),
        clock=clock,
        transport=InProcessTransport({NODE: node, SELF: itself}),
        listen_address=None,
    )
    clock.run(server.start())
    try:
        clock.advance(20 * 60)
        yield EngineDataSource(server.engine, clock)
    finally:
        clock.run(server.stop())
        clock.close()
