"""The toy service's latency/error/outage model, run on a virtual clock with a fixed seed."""

from __future__ import annotations

import numpy as np
import pytest

from stack.clock import VirtualClock
from toyservice.model import (
    FAULT_ERROR_RATIO,
    FAULT_LATENCY_FACTOR,
    OUTAGE_ERROR_FACTOR,
    OUTAGE_LATENCY_FACTOR,
    ModelConfig,
    Route,
    ServiceModel,
)

START = 600_000.0  # a multiple of 600 s: an outage cycle begins at START


def model_at(t: float, seed: int = 7, **config) -> tuple[ServiceModel, VirtualClock]:
    clock = VirtualClock(start=t)
    return ServiceModel(clock, seed, ModelConfig(**config)), clock


def draw(model: ServiceModel, n: int, method: str = "GET", path: str = "/api/foo"):
    outcomes = [model.respond(method, path) for _ in range(n)]
    return np.array([o.status for o in outcomes]), np.array([o.latency for o in outcomes])


def test_error_ratio_over_10000_requests_matches_the_configured_ratio():
    model, _ = model_at(START + 300)  # outside the outage window
    statuses, _ = draw(model, 10_000)
    ratio = np.mean(statuses == 500)
    expected = model.config.routes[("GET", "/api/foo")].error_ratio
    # binomial standard deviation for p=0.01, n=10000 is 0.001; allow 4 sigma
    assert abs(ratio - expected) < 0.004
    assert set(np.unique(statuses)) == {200, 500}


def test_latency_is_roughly_normal_around_the_route_base():
    model, _ = model_at(START + 300)
    _, latency = draw(model, 10_000, "POST", "/api/bar")
    base = model.config.routes[("POST", "/api/bar")].base_latency
    assert latency.mean() == pytest.approx(base, rel=0.02)
    assert latency.std() == pytest.approx(base * 0.25, rel=0.1)


def test_outage_multiplies_latency_by_3_and_errors_by_10():
    routes = {("GET", "/api/foo"): Route(base_latency=0.05, error_ratio=0.02)}
    normal, _ = model_at(START + 300, routes=routes)
    outage, _ = model_at(START + 10, routes=routes)
    assert not normal.in_outage() and outage.in_outage()
    n_statuses, n_latency = draw(normal, 10_000)
    o_statuses, o_latency = draw(outage, 10_000)
    assert o_latency.mean() / n_latency.mean() == pytest.approx(OUTAGE_LATENCY_FACTOR, rel=0.05)
    assert np.mean(o_statuses == 500) == pytest.approx(0.02 * OUTAGE_ERROR_FACTOR, abs=0.015)


def test_outage_cycle_is_configurable_and_offset_per_instance():
    model, _ = model_at(START, outage_every=300, outage_for=30, outage_offset=100)
    windows = [t for t in range(0, 900, 10) if model.in_outage(START + t)]
    assert windows == [100, 110, 120, 400, 410, 420, 700, 710, 720]


def test_outage_for_zero_disables_outages():
    model, _ = model_at(START, outage_for=0)
    assert not any(model.in_outage(START + t) for t in range(0, 3600, 5))


def test_same_seed_gives_the_identical_sequence_and_another_seed_does_not():
    a, b, c = (model_at(START + 300, seed=s)[0] for s in (3, 3, 4))
    seq = [draw(m, 500) for m in (a, b, c)]
    assert np.array_equal(seq[0][0], seq[1][0]) and np.array_equal(seq[0][1], seq[1][1])
    assert not np.array_equal(seq[0][1], seq[2][1])


def test_batch_job_draws_do_not_shift_the_request_sequence():
    a, _ = model_at(START + 300, seed=5)
    b, _ = model_at(START + 300, seed=5)
    for _ in range(20):
        b.batch_run()
    assert np.array_equal(draw(a, 100)[1], draw(b, 100)[1])


def test_batch_job_mostly_succeeds_and_failed_runs_process_no_records():
    model, _ = model_at(START)
    runs = [model.batch_run() for _ in range(2000)]
    assert np.mean([r.success for r in runs]) == pytest.approx(0.9, abs=0.03)
    assert all(r.records == 0 for r in runs if not r.success)
    assert np.mean([r.records for r in runs if r.success]) == pytest.approx(1000, rel=0.02)


def test_injected_faults_change_behaviour_and_expire():
    model, clock = model_at(START + 300)
    model.inject("down", 60)
    assert model.respond("GET", "/api/foo").status == 503
    clock.advance(59)
    assert model.active_faults() == {"down": pytest.approx(1.0)}
    clock.advance(1)
    assert model.active_faults() == {}
    assert model.respond("GET", "/api/foo").status in (200, 500)


def test_latency_and_errors_faults_use_their_factors():
    base_model, _ = model_at(START + 300)
    model, _ = model_at(START + 300)
    model.inject("latency", 600)
    model.inject("errors", 600)
    statuses, latency = draw(model, 5000)
    _, base_latency = draw(base_model, 5000)
    assert latency.mean() / base_latency.mean() == pytest.approx(FAULT_LATENCY_FACTOR, rel=0.05)
    assert np.mean(statuses == 500) == pytest.approx(FAULT_ERROR_RATIO, abs=0.03)


def test_clear_ends_a_fault_early():
    model, _ = model_at(START)
    model.inject("latency", 600)
    model.inject("errors", 600)
    model.clear("latency")
    assert list(model.active_faults()) == ["errors"]
    model.clear()
    assert model.active_faults() == {}


@pytest.mark.parametrize(("kind", "seconds", "message"), [("slow", 10, "unknown fault kind 'slow'"),
                                                          ("down", 0, "must be positive")])
def test_bad_fault_requests_are_rejected_with_a_reason(kind, seconds, message):
    model, _ = model_at(START)
    with pytest.raises(ValueError, match=message):
        model.inject(kind, seconds)
