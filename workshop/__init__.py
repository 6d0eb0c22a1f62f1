"""What notebooks import: ``from workshop import Simulation, PrometheusClient, Inbox``.

Names are loaded on first use (PEP 562 ``__getattr__``), so that ``import workshop`` -- which every
``workshop`` command does -- stays instant, and a part that is not installed yet cannot break the
others. Only modules that exist are listed.
"""

from __future__ import annotations

import importlib

# public name -> module defining it
_EXPORTS = {
    "PrometheusClient": "workshop.client",
    "AsyncPrometheusClient": "workshop.client",
    "QueryError": "workshop.client",
    "query": "workshop.client",
    "query_range": "workshop.client",
    "Inbox": "workshop.inbox",
    "Dashboard": "workshop.dashboards",
    "show": "workshop.dashboards",
    "Simulation": "workshop.simulation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workshop' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
