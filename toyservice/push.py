"""Pushing the batch job's results to a Pushgateway: over HTTP live, in-process in a simulation.

A batch job may end before Prometheus next scrapes it, so the tutorial's pattern is that it *pushes*
its outcome (last success, duration, records processed) to a Pushgateway, which Prometheus scrapes
with ``honor_labels: true``. The toy service's batch job does the same after every run, under the
grouping key ``job="toyservice_batch", instance=<service name>``, with POST (prometheus_client's
``pushadd_to_gateway``): only the families in the body are replaced.

A :data:`Pusher` is ``async (grouping, registry) -> None``; it raises when the push fails, and the
service logs that and carries on. Live, :func:`gateway_pusher` runs prometheus_client's blocking
push in a thread, so the event loop keeps answering requests; in a simulation,
:func:`in_process_pusher` hands the same exposition body to a Pushgateway object on the virtual
clock. Only the transport differs.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CollectorRegistry, generate_latest, pushadd_to_gateway

BATCH_JOB = "toyservice_batch"  # the job label of the batch job's pushed metrics
PUSH_TIMEOUT = 5.0  # seconds: a slow Pushgateway must not hold a thread for long (client default: 30)

Pusher = Callable[[Mapping[str, str], CollectorRegistry], Awaitable[None]]
PushBody = Callable[..., None]  # (grouping, body, method) as stack.pushgateway.Pushgateway.push


def grouping_key(service_name: str) -> dict[str, str]:
    """The grouping key a toy service's batch job pushes under."""
    return {"job": BATCH_JOB, "instance": service_name}


def gateway_pusher(address: str, timeout: float = PUSH_TIMEOUT) -> Pusher:
    """Push over HTTP to the Pushgateway at ``host:port`` (or a URL), without blocking the loop."""

    async def push(grouping: Mapping[str, str], registry: CollectorRegistry) -> None:
        key = {k: v for k, v in grouping.items() if k != "job"}
        call = functools.partial(pushadd_to_gateway, address, job=grouping["job"], registry=registry,
                                 grouping_key=key, timeout=timeout)  # fmt: skip
        await asyncio.get_running_loop().run_in_executor(None, call)

    return push


def in_process_pusher(push_body: PushBody) -> Pusher:
    """Push to an in-process Pushgateway's ``push(grouping, body, method)`` (e.g. in a simulation)."""

    async def push(grouping: Mapping[str, str], registry: CollectorRegistry) -> None:
        push_body(dict(grouping), generate_latest(registry), "POST")

    return push
