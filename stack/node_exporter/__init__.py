"""The in-package node exporter: host metrics under upstream node_exporter's names, types and labels.

Public surface::

    from stack.node_exporter import NodeExporter, build_collectors, SimulatedHost
    NodeExporter(port=0)                                    # the real host, from /proc and /sys
    NodeExporter(port=0, collector=SimulatedHost(clock, seed=1))   # a modelled host for simulations
"""

from stack.node_exporter.collector import Collector, NodeCollector, Paths
from stack.node_exporter.exporter import COLLECTORS, NodeExporter, build_collectors
from stack.node_exporter.simulated import SimulatedHost

__all__ = [
    "COLLECTORS",
    "Collector",
    "NodeCollector",
    "NodeExporter",
    "Paths",
    "SimulatedHost",
    "build_collectors",
]
