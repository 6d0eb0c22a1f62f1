"""The batch job pushes its results to a Pushgateway: over real HTTP live, in-process on a virtual clock."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from stack.clock import VirtualClock
from stack.pushgateway import Pushgateway
from tests.support import free_port
from toyservice.instrumented import InstrumentedToyService
from toyservice.model import ModelConfig
from toyservice.push import BATCH_JOB, gateway_pusher, in_process_pusher

# Short runs (the model's 0.1 s minimum) that always succeed, so a live test waits next to nothing.
QUICK_SUCCESS = ModelConfig(batch_mean_duration=0.01, batch_success_ratio=1.0, outage_for=0)
START = 1_767_225_600.0


def pushed_values(pg: Pushgateway, instance: str) -> dict[str, float]:
    group = pg.store.get({"job": BATCH_JOB, "instance": instance})
    assert group is not None, f"nothing pushed for {instance}"
    return {name: m.value for name, tf in group.families.items() for m in tf.family.metrics}


async def test_a_live_batch_run_pushes_its_results_over_http_to_a_pushgateway(port):
    pg = Pushgateway(port=port)
    await pg.start()
    try:
        service = InstrumentedToyService(name="toy-a", seed=3, config=QUICK_SUCCESS,
                                         pusher=gateway_pusher(f"127.0.0.1:{port}"))  # fmt: skip
        outcome = await service.run_batch_job()
        values = pushed_values(pg, "toy-a")
        assert values["batch_job_records_processed_total"] == outcome.records > 0
        assert values["batch_job_duration_seconds"] == pytest.approx(outcome.duration)
        assert values["batch_job_last_success_timestamp_seconds"] == service.batch_last_success._value.get()
        assert values["batch_job_failures_total"] == 0.0
        assert values["push_time_seconds"] > 0 and values["push_failure_time_seconds"] == 0
        # the next run replaces the values (POST keeps the group, replaces the pushed families)
        second = await service.run_batch_job()
        total = pushed_values(pg, "toy-a")["batch_job_records_processed_total"]
        assert total == outcome.records + second.records
        # only the batch job's metrics are pushed, never the request metrics
        assert not any(name.startswith("http_") for name in pushed_values(pg, "toy-a"))
    finally:
        await pg.stop()


async def test_a_failed_push_is_logged_and_the_service_carries_on(caplog):
    closed = free_port()  # nothing listens there
    service = InstrumentedToyService(name="toy-b", config=QUICK_SUCCESS,
                                     pusher=gateway_pusher(f"127.0.0.1:{closed}"))  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="toyservice.instrumented"):
        outcome = await service.run_batch_job()
        assert outcome.success
        assert await service.push_batch_results() is False
    assert "toy-b: pushing batch job results to the Pushgateway failed" in caplog.text
    assert service.batch_records._value.get() == outcome.records  # the run itself still counted


def test_on_a_virtual_clock_the_batch_job_pushes_in_process_at_its_virtual_times():
    clock = VirtualClock(start=START)
    pg = Pushgateway(clock=clock)
    service = InstrumentedToyService(name="toy-c", seed=1, clock=clock, config=QUICK_SUCCESS,
                                     pusher=in_process_pusher(pg.push))  # fmt: skip

    async def scenario():
        await service.start()
        await clock.sleep(130)  # two runs: each starts 60 s after the previous one ended
        await service.stop()

    try:
        clock.run(scenario())
    finally:
        clock.close()
    values = pushed_values(pg, "toy-c")
    last_success = values["batch_job_last_success_timestamp_seconds"]
    assert START + 120 < last_success < START + 130
    assert values["push_time_seconds"] == last_success  # pushed the moment the run ended


def test_a_refused_in_process_push_keeps_the_old_metrics(caplog):
    clock = VirtualClock(start=START)
    pg = Pushgateway(clock=clock)
    pg.push({"job": BATCH_JOB, "instance": "toy-d"}, "# TYPE note gauge\nnote 1\n")
    # Another group says batch_job_duration_seconds is a counter: the service's gauge now conflicts.
    pg.push({"job": "other"}, "# TYPE batch_job_duration_seconds counter\nbatch_job_duration_seconds 1\n")
    service = InstrumentedToyService(name="toy-d", clock=clock, config=QUICK_SUCCESS,
                                     pusher=in_process_pusher(pg.push))  # fmt: skip
    try:
        with caplog.at_level(logging.WARNING, logger="toyservice.instrumented"):
            assert clock.run(service.push_batch_results()) is False
    finally:
        clock.close()
    assert "batch_job_duration_seconds" in caplog.text
    values = pushed_values(pg, "toy-d")
    assert values["note"] == 1.0 and "batch_job_duration_seconds" not in values


@pytest.mark.parametrize("args, message", [
    (["--pushgateway", "nowhere"], "not a host:port address: 'nowhere'"),
    (["--pushgateway", "127.0.0.1:9091", "--uninstrumented"], "--pushgateway needs the instrumented service"),
])  # fmt: skip
def test_bad_pushgateway_options_are_clear_errors(args, message):
    result = subprocess.run([sys.executable, "-m", "workshop.cli", "toyservice", *args],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
