"""The toy service participants instrument, its behaviour model, load generator and fault injection.

Modelled on the demo service of the classic "Service instrumentation, monitoring and alerting with
Prometheus" tutorial: ``/api/foo`` and ``/api/bar`` with seeded latency, errors and periodic outages,
plus a background batch job. ``ToyService`` is the exercise (no metrics), ``InstrumentedToyService``
the reference solution.

Names load on first use (PEP 562), so that importing the light ``toyservice.model`` (as the
supervisor does) does not pull in aiohttp and prometheus_client.
"""

import importlib

_EXPORTS = {
    "InstrumentedToyService": "toyservice.instrumented",
    "LoadGenerator": "toyservice.loadgen",
    "ModelConfig": "toyservice.model",
    "Route": "toyservice.model",
    "ServiceModel": "toyservice.model",
    "Reply": "toyservice.uninstrumented",
    "ToyService": "toyservice.uninstrumented",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'toyservice' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
