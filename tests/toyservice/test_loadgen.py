"""The load generator's traffic shape, run on a virtual clock against in-process services."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from stack.clock import VirtualClock
from toyservice.instrumented import InstrumentedToyService
from toyservice.loadgen import ROUTE_WEIGHTS, LoadGenerator, check_shape, http_sender


def record_run(seconds: float, seed: int = 0, **shape) -> list[tuple[float, str, str, str]]:
    """Run a load generator for ``seconds`` of virtual time; returns (time, target, method, path)."""
    clock = VirtualClock(start=0.0)
    sent = []

    async def send(target, method, path):
        sent.append((clock.now(), target, method, path))
        return 200

    gen = LoadGenerator(["a:1", "b:2"], send, clock=clock, seed=seed, **shape)

    async def scenario():
        await gen.start()
        await asyncio.sleep(seconds)
        await gen.stop()

    try:
        clock.run(scenario())
    finally:
        clock.close()
    return sent


def test_mean_rate_is_rate_per_target_times_targets():
    sent = record_run(600, rate=10, period=60)
    # 10/s x 2 targets x 600 s = 12000 over whole periods; Poisson sd ~110
    assert len(sent) == pytest.approx(12_000, abs=500)


def test_rate_oscillates_on_a_sine_over_the_period():
    sent = record_run(1200, rate=10, period=120, amplitude=0.5)
    phase = np.array([(t % 120) / 120 for t, *_ in sent])
    rising = np.sum(phase < 0.5)  # sin > 0: above the mean
    falling = np.sum(phase >= 0.5)
    # expected ratio (1 + 2a/pi) / (1 - 2a/pi) for a = 0.5
    expected = (1 + 1 / math.pi) / (1 - 1 / math.pi)
    assert rising / falling == pytest.approx(expected, rel=0.08)


def test_requests_are_spread_over_targets_and_routes_by_weight():
    sent = record_run(600, rate=10)
    targets = [target for _, target, _, _ in sent]
    assert targets.count("a:1") / len(sent) == pytest.approx(0.5, abs=0.03)
    for (method, path), weight in ROUTE_WEIGHTS.items():
        share = sum(1 for _, _, m, p in sent if (m, p) == (method, path)) / len(sent)
        assert share == pytest.approx(weight, abs=0.02)


def test_same_seed_sends_the_same_requests_at_the_same_times():
    assert record_run(120, seed=4) == record_run(120, seed=4)
    assert record_run(120, seed=4) != record_run(120, seed=5)


@pytest.mark.parametrize(("args", "message"), [
    (([], 1, 1, 0.5), "at least one target"),
    ((["a:1"], 0, 1, 0.5), "rate must be > 0"),
    ((["a:1"], 1, 0, 0.5), "period must be > 0"),
    ((["a:1"], 1, 1, 1.0), "amplitude must be in"),
])  # fmt: skip
def test_impossible_shapes_are_rejected_naming_the_parameter(args, message):
    with pytest.raises(ValueError, match=message):
        check_shape(*args)


def test_in_process_load_reaches_the_instrumented_service():
    clock = VirtualClock(start=0.0)
    service = InstrumentedToyService(clock=clock, seed=1)

    async def send(target, method, path):
        return (await service.handle(method, path)).status

    gen = LoadGenerator(["svc"], send, clock=clock, rate=5)

    async def scenario():
        await gen.start()
        await asyncio.sleep(300)
        await gen.stop()

    try:
        clock.run(scenario())
    finally:
        clock.close()
    counted = sum(
        service.requests.labels(m, p, s)._value.get()
        for (m, p) in ROUTE_WEIGHTS
        for s in ("200", "500")
    )
    answered = gen.statuses[200] + gen.statuses[500]
    assert counted == answered and answered > 1000


async def test_http_sender_reaches_a_live_service_and_unreachable_targets_count_as_no_answer(port):
    import aiohttp

    from tests.support import free_port

    service = InstrumentedToyService()
    await service.start("127.0.0.1", port)
    try:
        async with aiohttp.ClientSession() as session:
            targets = [f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}"]
            gen = LoadGenerator(targets, http_sender(session), rate=50)
            await gen._send_one(1, f"127.0.0.1:{port}", "GET", "/api/foo")
            await gen._send_one(2, gen.targets[1], "GET", "/api/foo")
    finally:
        await service.stop()
    assert sum(gen.statuses[s] for s in (200, 500)) == 1
    assert gen.statuses[0] == 1
